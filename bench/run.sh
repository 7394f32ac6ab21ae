#!/usr/bin/env bash
# Benchmark suite: builds the release server and bench_tool, seeds temp data
# roots, drives the server from separate processes (wrk, curl, zip,
# bench_tool) for several runs, prints one table of medians and writes it to
# BENCHMARKS.md. Missed targets print MISS; they never fail the script.
# A server that does not start, or a measurement that cannot be taken, does.
#
#   bench/run.sh [--users N] [--runs R] [--duration S] [--quick] [--out FILE]
#                [--big-mib M]
#
#   --users N     accounts in the main data root, default-user included (1000)
#   --runs R      runs; every figure is the median over them (3)
#   --duration S  seconds of each wrk / login measurement (10)
#   --quick       1 run of 3 s measurements (a smoke test, not for figures)
#   --out FILE    where to write the report (BENCHMARKS.md in the repo)
#   --big-mib M   size of each of the 4 random files of the backup folder
#                 (35: a 200 MiB folder; 110 gives the 500 MiB one)
set -euo pipefail

USERS=1000
RUNS=3
DUR=10
OUT=""
BIG_MIB=35
ORIG_ARGS=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --users) USERS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --duration) DUR=$2; shift 2 ;;
    --quick) RUNS=1; DUR=3; shift ;;
    --out) OUT=$2; shift 2 ;;
    --big-mib) BIG_MIB=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for v in "$USERS" "$RUNS" "$DUR" "$BIG_MIB"; do
  case "$v" in ''|*[!0-9]*) echo "bench/run.sh: --users, --runs and --duration take whole numbers" >&2; exit 2 ;; esac
done
[ "$USERS" -ge 10 ] || { echo "bench/run.sh: --users must be at least 10" >&2; exit 2; }
[ "$RUNS" -ge 1 ] && [ "$DUR" -ge 1 ] || { echo "bench/run.sh: --runs and --duration must be at least 1" >&2; exit 2; }

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-$ROOT/BENCHMARKS.md}
COMMAND="bench/run.sh${ORIG_ARGS[*]:+ ${ORIG_ARGS[*]}}"

