#!/usr/bin/env bash
# Audit chain benchmark: append through the real group-commit write path (hash chain, checkpoints, SQLite WAL with
# synchronous=FULL) from many concurrent tasks, then `verify` of the whole chain; the baseline, in the same run, is
# plain multi-row INSERTs of the same number of rows into the same store (no hashing, no chaining).
# Usage: bench/audit.sh [EVENTS] [CONCURRENCY] [DATABASE_URL]   (default 200000 events, 1024 tasks, SQLite; a
# PostgreSQL URL must name an empty database: `createdb -h 127.0.0.1 -U postgres audit_bench`, dropped after)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/shuqiao-target}"
cargo build --release -q -p shuqiao-app --example audit_bench
"$CARGO_TARGET_DIR/release/examples/audit_bench" "${1:-200000}" "${2:-1024}" ${3:+"$3"}
