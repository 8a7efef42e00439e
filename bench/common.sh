# Shared helpers of the benchmark scripts (sourced, not run).
#
# - builds or locates the release binary ($SHUQIAO_BIN wins if set);
# - one temporary work directory per run ($BENCH_TMP), removed on exit unless BENCH_KEEP=1;
# - every process started here is recorded and killed on exit, also on failure or Ctrl-C;
# - all traffic goes to 127.0.0.1 only.

set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuqiao-target}"
DEMO_PASSWORD="Demo@2026"
export SHUQIAO_ADMIN_PASSWORD="${SHUQIAO_ADMIN_PASSWORD:-Bench@Admin2026}"
# Keep the server quiet on stderr (its log goes to a file anyway).
export SHUQIAO_LOG="${SHUQIAO_LOG:-warn}"

BENCH_PIDS=()
BENCH_TMP=""

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

bench_cleanup() {
  local rc=$?
  local pid
  for pid in "${BENCH_PIDS[@]:-}"; do
    [[ -n "$pid" ]] || continue
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [[ -n "$BENCH_TMP" && -d "$BENCH_TMP" ]]; then
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
      log "kept $BENCH_TMP"
    else
      rm -rf "$BENCH_TMP"
    fi
  fi
  exit "$rc"
}

bench_init() {
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/shuqiao-bench.XXXXXX")"
  log "work directory $BENCH_TMP"
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required"; }

# Builds (or reuses) the release binary and sets $SHUQIAO.
build_release() {
  if [[ -n "${SHUQIAO_BIN:-}" ]]; then
    SHUQIAO="$SHUQIAO_BIN"
  else
    log "cargo build --release --bin shuqiao (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
    (cd "$REPO_DIR" && cargo build --release --bin shuqiao) >&2 || die "release build"
    SHUQIAO="$CARGO_TARGET_DIR/release/shuqiao"
  fi
  [[ -x "$SHUQIAO" ]] || die "no binary at $SHUQIAO"
  log "binary $SHUQIAO"
}

# run_bounded SECONDS CMD... : runs CMD under `timeout`, as a recorded process (killed by the cleanup on failure or
# Ctrl-C; `timeout` passes the SIGTERM on to CMD), and returns CMD's status.
run_bounded() {
  local secs="$1"; shift
  timeout "$secs" "$@" &
  local pid=$!
  BENCH_PIDS+=("$pid")
  wait "$pid"
}

# A free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server MODE DATA_DIR PORT LOGFILE [TIMEOUT_S]: starts `shuqiao MODE` (serve|demo), waits for the
# "就绪 ready" line and sets SERVER_PID and BASE (http://127.0.0.1:PORT).
start_server() {
  local mode="$1" data="$2" port="$3" logf="$4" timeout="${5:-180}"
  "$SHUQIAO" "$mode" --listen "127.0.0.1:$port" --data "$data" >"$logf" 2>&1 &
  SERVER_PID=$!
  BENCH_PIDS+=("$SERVER_PID")
  BASE="http://127.0.0.1:$port"
  local deadline=$((SECONDS + timeout))
  until grep -q '就绪 ready' "$logf" 2>/dev/null; do
    kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$logf" >&2; die "shuqiao $mode exited"; }
    ((SECONDS < deadline)) || { tail -20 "$logf" >&2; die "shuqiao $mode not ready after ${timeout}s"; }
    sleep 0.1
  done
}

# stop_server: SIGTERM the current server and wait (bounded) for it to exit.
stop_server() {
  [[ -n "${SERVER_PID:-}" ]] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# seed_demo DATA_DIR: first start of `shuqiao demo` (seeds the store), then stop.
seed_demo() {
  local data="$1" port
  port="$(free_port)"
  log "seeding the demo store in $data"
  local t0=$SECONDS
  start_server demo "$data" "$port" "$BENCH_TMP/seed-$port.log" 300
  log "demo seeded in $((SECONDS - t0)) s"
  stop_server
}

# login USER → prints the bearer token.
login() {
  local user="$1" pw="${2:-$DEMO_PASSWORD}"
  curl -sS --max-time 10 -H 'Content-Type: application/json' \
    -d "{\"username\":\"$user\",\"password\":\"$pw\"}" "$BASE/api/v1/auth/login" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}
