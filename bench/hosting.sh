#!/usr/bin/env bash
# Benchmarks of the hosted SillyTavern (see examples/bench_hosting.rs): the
# proxy against the same process reached directly, login → character list
# in Chromium (warm, cold, SillyTavern's own multi-user mode), memory, and a
# user's first start with and without the thumbnail seed. Writes its table
# into BENCHMARKS.md ("Hosting SillyTavern"). Missed targets print MISS and
# never fail the script; a measurement that cannot be taken does.
#
#   bench/hosting.sh [--runs N] [--duration S] [--quick] [--out FILE]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUNS=3
DUR=10
OUT="$ROOT/BENCHMARKS.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --quick) RUNS=1; DUR=3; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/hosting.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
ST="${INNKEEPER_SILLYTAVERN:-$ROOT/target/sillytavern/SillyTavern-1.12.6}"
if [ ! -f "$ST/server.js" ] || [ ! -d "$ST/node_modules" ]; then
  echo "bench/hosting.sh: no installed SillyTavern at $ST: run tests/run.sh once (it installs it)" >&2
  exit 1
fi
cargo build --release --bin innkeeper --example bench_hosting
exec target/x86_64-unknown-linux-gnu/release/examples/bench_hosting --innkeeper target/x86_64-unknown-linux-gnu/release/innkeeper \
  --sillytavern "$ST" --runs "$RUNS" --duration "$DUR" --out "$OUT"
