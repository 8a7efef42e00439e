#!/usr/bin/env bash
# Catalog search latency through the HTTP API over 100,000 published entries (target: p50 ≤ 5 ms, p99 ≤ 20 ms).
#
#   bench/search.sh                     # everything: build, seed, generate, import, measure
#   ENTRIES=20000 DURATION=5 bench/search.sh
#   BENCH_KEEP=1 bench/search.sh        # keep the work directory (the prepared store) …
#   SEARCH_DATA=/tmp/shuqiao-bench.XXXX/data bench/search.sh   # … and measure it again without re-importing
#
# Environment: ENTRIES (100000), DURATION (seconds per wrk run, 10), QUERY_DURATION (seconds per single-query run,
# 3), SEARCH_USER (gat_user), SHUQIAO_BIN (skip the build), CARGO_TARGET_DIR.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ENTRIES="${ENTRIES:-100000}"
DURATION="${DURATION:-10}"
QUERY_DURATION="${QUERY_DURATION:-3}"
SEARCH_USER="${SEARCH_USER:-gat_user}"

need python3
need curl
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk (apt-get install -y wrk)"
  apt-get install -y -qq wrk >&2 || { apt-get update -qq >&2 && apt-get install -y -qq wrk >&2; } || die "cannot install wrk"
fi

bench_init
build_release

if [[ -n "${SEARCH_DATA:-}" ]]; then
  DATA="$SEARCH_DATA"
  [[ -d "$DATA" ]] || die "SEARCH_DATA=$DATA is not a directory"
  log "reusing the prepared store $DATA"
  IMPORT_S="(reused store)"
else
  DATA="$BENCH_TMP/data"
  # 1. Demo store (departments, users), and the departments' credit codes from the API.
  PORT="$(free_port)"
  start_server demo "$DATA" "$PORT" "$BENCH_TMP/demo.log" 300
  TOKEN="$(login "$SEARCH_USER")"
  curl -sS --max-time 10 -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/departments?limit=500" |
    python3 -c '
import json, sys
for d in json.load(sys.stdin)["items"]:
    if d.get("credit_code"):
        print(d["id"], d["credit_code"], d["name"], sep="\t")' >"$BENCH_TMP/departments.tsv"
  stop_server
  log "$(wc -l <"$BENCH_TMP/departments.tsv") departments"

  # 2. The catalog file.
  log "generating $ENTRIES entries"
  python3 "$BENCH_DIR/gen_catalog.py" --departments "$BENCH_TMP/departments.tsv" --entries "$ENTRIES" \
    --code-base 500000 --out "$BENCH_TMP/catalog.json"

  # 3. Operator import, published at once (bounded: 30 min).
  log "shuqiao catalog import catalog.json --publish"
  t0=$(date +%s.%N)
  run_bounded 3600 "$SHUQIAO" catalog import "$BENCH_TMP/catalog.json" --publish --data "$DATA" >"$BENCH_TMP/import.log" 2>&1 ||
    { tail -20 "$BENCH_TMP/import.log" >&2; die "import"; }
  t1=$(date +%s.%N)
  IMPORT_S="$(python3 -c "print(f'{$t1 - $t0:.1f} s')")"
  log "imported in $IMPORT_S: $(tail -1 "$BENCH_TMP/import.log")"
fi

# 4. Serve the store and measure.
PORT="$(free_port)"
start_server serve "$DATA" "$PORT" "$BENCH_TMP/serve.log" 120
TOKEN="$(login "$SEARCH_USER")"
export BENCH_TOKEN="$TOKEN"
PROVIDER_ID="$(curl -sS --max-time 10 -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/me" |
  python3 -c 'import json,sys; print((json.load(sys.stdin).get("department") or {}).get("id", ""))')"

# The query mix: text searches of different selectivity, text + filter, and facet-only browsing with filters.
python3 - "$PROVIDER_ID" >"$BENCH_TMP/paths.txt" <<'PY'
import sys
from urllib.parse import urlencode
provider = sys.argv[1]
queries = [
    {"q": "企业 登记"},
    {"q": "户籍"},
    {"q": "社会保险 参保"},
    {"q": "不动产"},
    {"q": "药品 抽检", "share_type": "conditional"},
    {"q": "石家庄市 机动车"},
    {},
    {"share_type": "conditional", "open": "false"},
    {"class": "3", "update_cycle": "daily"},
    {"provider": provider, "status": "published"},
]
for q in queries:
    print("/api/v1/catalog" + ("?" + urlencode(q) if q else ""))
PY
echo "/healthz" >"$BENCH_TMP/healthz.txt"

