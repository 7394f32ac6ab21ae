#!/usr/bin/env bash
# Runs every test. Installs the system packages the tests need when they are
# missing (Chromium and its WebDriver for the browser tests; nginx and Caddy
# for the reverse-proxy tests; Node.js if absent), unpacks and installs the
# real SillyTavern 1.12.6 the hosting tests run (once, into
# target/sillytavern/) and the TypeScript compiler that type-checks the
# web UI's modules (once, into target/tsc/), then cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v caddy >/dev/null 2>&1 || need+=(caddy)
command -v node >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  else
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
  fi
fi

# SillyTavern for the hosting tests: unpacked from the shared tarball and
# installed from the npm registry when the cache is missing or incomplete.
st_parent="target/sillytavern"
st_dir="$st_parent/SillyTavern-1.12.6"
st_tarball="${INNKEEPER_ST_TARBALL:-../shared/sillytavern/SillyTavern-1.12.6.tar.gz}"
if [ ! -f "$st_dir/.innkeeper-installed" ]; then
  if [ ! -f "$st_tarball" ]; then
    echo "tests/run.sh: SillyTavern 1.12.6 is not installed in $st_dir and $st_tarball is missing" >&2
    echo "(set INNKEEPER_ST_TARBALL to the SillyTavern-1.12.6.tar.gz to use)" >&2
    exit 1
  fi
  rm -rf "$st_dir"
  mkdir -p "$st_parent"
  tar xzf "$st_tarball" -C "$st_parent"
  (cd "$st_dir" && npm ci --omit=dev --no-audit --no-fund)
  touch "$st_dir/.innkeeper-installed"
fi

# TypeScript for tests/web_types.rs, which runs `tsc --noEmit -p web` over
# web/static/*.js: one exact version from the npm registry, installed into
# target/tsc/ (nothing in the repository changes) unless it is there already.
tsc_version="7.0.2"
tsc_bin="target/tsc/node_modules/.bin/tsc"
if [ "$("$tsc_bin" --version 2>/dev/null)" != "Version $tsc_version" ]; then
  mkdir -p target/tsc
  npm install --prefix target/tsc --no-audit --no-fund --no-save --no-package-lock \
    --include=optional "typescript@$tsc_version"
fi

cargo test "$@"