ADMIN_PW="bench-admin-password"
LOGIN_PW="bench-login-password"
SMALL_USERS=10

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'bench/run.sh: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------ tools
need_packages=()
command -v wrk >/dev/null 2>&1 || need_packages+=(wrk)
command -v zip >/dev/null 2>&1 || need_packages+=(zip)
command -v curl >/dev/null 2>&1 || need_packages+=(curl)
if [ ${#need_packages[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing ${need_packages[*]}: install them (apt-get install ${need_packages[*]}) or run as root"
  log "installing ${need_packages[*]}"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need_packages[@]}" >/dev/null
fi

# What is built: HEAD and any uncommitted changes, taken before the build.
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
CHANGED=$(git status --porcelain --untracked-files=no 2>/dev/null | awk '{ print $NF }' | paste -sd' ' || true)
DIRTY=${CHANGED:+ plus uncommitted changes to $CHANGED}
log "building (cargo build --release --bin innkeeper --example bench_tool)"
cargo build --release --bin innkeeper --example bench_tool
BIN=$ROOT/target/x86_64-unknown-linux-gnu/release/innkeeper
TOOL=$ROOT/target/x86_64-unknown-linux-gnu/release/examples/bench_tool
[ -x "$BIN" ] && [ -x "$TOOL" ] || die "build did not produce $BIN and $TOOL"

# ---------------------------------------------------- temp dir, cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/innkeeper-bench.XXXXXX")
RES=$TMP/results
mkdir -p "$RES"
SERVER_PID=""
BG_PIDS=()

stop_server() {
  local pid=$SERVER_PID
  SERVER_PID=""
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  for p in "${BG_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  stop_server
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server's defaults, except a free port. Hooks dir (scripts/) is absent.
CFG=$TMP/config.yaml
printf 'port: 0\n' >"$CFG"

# start_server DATA_ROOT: sets SERVER_PID and BASE, or exits.
SERVER_N=0
start_server() {
  SERVER_N=$((SERVER_N + 1))
  local out=$TMP/server-$SERVER_N.out err=$TMP/server-$SERVER_N.err
  "$BIN" --config "$CFG" --data-root "$1" >"$out" 2>"$err" &
  SERVER_PID=$!
  local url="" i
  for i in $(seq 600); do
    url=$(sed -n 's/^Innkeeper is listening on \(http:[^ ]*\)$/\1/p' "$out" | head -n1)
    [ -n "$url" ] && break
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      SERVER_PID=""
      printf 'bench/run.sh: the server exited during start-up. Its stderr:\n' >&2
      tail -n 30 "$err" >&2
      exit 1
    fi
    sleep 0.05
  done
  [ -n "$url" ] || die "the server did not print its URL within 30 s (stderr: $(tail -n 5 "$err"))"
  BASE=${url%/}
  case "$BASE" in http://127.0.0.1:*) ;; *) die "unexpected listen address $BASE" ;; esac
}

# vm KEY: a /proc/<server>/status value in KiB.
vm() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SERVER_PID/status"; }

# kv FILE KEY: a value from bench_tool's key=value output.
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -n1; }

record() { echo "$2" >>"$RES/$1"; }

# ticks PID: user + system CPU time of a process in clock ticks.
ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
TCK=$(getconf CLK_TCK)

calc() { awk "BEGIN { printf \"%.6f\", $* }"; }

# run_wrk NAME CONNS URL [wrk args…]: records NAME_rps, NAME_p50, NAME_p99
# (ms) and NAME_errors (non-2xx/3xx answers plus socket errors).
run_wrk() {
  local name=$1 conns=$2 url=$3
  shift 3
  local out=$TMP/wrk-$name-$RUN.txt
  wrk -t2 -c"$conns" -d"${DUR}s" --latency "$@" "$url" >"$out" 2>&1 || die "wrk failed for $name: $(cat "$out")"
  local parsed
  parsed=$(awk '
    function ms(v) {
      if (v ~ /us$/) return (v + 0) / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return (v + 0) * 60000
      if (v ~ /s$/) return (v + 0) * 1000
      return v + 0
    }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Requests/sec:" { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad += $NF }
    /Socket errors:/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
    END { printf "%s %s %s %d\n", rps, p50, p99, bad }' "$out")
  read -r rps p50 p99 bad <<<"$parsed"
  [ -n "$rps" ] && [ -n "$p99" ] || die "could not read wrk's output for $name: $(cat "$out")"
  record "${name}_rps" "$rps"
  record "${name}_p50" "$p50"
  record "${name}_p99" "$p99"
  record "${name}_errors" "$bad"
  log "  $name: $rps req/s, p50 $p50 ms, p99 $p99 ms, errors $bad"
}

# session: logs bench-admin in; sets COOKIE and TOKEN.
session() {
  "$TOOL" session --base "$BASE" --handle bench-admin --password "$ADMIN_PW" >"$TMP/session" \
    || die "cannot log bench-admin in"
  COOKIE=$(sed -n 's/^cookie=//p' "$TMP/session")
  TOKEN=$(sed -n 's/^token=//p' "$TMP/session")
  [ -n "$COOKIE" ] && [ -n "$TOKEN" ] || die "no session cookie or CSRF token"
}

now_s() { date +%s.%N; }

# ---------------------------------------------------------------- setup
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
MAIN=$TMP/main-root
CLEAN=$TMP/clean-root
SMALL=$TMP/small-root
BACKUP_DIR=$MAIN/bench-backup

log "seeding $USERS accounts"
"$TOOL" seed --config "$CFG" --data-root "$MAIN" --users "$USERS" \
  --admin-password "$ADMIN_PW" --login-password "$LOGIN_PW" --backup-user >"$TMP/seed-main" \
  || die "seeding failed"
log "  $(cat "$TMP/seed-main")"
"$TOOL" seed --config "$CFG" --data-root "$SMALL" --users "$SMALL_USERS" \
  --admin-password "$ADMIN_PW" >"$TMP/seed-small" || die "seeding failed"
# The same accounts with only their template folders, for the start-up time.
cp -a "$MAIN" "$CLEAN"

log "writing the backup folder (12,000 JSON files + 4 x $BIG_MIB MiB) into bench-backup"
"$TOOL" gen-backup --dir "$BACKUP_DIR" --big-mib "$BIG_MIB" >"$TMP/gen-backup" || die "cannot write the backup folder"
log "  $(cat "$TMP/gen-backup")"
BACKUP_BYTES=$(du -sb "$BACKUP_DIR" | cut -f1)
BACKUP_FILES=$(find "$BACKUP_DIR" -type f | wc -l)
"$TOOL" gen-settings --out "$TMP/settings.json" --bytes 30720 >"$TMP/gen-settings" || die "cannot write the settings body"
SETTINGS_BYTES=$(kv "$TMP/gen-settings" bytes)
sync

# Parameters and thread count only (a zero-length window hashes nothing).
"$TOOL" hashrate --config "$CFG" --warmup 0 --seconds 0 >"$TMP/hash" || die "cannot read the scrypt parameters"
HASH_THREADS=$(kv "$TMP/hash" threads)
HASH_PARAMS="ln=$(kv "$TMP/hash" ln) r=$(kv "$TMP/hash" r) p=$(kv "$TMP/hash" p)"

# ----------------------------------------------------------------- runs
# One untimed start first, so every timed start finds the fresh binary and
# the data root in the page cache alike.
"$TOOL" startup --bin "$BIN" --config "$CFG" --data-root "$CLEAN" >/dev/null || die "the server does not start"
for RUN in $(seq "$RUNS"); do
  log "run $RUN of $RUNS"
  record load1 "$(cut -d' ' -f1 /proc/loadavg)"

  # Start-up: bench_tool spawns the binary and polls /healthz.
  "$TOOL" startup --bin "$BIN" --config "$CFG" --data-root "$CLEAN" >"$TMP/startup" || die "start-up measurement failed"
  record startup_ms "$(kv "$TMP/startup" ms)"
  "$TOOL" startup --bin "$BIN" --config "$CFG" --data-root "$MAIN" >"$TMP/startup" || die "start-up measurement failed"
  record startup_data_ms "$(kv "$TMP/startup" ms)"
  log "  start-up: $(tail -n1 "$RES/startup_ms") ms clean, $(tail -n1 "$RES/startup_data_ms") ms with the backup folder"

  # Account creation with 10 accounts.
  start_server "$SMALL"
  session
  "$TOOL" create --base "$BASE" --cookie "$COOKIE" --token "$TOKEN" >"$TMP/create" || die "create measurement failed"
  record create10_ms "$(kv "$TMP/create" p50_ms)"
  stop_server

  # The main server, fresh for every run.
  start_server "$MAIN"
  PID=$SERVER_PID
  sleep 1
  record idle_rss "$(vm VmRSS)"
  log "  idle RSS $(tail -n1 "$RES/idle_rss") KiB"
  session

  # Account creation with $USERS accounts, at the same point as with 10:
  # a fresh server and a new admin session.
  "$TOOL" create --base "$BASE" --cookie "$COOKIE" --token "$TOKEN" >"$TMP/create" || die "create measurement failed"
  record create_ms "$(kv "$TMP/create" p50_ms)"
  log "  create p50: $(tail -n1 "$RES/create10_ms") ms with $SMALL_USERS accounts, $(tail -n1 "$RES/create_ms") ms with $USERS"

  # Backup: curl against the server while VmRSS is sampled, then zip.
  record pre_backup_rss "$(vm VmRSS)"
  rm -f "$TMP/stop-rss"
  "$TOOL" rss --pid "$PID" --stop-file "$TMP/stop-rss" --interval-ms 10 >"$TMP/rss" &
  BG_PIDS+=($!)
  sleep 0.2
  read -r code size secs < <(curl -sS -o /dev/null --max-time 600 -w '%{http_code} %{size_download} %{time_total}\n' \
    -X POST -H "Cookie: innkeeper_sid=$COOKIE" -H "X-CSRF-Token: $TOKEN" \
    -H 'Content-Type: application/json' -d '{"handle":"bench-backup"}' "$BASE/api/users/backup")
  touch "$TMP/stop-rss"
  wait "${BG_PIDS[-1]}" || die "RSS sampling failed"
  unset 'BG_PIDS[-1]'
  [ "$code" = 200 ] || die "backup answered $code"
  record backup_mibps "$(calc "$size / 1048576 / $secs")"
  record backup_size "$size"
  record backup_peak_rss "$(kv "$TMP/rss" peak_rss_kib)"
  record backup_samples "$(kv "$TMP/rss" samples)"
  t0=$(now_s)
  zsize=$(cd "$BACKUP_DIR" && zip -r -q - . | wc -c)
  t1=$(now_s)
  record zip_mibps "$(calc "$zsize / 1048576 / ($t1 - $t0)")"
  record zip_size "$zsize"
  log "  backup $(tail -n1 "$RES/backup_mibps") MiB/s ($size bytes in $secs s), zip $(tail -n1 "$RES/zip_mibps") MiB/s; peak VmRSS $(tail -n1 "$RES/backup_peak_rss") KiB"

  # Cheap authenticated GET against the trivial route.
  # Alternate which goes first, so a drifting background load does not
  # always favour the same one.
  if [ $((RUN % 2)) = 1 ]; then
    run_wrk me 32 "$BASE/api/users/me" -H "Cookie: innkeeper_sid=$COOKIE"
    run_wrk ping 32 "$BASE/api/ping" -H "Cookie: innkeeper_sid=$COOKIE"
  else
    run_wrk ping 32 "$BASE/api/ping" -H "Cookie: innkeeper_sid=$COOKIE"
    run_wrk me 32 "$BASE/api/users/me" -H "Cookie: innkeeper_sid=$COOKIE"
  fi
  record me_cost "$(calc "$(tail -n1 "$RES/ping_rps") / $(tail -n1 "$RES/me_rps")")"

  export BENCH_COOKIE=$COOKIE BENCH_TOKEN=$TOKEN BENCH_BODY_FILE=""
  run_wrk list 8 "$BASE/api/users/list" -s "$ROOT/bench/post.lua"
  run_wrk get 8 "$BASE/api/users/get" -s "$ROOT/bench/post.lua"
  BENCH_BODY_FILE=$TMP/settings.json run_wrk save 8 "$BASE/api/settings/save" -s "$ROOT/bench/post.lua"

  # Logins against the raw hash rate, measured just before and just after
  # (half the window each; the reference is their mean).
  HALF=$(calc "$DUR / 2")
  "$TOOL" hashrate --config "$CFG" --seconds "$HALF" >"$TMP/hash1" || die "hash rate measurement failed"
  T0=$(ticks "$PID")
  "$TOOL" logins --base "$BASE" --handle bench-login --password "$LOGIN_PW" --tasks 8 --seconds "$DUR" >"$TMP/logins" \
    || die "login measurement failed"
  T1=$(ticks "$PID")
  "$TOOL" hashrate --config "$CFG" --seconds "$HALF" >"$TMP/hash2" || die "hash rate measurement failed"
  record hash_rate "$(calc "($(kv "$TMP/hash1" rate) + $(kv "$TMP/hash2" rate)) / 2")"
  # CPU time per operation: the server's per login (all its threads), the
  # tool's per raw hash. Less sensitive to other processes than rates.
  record login_cpu_ms "$(calc "($T1 - $T0) * 1000 / $TCK / $(kv "$TMP/logins" total_ok)")"
  record hash_cpu_ms "$(calc "($(kv "$TMP/hash1" cpu_ticks) + $(kv "$TMP/hash2" cpu_ticks)) * 1000 / $TCK / ($(kv "$TMP/hash1" total) + $(kv "$TMP/hash2" total))")"
  record login_cpu_ratio "$(calc "100 * $(tail -n1 "$RES/hash_cpu_ms") / $(tail -n1 "$RES/login_cpu_ms")")"
  record login_rate "$(kv "$TMP/logins" rate)"
  record login_failed "$(kv "$TMP/logins" failed)"
  record login_ratio "$(calc "100 * $(tail -n1 "$RES/login_rate") / $(tail -n1 "$RES/hash_rate")")"
  log "  logins $(tail -n1 "$RES/login_rate")/s, raw hashes $(tail -n1 "$RES/hash_rate")/s; CPU ms per login $(tail -n1 "$RES/login_cpu_ms"), per hash $(tail -n1 "$RES/hash_cpu_ms")"

  # /me while 16 clients log in without pause.
  "$TOOL" logins --base "$BASE" --handle bench-login --password "$LOGIN_PW" --tasks 16 \
    --warmup 1 --seconds "$((DUR + 1))" >"$TMP/storm" &
  BG_PIDS+=($!)
  sleep 1.5
  run_wrk storm_me 8 "$BASE/api/users/me" -H "Cookie: innkeeper_sid=$COOKIE"
  wait "${BG_PIDS[-1]}" || die "login storm failed"
  unset 'BG_PIDS[-1]'
  record storm_login_rate "$(kv "$TMP/storm" rate)"

  record peak_hwm "$(vm VmHWM)"
  stop_server
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --------------------------------------------------------------- report
med() { sort -g "$RES/$1" | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# f VALUE DECIMALS
f() { awk -v v="$1" -v d="$2" 'BEGIN { printf("%." d "f", v) }'; }
# each KEY DECIMALS [DIVISOR]: every run's value.
each() { awk -v d="$2" -v s="${3:-1}" '{ printf("%s%." d "f", (NR > 1 ? ", " : ""), $1 / s) }' "$RES/$1"; }
sum() { awk '{ s += $1 } END { print s + 0 }' "$RES/$1"; }
# verdict VALUE OP TARGET
verdict() { awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN {
  ok = (op == "<=") ? v <= t : (op == "<") ? v < t : (op == ">=") ? v >= t : v > t
  print (ok ? "PASS" : "MISS") }'; }
# with_errors VERDICT KEY…: INVALID when any wrk run saw errors.
with_errors() {
  local v=$1 n=0 k
  shift
  for k in "$@"; do n=$((n + $(sum "${k}_errors"))); done
  if [ "$n" -gt 0 ]; then echo "INVALID ($n errors)"; else echo "$v"; fi
}
mib() { awk -v v="$1" 'BEGIN { printf("%.1f", v / 1024) }'; }

ME_RPS=$(med me_rps); ME_P99=$(med me_p99); PING_RPS=$(med ping_rps); PING_P99=$(med ping_p99)
ME_COST=$(med me_cost)
LIST_P50=$(med list_p50); LIST_RPS=$(med list_rps); GET_P50=$(med get_p50); GET_RPS=$(med get_rps)
LOGIN=$(med login_rate); HASH=$(med hash_rate); LOGIN_RATIO=$(med login_ratio)
LOGIN_CPU=$(med login_cpu_ms); HASH_CPU=$(med hash_cpu_ms); LOGIN_CPU_RATIO=$(med login_cpu_ratio)
STORM_P99=$(med storm_me_p99); STORM_LOGIN=$(med storm_login_rate); STORM_RPS=$(med storm_me_rps)
BK=$(med backup_mibps); ZIP=$(med zip_mibps)
for i in $(seq "$RUNS"); do
  b=$(sed -n "${i}p" "$RES/backup_mibps"); z=$(sed -n "${i}p" "$RES/zip_mibps")
  record backup_ratio "$(calc "$b / $z")"
  p=$(sed -n "${i}p" "$RES/backup_peak_rss"); q=$(sed -n "${i}p" "$RES/idle_rss")
  record backup_growth "$(calc "$p - $q")"
done
BK_RATIO=$(med backup_ratio); BK_PEAK=$(med backup_peak_rss); BK_GROWTH=$(med backup_growth)
IDLE=$(med idle_rss); PRE=$(med pre_backup_rss)
START=$(med startup_ms); START_DATA=$(med startup_data_ms)
C10=$(med create10_ms); CN=$(med create_ms)
SAVE_RPS=$(med save_rps); SAVE_P50=$(med save_p50); SAVE_P99=$(med save_p99)
HWM=$(med peak_hwm)
CN_GROWTH=$(calc "$CN / $C10")
CN_VERDICT=$(verdict "$CN" "<=" 5)
[ "$(verdict "$CN_GROWTH" "<=" 1.5)" = PASS ] || CN_VERDICT=MISS

TABLE=$TMP/table.md
{
  echo "| Figure | Median | Runs | Target | Reference, same run (median) | Result |"
  echo "|---|---:|---|---|---|---|"
  echo "| GET /api/users/me, 32 conns: req/s | $(f "$ME_RPS" 0) | $(each me_rps 0) | ≥ 60,000 | GET /api/ping: $(f "$PING_RPS" 0) req/s | $(with_errors "$(verdict "$ME_RPS" ">=" 60000)" me) |"
  echo "| GET /api/users/me, 32 conns: p99 ms | $(f "$ME_P99" 2) | $(each me_p99 2) | < 5 | GET /api/ping p99: $(f "$PING_P99" 2) ms | $(with_errors "$(verdict "$ME_P99" "<" 5)" me) |"
  echo "| /me cost ÷ /api/ping cost (ping req/s ÷ me req/s) | $(f "$ME_COST" 2) | $(each me_cost 2) | ≤ 1.5 | — | $(with_errors "$(verdict "$ME_COST" "<=" 1.5)" me ping) |"
  echo "| POST /api/users/list, $USERS users, 8 conns: p50 ms | $(f "$LIST_P50" 2) | $(each list_p50 2) | < 2 | $(f "$LIST_RPS" 0) req/s | $(with_errors "$(verdict "$LIST_P50" "<" 2)" list) |"
  echo "| POST /api/users/get (admin), $USERS users, 8 conns: p50 ms | $(f "$GET_P50" 2) | $(each get_p50 2) | < 2 | $(f "$GET_RPS" 0) req/s | $(with_errors "$(verdict "$GET_P50" "<" 2)" get) |"
  echo "| Successful logins/s, 8 conns | $(f "$LOGIN" 2) | $(each login_rate 2) | — | raw scrypt ($HASH_PARAMS, $HASH_THREADS thread(s)): $(f "$HASH" 2) hashes/s | figure |"
  echo "| Logins/s ÷ raw hashes/s | $(f "$LOGIN_RATIO" 0) % | $(each login_ratio 0) | ≥ 90 % | — | $(verdict "$LOGIN_RATIO" ">=" 90) |"
  echo "| Cross-check: CPU ms per raw hash ÷ server CPU ms per login | $(f "$LOGIN_CPU_RATIO" 0) % | $(each login_cpu_ratio 0) | (≥ 90 %) | $(f "$HASH_CPU" 0) ms per hash; $(f "$LOGIN_CPU" 0) ms per login | figure |"
  echo "| GET /api/users/me p99 while 16 clients log in, 8 conns: ms | $(f "$STORM_P99" 2) | $(each storm_me_p99 2) | < 10 | $(f "$STORM_RPS" 0) req/s; $(f "$STORM_LOGIN" 2) logins/s meanwhile | $(with_errors "$(verdict "$STORM_P99" "<" 10)" storm_me) |"
  echo "| Backup download, $(f "$(calc "$BACKUP_BYTES / 1048576")" 0) MiB folder: MiB/s of the zip received | $(f "$BK" 1) | $(each backup_mibps 1) | — | zip -r -q to a pipe: $(f "$ZIP" 1) MiB/s | figure |"
  echo "| Backup MiB/s ÷ zip MiB/s | $(f "$BK_RATIO" 2) | $(each backup_ratio 2) | ≥ 2 | — | $(verdict "$BK_RATIO" ">=" 2) |"
  echo "| Peak VmRSS during the backup − idle RSS: MiB | $(mib "$BK_GROWTH") | $(each backup_growth 1 1024) | ≤ 32 | peak $(mib "$BK_PEAK") MiB; just before the backup $(mib "$PRE") MiB | $(verdict "$BK_GROWTH" "<=" 32768) |"
  echo "| Idle RSS 1 s after start, $USERS users: MiB | $(mib "$IDLE") | $(each idle_rss 1 1024) | ≤ 10 | — | $(verdict "$IDLE" "<=" 10240) |"
  echo "| Process start → first 200 from /healthz, $USERS users: ms | $(f "$START" 1) | $(each startup_ms 1) | ≤ 50 | same root plus the backup folder: $(f "$START_DATA" 1) ms | $(verdict "$START" "<=" 50) |"
  echo "| POST /api/users/create (no password), $SMALL_USERS users: p50 ms | $(f "$C10" 2) | $(each create10_ms 2) | ≤ 5 | — | $(verdict "$C10" "<=" 5) |"
  echo "| POST /api/users/create (no password), $USERS users: p50 ms | $(f "$CN" 2) | $(each create_ms 2) | ≤ 5 and ≤ 1.5 × the $SMALL_USERS-user figure | $(f "$CN_GROWTH" 2) × the $SMALL_USERS-user figure | $CN_VERDICT |"
  echo "| POST /api/settings/save, $(f "$(calc "$SETTINGS_BYTES / 1024")" 0) KiB body, 8 conns: req/s | $(f "$SAVE_RPS" 0) | $(each save_rps 0) | — | p50 $(f "$SAVE_P50" 2) ms, p99 $(f "$SAVE_P99" 2) ms | $(with_errors figure save) |"
  echo "| Server peak RSS over a whole run (VmHWM at its end): MiB | $(mib "$HWM") | $(each peak_hwm 1 1024) | — | — | figure |"
} >"$TABLE"

echo
cat "$TABLE"
echo

# ------------------------------------------------------- BENCHMARKS.md
TAIL_HEADING="## What was changed and what it gained"
TAIL=$TMP/tail.md
if [ -f "$OUT" ] && grep -qxF "$TAIL_HEADING" "$OUT"; then
  sed -n "/^$TAIL_HEADING\$/,\$p" "$OUT" >"$TAIL"
else
  printf '%s\n\n' "$TAIL_HEADING" >"$TAIL"
fi
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
MEM=$(awk '$1 == "MemTotal:" { printf("%.1f GiB", $2 / 1048576) }' /proc/meminfo)
{
  cat <<EOF
# Benchmarks

Written by \`bench/run.sh\` (see the README's "Benchmarks" section). Every
figure is the median of $RUNS run(s); the "Runs" column lists each run's
value, so the spread shows how noisy the machine was.

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Command: \`$COMMAND\`
- Built from: commit $COMMIT$DIRTY
- Machine: $(nproc) cores, $CPU, $MEM RAM, Linux $(uname -r)
- Load average (1, 5, 15 min) at start: $LOAD_START; at end: $LOAD_END;
  1-min load at the start of each run: $(each load1 2)
- Data: $USERS accounts; the backup folder holds $BACKUP_FILES files,
  $(f "$(calc "$BACKUP_BYTES / 1048576")" 1) MiB; scrypt $HASH_PARAMS, $HASH_THREADS hash(es) at once.

$(cat "$TABLE")

## How each figure is taken

- Client and server share the machine: wrk runs with 2 threads on the same
  cores as the server, so request rates are bounded by that too.
- GET routes carry the admin's session cookie; POST routes also carry its
  CSRF token (\`bench/post.lua\`, body \`{}\` or the settings file). Any
  non-2xx answer or socket error in a wrk run marks the row INVALID.
- Logins: \`bench_tool logins\` runs 8 tasks, each doing GET /csrf-token
  with no cookie, then POST /api/users/login, for a user whose hash has the
  server's parameters; successes are counted in a ${DUR} s window after 1 s
  of warm-up. The raw rate is \`Hasher::hash_blocking\` in as many threads
  as the server's resolved \`passwordHash.concurrency\`, in the same kind of
  window: half just before the logins and half just after (the server
  idle meanwhile), averaged, so a background load that drifts during the
  run weighs on both sides alike. Because a busy machine still skews that
  ratio, a cross-check compares CPU time per operation instead: the
  server's user + system time (all threads, /proc/<pid>/stat) over every
  login of the run, warm-up included, against the tool's CPU time per raw
  hash. It says whether a login costs more work than its hash, not whether
  the server keeps the hashing slots busy; the rate ratio is the target.
- Login storm: 16 login tasks start, 1.5 s later wrk measures /me with 8
  connections for ${DUR} s.
- Backup: \`curl -o /dev/null\` of POST /api/users/backup for a user whose
  folder holds the generated files (already in the page cache); MiB/s is
  the zip's size ÷ curl's total time. The reference is
  \`zip -r -q - . | wc -c\` over the same folder (deflate level 6; the
  server deflates at level 1 and stores incompressible files). RSS: VmRSS
  sampled every 10 ms by \`bench_tool rss\` during the download (the
  reported peak); VmHWM is not used for it because it counts the scrypt
  memory of earlier logins. "Idle" is VmRSS 1 s after start, before any
  login.
- Start-up: \`bench_tool startup\` spawns the binary on a free port and polls
  TCP connect + GET /healthz every 0.5 ms; the figure is the time from
  spawn to the first 200. "Clean" is a copy of the data root taken before
  the backup folder was written (every account with its template folders).
  One untimed start precedes the runs.
- Account creation: 30 sequential POST /api/users/create without a
  password after 3 untimed ones, then all deleted with \`purge\` (untimed),
  so the account count stays put. Both figures are taken on a freshly
  started server right after the admin logs in; the ${SMALL_USERS}-user one
  uses a separate data root.
- /me and /api/ping alternate which one goes first from run to run.
- Every run starts a fresh server; figures are not comparable across
  machines, and a busy machine (see the load averages) makes them noisy.

EOF
  cat "$TAIL"
} >"$OUT"
log "wrote $OUT"