# Sanity check: every query answers 200, and how many entries it matches.
log "queries (total matches, response size):"
DOCS="$(curl -sS --max-time 10 "$BASE/metrics" | awk '/^shuqiao_catalog_index_docs /{print $2}')"
while read -r path; do
  out="$(curl -sS --max-time 10 -o "$BENCH_TMP/answer.json" -w '%{http_code} %{size_download}' \
    -H "Authorization: Bearer $TOKEN" "$BASE$path")"
  [[ "${out%% *}" == 200 ]] || { cat "$BENCH_TMP/answer.json" >&2; die "GET $path → $out"; }
  total="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["total"], len(d["items"]))' "$BENCH_TMP/answer.json")"
  printf '  %-90s total=%-7s items=%-3s bytes=%s\n' "$(python3 -c 'import sys,urllib.parse; print(urllib.parse.unquote_plus(sys.argv[1]))' "$path")" \
    "${total% *}" "${total#* }" "${out#* }" >&2
done <"$BENCH_TMP/paths.txt"

# run_wrk NAME PATHS_FILE CONNECTIONS SECONDS → appends a row to $BENCH_TMP/results.tsv
run_wrk() {
  local name="$1" paths="$2" conns="$3" secs="$4" threads=1
  ((conns > 1)) && threads=2
  BENCH_PATHS="$paths" run_bounded $((secs + 30)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 5s --latency \
    -s "$BENCH_DIR/rotate.lua" "$BASE" >"$BENCH_TMP/wrk.out" 2>&1 || { cat "$BENCH_TMP/wrk.out" >&2; die "wrk"; }
  local line
  line="$(grep '^RESULT' "$BENCH_TMP/wrk.out")" || { cat "$BENCH_TMP/wrk.out" >&2; die "wrk printed no RESULT"; }
  printf '%s\t%s\t%s\n' "$name" "$conns" "$line" >>"$BENCH_TMP/results.tsv"
  log "$name c=$conns: $line"
}

: >"$BENCH_TMP/results.tsv"
# Warm-up (page cache, first-use allocations), not reported.
run_wrk warmup "$BENCH_TMP/paths.txt" 1 2 >/dev/null
for c in 1 8 32; do
  run_wrk "search (mix)" "$BENCH_TMP/paths.txt" "$c" "$DURATION"
  run_wrk "GET /healthz (floor)" "$BENCH_TMP/healthz.txt" "$c" "$DURATION"
done
n=0
while read -r path; do
  n=$((n + 1))
  echo "$path" >"$BENCH_TMP/one.txt"
  run_wrk "q$n $(python3 -c 'import sys,urllib.parse; print(urllib.parse.unquote_plus(sys.argv[1]).replace("/api/v1/catalog",""))' "$path")" \
    "$BENCH_TMP/one.txt" 1 "$QUERY_DURATION"
done <"$BENCH_TMP/paths.txt"
grep -v '^warmup' "$BENCH_TMP/results.tsv" >"$BENCH_TMP/results2.tsv"

RSS_KB="$(awk '/VmRSS/{print $2}' "/proc/$SERVER_PID/status")"
stop_server

echo
echo "== Catalog search over ${DOCS:-?} indexed documents ($(nproc) cores, wrk ${DURATION}s per mix row, ${QUERY_DURATION}s per query row, user $SEARCH_USER)"
echo "   import of $ENTRIES entries with --publish: $IMPORT_S; server RSS after the runs: $((RSS_KB / 1024)) MB"
python3 - "$BENCH_TMP/results2.tsv" <<'PY'
import sys
rows = []
for line in open(sys.argv[1], encoding="utf-8"):
    name, conns, result = line.rstrip("\n").split("\t")
    kv = dict(p.split("=") for p in result.split()[1:])
    rows.append((name, conns, kv))
print(f"{'run':<58} {'conns':>5} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'req/s':>9} {'errors':>6}")
for name, conns, kv in rows:
    ms = lambda k: f"{int(kv[k]) / 1000:.2f}"  # noqa: E731
    err = int(kv["non2xx"]) + int(kv["sockerr"])
    print(f"{name[:58]:<58} {conns:>5} {ms('p50_us'):>8} {ms('p90_us'):>8} {ms('p99_us'):>8} {ms('max_us'):>8} "
          f"{float(kv['rps']):>9.0f} {err:>6}")
mix1 = next(kv for n, c, kv in rows if n.startswith("search") and c == "1")
ok = int(mix1["p50_us"]) <= 5000 and int(mix1["p99_us"]) <= 20000
print(f"\ntarget (search mix, 1 connection): p50 ≤ 5 ms, p99 ≤ 20 ms → "
      f"p50 {int(mix1['p50_us'])/1000:.2f} ms, p99 {int(mix1['p99_us'])/1000:.2f} ms: {'MET' if ok else 'MISSED'}")
PY
