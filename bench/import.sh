#!/usr/bin/env bash
# xlsx import of 10,000 information items (1,000 entries × 10 items) by `shuqiao catalog import`
# (target ≤ 10 s), into a fresh copy of a seeded demo store each time.
# Baseline: reading the same file with openpyxl (read-only mode) in Python, i.e. a plain xlsx parser.
# For comparison also: the same import with --publish, and the same content as CSV.
#
#   bench/import.sh
#   RUNS=1 ENTRIES=200 bench/import.sh
#
# Environment: ENTRIES (1000), ITEMS (10 per entry), RUNS (3), SHUQIAO_BIN, CARGO_TARGET_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ENTRIES="${ENTRIES:-1000}"
ITEMS="${ITEMS:-10}"
RUNS="${RUNS:-3}"

need python3
need curl
if ! python3 -c 'import openpyxl' 2>/dev/null; then
  log "installing openpyxl (pip install openpyxl)"
  python3 -m pip install -q openpyxl >&2 || die "cannot install openpyxl"
fi

bench_init
build_release

SEED="$BENCH_TMP/seed"
PORT="$(free_port)"
log "seeding the demo store"
start_server demo "$SEED" "$PORT" "$BENCH_TMP/demo.log" 300
TOKEN="$(login gat_user)"
curl -sS --max-time 10 -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/departments?limit=500" |
  python3 -c '
import json, sys
for d in json.load(sys.stdin)["items"]:
    if d.get("credit_code"):
        print(d["id"], d["credit_code"], d["name"], sep="\t")' >"$BENCH_TMP/departments.tsv"
stop_server

for ext in xlsx csv; do
  python3 "$BENCH_DIR/gen_catalog.py" --departments "$BENCH_TMP/departments.tsv" --entries "$ENTRIES" \
    --items-min "$ITEMS" --items-max "$ITEMS" --out "$BENCH_TMP/catalog.$ext"
done
ls -l "$BENCH_TMP"/catalog.* >&2

now() { date +%s.%N; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# import_once FILE [--publish] → sets LAST_S (seconds); not run in a subshell, so that its process is recorded
# for the cleanup.
import_once() {
  local file="$1"; shift
  local data="$BENCH_TMP/run-$RANDOM"
  cp -a "$SEED" "$data"
  sync
  local t0 t1
  t0=$(now)
  run_bounded 600 "$SHUQIAO" catalog import "$file" "$@" --data "$data" >"$BENCH_TMP/import.log" 2>&1 ||
    { tail -20 "$BENCH_TMP/import.log" >&2; die "import $file"; }
  t1=$(now)
  log "$(tail -1 "$BENCH_TMP/import.log")"
  rm -rf "$data"
  LAST_S="$(secs "$t0" "$t1")"
}

: >"$BENCH_TMP/results.tsv"
for i in $(seq 1 "$RUNS"); do
  import_once "$BENCH_TMP/catalog.xlsx"; log "xlsx import run $i: $LAST_S s"
  printf 'shuqiao catalog import (xlsx)\t%s\n' "$LAST_S" >>"$BENCH_TMP/results.tsv"
done
import_once "$BENCH_TMP/catalog.xlsx" --publish
printf 'shuqiao catalog import --publish (xlsx)\t%s\n' "$LAST_S" >>"$BENCH_TMP/results.tsv"
import_once "$BENCH_TMP/catalog.csv"
printf 'shuqiao catalog import (csv, same content)\t%s\n' "$LAST_S" >>"$BENCH_TMP/results.tsv"
for i in $(seq 1 "$RUNS"); do
  t0=$(now)
  python3 -c '
import sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
n = sum(1 for _ in wb.active.iter_rows(values_only=True))
print(n, "rows", file=sys.stderr)' "$BENCH_TMP/catalog.xlsx"
  t1=$(now)
  printf 'baseline: openpyxl read-only parse (python3)\t%s\n' "$(secs "$t0" "$t1")" >>"$BENCH_TMP/results.tsv"
done

echo
echo "== Catalog import: $ENTRIES entries × $ITEMS items = $((ENTRIES * ITEMS)) item rows ($(nproc) cores)"
python3 - "$BENCH_TMP/results.tsv" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1], encoding="utf-8"):
    name, s = line.rstrip("\n").split("\t")
    rows.setdefault(name, []).append(float(s))
print(f"{'what':<46} {'runs':>4} {'min s':>7} {'median s':>8} {'max s':>7}")
for name, v in rows.items():
    print(f"{name:<46} {len(v):>4} {min(v):>7.2f} {statistics.median(v):>8.2f} {max(v):>7.2f}")
worst = max(rows["shuqiao catalog import (xlsx)"])
print(f"\ntarget: xlsx import of 10,000 items ≤ 10 s → worst run {worst:.2f} s: {'MET' if worst <= 10 else 'MISSED'}")
PY
