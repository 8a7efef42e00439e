#!/usr/bin/env bash
# Start-up time to /readyz (target ≤ 2 s) and idle resident memory (target ≤ 60 MB) of `shuqiao serve` on the
# demo store: the store is seeded once (`shuqiao demo`), then RUNS starts of `shuqiao serve` are measured by
# bench/startup_probe.py (poll /readyz every 10 ms; VmRSS after IDLE s idle and after SEARCHES searches).
# The same is then done for `shuqiao demo` on the seeded store (its second start), for comparison.
#
#   bench/startup.sh
#   RUNS=3 IDLE=2 bench/startup.sh
#
# Environment: RUNS (5), IDLE (5), SEARCHES (20), MODES ("serve demo"), SHUQIAO_BIN, CARGO_TARGET_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS="${RUNS:-5}"
IDLE="${IDLE:-5}"
SEARCHES="${SEARCHES:-20}"
MODES="${MODES:-serve demo}"

need python3
need curl
bench_init
build_release

DATA="$BENCH_TMP/data"
seed_demo "$DATA"
du -sh "$DATA" >&2

: >"$BENCH_TMP/summary.txt"
for mode in $MODES; do
  echo
  echo "== shuqiao $mode on the seeded demo store ($RUNS starts, $(nproc) cores)"
  python3 "$BENCH_DIR/startup_probe.py" --bin "$SHUQIAO" --data "$DATA" --mode "$mode" --runs "$RUNS" \
    --idle "$IDLE" --searches "$SEARCHES" --logdir "$BENCH_TMP" | tee "$BENCH_TMP/probe-$mode.txt"
  grep '^RESULT' "$BENCH_TMP/probe-$mode.txt" >>"$BENCH_TMP/summary.txt"
done

echo
python3 - "$BENCH_TMP/summary.txt" <<'PY'
import sys
for line in open(sys.argv[1]):
    kv = dict(p.split("=") for p in line.split()[1:])
    ready, rss = float(kv["ready_median_ms"]), float(kv["idle_rss_median_mb"])
    print(f"target shuqiao {kv['mode']}: start → /readyz ≤ 2000 ms → median {ready:.0f} ms (max {kv['ready_max_ms']}): "
          f"{'MET' if float(kv['ready_max_ms']) <= 2000 else 'MISSED'}; idle RSS ≤ 60 MB → median {rss:.1f} MB "
          f"(max {kv['idle_rss_max_mb']}): {'MET' if float(kv['idle_rss_max_mb']) <= 60 else 'MISSED'}")
PY
