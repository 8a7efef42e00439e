#!/usr/bin/env bash
# Server-side render time of the console's main pages on the demo data (target: p95 ≤ 50 ms per page), and the
# total weight of the search page (HTML + our CSS + our JS; target ≤ 300 KB).
#
#   bench/console.sh
#   DURATION=5 CONNECTIONS=2 bench/console.sh
#
# Each page is measured with wrk (1 thread, $CONNECTIONS connections, $DURATION s) as the user who would open it,
# logged in through the console's own login form (session cookie). Run it under the shared lock so that it does
# not overlap other benchmarks: flock /tmp/shuqiao-bench.lock bench/console.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-4}"

need python3
need curl
need wrk

bench_init
build_release

PORT="$(free_port)"
start_server demo "$BENCH_TMP/data" "$PORT" "$BENCH_TMP/demo.log" 300

# console_login USER → prints the Cookie header value of a console session.
console_login() {
  local user="$1" jar="$BENCH_TMP/jar-$1"
  local csrf
  csrf="$(curl -sS --max-time 10 -c "$jar" -b "$jar" "$BASE/login" | grep -o 'name="_csrf" value="[^"]*"' | sed 's/.*value="//; s/"$//')"
  curl -sS --max-time 10 -c "$jar" -b "$jar" -o /dev/null \
    --data-urlencode "_csrf=$csrf" --data-urlencode "username=$user" --data-urlencode "password=$DEMO_PASSWORD" \
    --data-urlencode "next=/" "$BASE/login"
  awk '$6 == "sq_session" { print "sq_session=" $7 }' "$jar"
}

# Pages and who opens them. Ids of a real application and grant come from the API.
Q="$(python3 -c 'from urllib.parse import quote; print(quote("企业 登记"))')"
USER_TOKEN="$(login scjg_user)"
APP_ID="$(curl -sS --max-time 10 -H "Authorization: Bearer $USER_TOKEN" -H 'Content-Type: application/json' \
  -d '{"resource":"303001/000001","items":["姓名"],"purpose":{"kind":"administrative_basis","text":"基准测试"},"basis":"基准测试依据","modes":["query"],"valid_until":"2027-05-21"}' \
  "$BASE/api/v1/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"
PAGES=(
  "scjg_user /"
  "gat_review /"
  "scjg_user /catalog?q=$Q"
  "scjg_user /catalog?share_type=conditional"
  "scjg_user /catalog/303001/000001"
  "scjg_user /applications/new?resource=303001/000001"
  "scjg_user /applications"
  "gat_review /applications/$APP_ID"
  "scjg_user /grants"
  "authority /monitor"
  "auditor /audit"
  "auditor /audit/verify"
  "gat_admin /admin/users"
)

declare -A COOKIES
printf '%-10s %-46s %8s %8s %8s %9s %7s\n' user page p50_ms p95_ms p99_ms req/s non2xx
for entry in "${PAGES[@]}"; do
  user="${entry%% *}"
  page="${entry#* }"
  [[ -n "${COOKIES[$user]:-}" ]] || COOKIES[$user]="$(console_login "$user")"
  status="$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Cookie: ${COOKIES[$user]}" "$BASE$page")"
  [[ "$status" == 200 ]] || die "$user $page answered $status"
  line="$(BENCH_COOKIE="${COOKIES[$user]}" BENCH_PATH="$page" run_bounded $((DURATION + 30)) \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$BENCH_DIR/console.lua" "$BASE" | grep '^RESULT')"
  python3 - "$user" "$page" "$line" <<'PY'
import sys
from urllib.parse import unquote
user, page, line = sys.argv[1], unquote(sys.argv[2]), sys.argv[3]
kv = dict(p.split("=") for p in line.split()[1:])
print(f"{user:<10} {page[:46]:<46} {int(kv['p50_us'])/1000:8.2f} {int(kv['p95_us'])/1000:8.2f} "
      f"{int(kv['p99_us'])/1000:8.2f} {float(kv['rps']):9.1f} {kv['non2xx']:>7}")
PY
done

# Weight of the search page: the HTML and every asset it links (our CSS and JS; no images, fonts or others).
C="${COOKIES[scjg_user]}"
HTML="$BENCH_TMP/search.html"
curl -sS --max-time 10 -H "Cookie: $C" -o "$HTML" "$BASE/catalog?q=$Q"
total="$(stat -c %s "$HTML")"
echo
echo "search page weight (/catalog?q=企业 登记):"
printf '  %-40s %8d bytes\n' "HTML" "$total"
for asset in $(grep -o '/assets/[^"]*' "$HTML" | sort -u); do
  size="$(curl -sS --max-time 10 -o /dev/null -w '%{size_download}' "$BASE$asset")"
  printf '  %-40s %8d bytes\n' "$asset" "$size"
  total=$((total + size))
done
printf '  %-40s %8d bytes (%.1f KB)\n' "total" "$total" "$(python3 -c "print($total/1024)")"
