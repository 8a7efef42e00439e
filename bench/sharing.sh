#!/usr/bin/env bash
# Sharing round trip: CONCURRENCY consumers submit an application for a conditional entry and the provider's
# reviewer approves it, against a real `shuqiao demo` (SQLite, release build). Baseline in the same run: two
# GET /healthz per iteration at the same concurrency.
# Usage: bench/sharing.sh [CONCURRENCY] [SECONDS] [DATABASE_URL]   (default 50 clients, 20 s, SQLite; a PostgreSQL
# URL must name an empty database, which the demo seeds)
# SHUQIAO_BIN / SHARING_BENCH_BIN measure given binaries instead of building them (e.g. a fixed commit's).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuqiao-target}"
if [ -z "${SHUQIAO_BIN:-}" ] || [ -z "${SHARING_BENCH_BIN:-}" ]; then
  cargo build --release -q -p shuqiao --bin shuqiao --example sharing_bench
fi
BIN="${SHUQIAO_BIN:-$CARGO_TARGET_DIR/release/shuqiao}"
BENCH="${SHARING_BENCH_BIN:-$CARGO_TARGET_DIR/release/examples/sharing_bench}"
DATA=$(mktemp -d)
PORT=18931
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$DATA"' EXIT
SHUQIAO_LOG=warn "$BIN" demo --data "$DATA" --listen 127.0.0.1:$PORT ${3:+--database "$3"} > "$DATA/stdout" 2>&1 &
PID=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
"$BENCH" "http://127.0.0.1:$PORT" "${1:-50}" "${2:-20}"
