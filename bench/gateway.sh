#!/usr/bin/env bash
# Online query of one record by key through platform + node from an SQLite source, masking and durable audit on
# (target: ≥ 5,000 requests/s and p99 ≤ 25 ms at 64 concurrent clients, and ≥ 0.5× the throughput of nginx
# reverse-proxying the same lookup served by a trivial HTTP server without the platform — measured in the same run).
#
#   bench/gateway.sh
#   ROWS=20000 DURATION=10 bench/gateway.sh
#
# Environment: ROWS (100000 residents), DURATION (20 s per wrk run), WARMUP (3 s), CONNECTIONS (64), THREADS (2),
# NGINX_WORKERS (auto), FLOORS (1: also the platform at 1 connection and the GET /api/v1/me floor, FLOOR_DURATION
# 10 s each), SHUQIAO_BIN (skip the build of the platform binary), CARGO_TARGET_DIR, BENCH_KEEP=1.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# The walk-through's steps (register the node, compile and mount the entry, apply, approve) as functions.
source "$REPO_DIR/scripts/walkthrough-data.sh"

ROWS="${ROWS:-100000}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
NGINX_WORKERS="${NGINX_WORKERS:-auto}"
FLOOR_DURATION="${FLOOR_DURATION:-10}"

need python3
need curl
for tool in wrk nginx; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    log "installing $tool (apt-get install -y $tool)"
    apt-get install -y -qq "$tool" >&2 || { apt-get update -qq >&2 && apt-get install -y -qq "$tool" >&2; } ||
      die "cannot install $tool"
  fi
done

bench_init
build_release
log "cargo build --release -p shuqiao --example gateway_baseline"
(cd "$REPO_DIR" && cargo build --release -q -p shuqiao --example gateway_baseline) >&2 || die "baseline build"
BASELINE_BIN="$CARGO_TARGET_DIR/release/examples/gateway_baseline"

# 1. The department's database: ROWS residents, and their ID numbers in random order (the keys wrk draws from).
DB="$BENCH_TMP/hukou.db"
KEYS="$BENCH_TMP/keys.txt"
log "generating $ROWS residents in $DB"
python3 "$BENCH_DIR/gen_residents.py" --rows "$ROWS" --db "$DB" --keys "$KEYS"
KEY1="$(head -1 "$KEYS")"

# 2. The platform (`shuqiao demo`, SQLite) and 公安厅's node over that database.
PORT="$(free_port)"
start_server demo "$BENCH_TMP/data" "$PORT" "$BENCH_TMP/demo.log" 300
API="$BASE/api/v1"
ADMIN=$(wd_login gat_admin); CAT=$(wd_login gat_catalog); AUTH=$(wd_login authority)
USER=$(wd_login scjg_user); REVIEW=$(wd_login gat_review); AUDITOR=$(wd_login auditor); SCJG_ADMIN=$(wd_login scjg_admin)
PUBLIC=$("$SHUQIAO" node keygen --out "$BENCH_TMP/node.key")
NODE=$(wd_register_node "$ADMIN" "公安厅前置节点（压测）" "$PUBLIC")
wd_node_config "$BENCH_TMP/node.toml" "$NODE" "$BENCH_TMP/node.key" "$DB"
"$SHUQIAO" node --config "$BENCH_TMP/node.toml" >"$BENCH_TMP/node.log" 2>&1 &
NODE_PID=$!
BENCH_PIDS+=("$NODE_PID")
wd_wait_connected "$ADMIN" "$NODE" || { tail -20 "$BENCH_TMP/node.log" >&2; die "the node did not connect"; }
log "node $NODE connected"

# 3. Entry, mount and check, application, approval with masking of every item (no quota).
CODE=$(wd_entry "$CAT" "$AUTH" "常住人口基本信息（压测）")
wd_mount "$CAT" "$CODE" "$NODE" >/dev/null
APP=$(wd_apply "$USER" "$CODE")
wd_approve "$REVIEW" "$APP" >/dev/null
log "entry $CODE mounted and checked; application $APP approved"

# 4. The consumer: an API client of 市场监管局 (created by its department administrator), consumer role only.
TOKEN=$(api POST clients "$SCJG_ADMIN" '{"name": "市场监管局登记系统（压测）", "roles": ["consumer"]}' | json 'd["token"]')
ROLES=$(api GET me "$TOKEN" | json 'd["roles"]')
[[ "$ROLES" == '["consumer"]' ]] || die "the API client's roles are $ROLES, not [\"consumer\"]"
ENC_ITEM=$(python3 -c 'import urllib.parse; print(urllib.parse.quote("公民身份号码"))')
PREFIX="/api/v1/data/$CODE/records?$ENC_ITEM="
ANSWER=$(curl -sS --max-time 10 -H "authorization: Bearer $TOKEN" "$BASE$PREFIX$KEY1")
log "platform answer for $KEY1: $ANSWER"
[[ "$(echo "$ANSWER" | json 'len(d["items"])')" == 1 ]] || die "the platform did not answer one record"

# 5. The baseline: the same lookup on the same file, no platform, behind nginx (keep-alive upstream).
BPORT="$(free_port)"
"$BASELINE_BIN" "$DB" "127.0.0.1:$BPORT" >"$BENCH_TMP/baseline.log" 2>&1 &
BENCH_PIDS+=("$!")
NPORT="$(free_port)"
mkdir -p "$BENCH_TMP/nginx"
NGINX_USER=""
[[ "$(id -u)" != 0 ]] || NGINX_USER="user root;"
cat >"$BENCH_TMP/nginx/nginx.conf" <<EOF
$NGINX_USER
worker_processes $NGINX_WORKERS;
pid $BENCH_TMP/nginx/nginx.pid;
error_log $BENCH_TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $BENCH_TMP/nginx/body;
  proxy_temp_path $BENCH_TMP/nginx/proxy;
  fastcgi_temp_path $BENCH_TMP/nginx/fastcgi;
  uwsgi_temp_path $BENCH_TMP/nginx/uwsgi;
  scgi_temp_path $BENCH_TMP/nginx/scgi;
  upstream baseline {
    server 127.0.0.1:$BPORT;
    keepalive 128;
  }
  server {
    listen 127.0.0.1:$NPORT;
    location / {
      proxy_pass http://baseline;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
nginx -e "$BENCH_TMP/nginx/error.log" -p "$BENCH_TMP/nginx" -c "$BENCH_TMP/nginx/nginx.conf" -g 'daemon off;' &
BENCH_PIDS+=("$!")
NGINX_BASE="http://127.0.0.1:$NPORT"
for _ in $(seq 1 100); do curl -sf --max-time 1 "$NGINX_BASE/residents?sfzh=$KEY1" >/dev/null && break; sleep 0.1; done
BANSWER=$(curl -sS --max-time 10 "$NGINX_BASE/residents?sfzh=$KEY1")
log "baseline answer (nginx → gateway_baseline): $BANSWER"
[[ "$(echo "$BANSWER" | json 'len(d["items"])')" == 1 ]] || die "the baseline did not answer one record"

# run_wrk LABEL BASE PREFIX TOKEN [CONNECTIONS THREADS SECONDS]: a warm-up, then the measured run of random_key.lua
# (GET BASE PREFIX<random key>); appends a row to $RESULTS. An empty PREFIX runs rotate.lua over $BENCH_TMP/paths.txt.
RESULTS="$BENCH_TMP/results.tsv"
: >"$RESULTS"
run_wrk() {
  local label="$1" base="$2" prefix="$3" token="$4" conns="${5:-$CONNECTIONS}" threads="${6:-$THREADS}"
  local secs="${7:-$DURATION}" script="$BENCH_DIR/random_key.lua" out
  [[ -n "$prefix" ]] || script="$BENCH_DIR/rotate.lua"
  export BENCH_PREFIX="$prefix" BENCH_KEYS="$KEYS" BENCH_TOKEN="$token" BENCH_PATHS="$BENCH_TMP/paths.txt"
  log "wrk $label: warm-up ${WARMUP} s"
  run_bounded $((WARMUP + 30)) wrk -t "$threads" -c "$conns" -d "${WARMUP}s" --timeout 10s -s "$script" "$base" >/dev/null
  log "wrk $label: -t $threads -c $conns -d ${secs}s --latency"
  out=$(run_bounded $((secs + 60)) wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 10s --latency -s "$script" "$base")
  printf '%s\n' "$out" >"$BENCH_TMP/wrk-${label//[^A-Za-z0-9]/_}.txt"
  printf '%s\n' "$out" | grep -A4 'Latency Distribution' >&2 || true
  printf '%s\t%s\t%s\n' "$label" "$conns" "$(printf '%s\n' "$out" | grep '^RESULT' | sed 's/^RESULT //')" >>"$RESULTS"
}

audit_head() { api GET "audit/events?limit=1" "$AUDITOR" | json 'd["items"][0]["seq"]'; }

# 6. Side by side: platform + node, then nginx → baseline, then the baseline alone (for reference).
SEQ0=$(audit_head)
run_wrk "platform + node" "$BASE" "$PREFIX" "$TOKEN"
SEQ1=$(audit_head)
run_wrk "nginx + baseline" "$NGINX_BASE" "/residents?sfzh=" ""
run_wrk "baseline alone" "http://127.0.0.1:$BPORT" "/residents?sfzh=" ""
# Context (FLOORS=0 skips): the platform at one connection (latency), and GET /api/v1/me with the same token at
# the same concurrency — the floor of the platform's HTTP stack with authentication (one session look-up).
if [[ "${FLOORS:-1}" == 1 ]]; then
  echo "/api/v1/me" >"$BENCH_TMP/paths.txt"
  run_wrk "platform + node, 1 connection" "$BASE" "$PREFIX" "$TOKEN" 1 1 "$FLOOR_DURATION"
  run_wrk "GET /api/v1/me (auth floor)" "$BASE" "" "$TOKEN" "$CONNECTIONS" "$THREADS" "$FLOOR_DURATION"
fi
ANSWER=$(curl -sS --max-time 10 -H "authorization: Bearer $TOKEN" "$BASE$PREFIX$KEY1")
VERIFY=$(api GET audit/verify "$AUDITOR" | json 'd["ok"]')
RSS_SERVER=$(awk '/VmHWM/ {print int($2 / 1024) " MB"}' "/proc/$SERVER_PID/status" 2>/dev/null || echo "?")
RSS_NODE=$(awk '/VmHWM/ {print int($2 / 1024) " MB"}' "/proc/$NODE_PID/status" 2>/dev/null || echo "?")

# 7. Report.
python3 - "$RESULTS" "$SEQ0" "$SEQ1" "$ROWS" "$CONNECTIONS" "$THREADS" "$DURATION" <<'EOF'
import sys
path, seq0, seq1, rows, conns, threads, duration = sys.argv[1:]
res = {}
for line in open(path):
    label, conns_, kv = line.rstrip("\n").split("\t")
    res[label] = {k: float(v) for k, v in (p.split("=") for p in kv.split())}
    res[label]["conns"] = int(conns_)
print(f"\nGateway: one record by key, {int(rows):,} residents (SQLite), wrk -t{threads} -c{conns} -d{duration}s, random keys\n")
print("| run | conns | req/s | p50 ms | p90 ms | p99 ms | max ms | requests | non-2xx | socket errors |")
print("|---|---|---|---|---|---|---|---|---|---|")
for label, r in res.items():
    print(f"| {label} | {r['conns']} | {r['rps']:,.0f} | {r['p50_us']/1000:.2f} | {r['p90_us']/1000:.2f} | {r['p99_us']/1000:.2f} | "
          f"{r['max_us']/1000:.1f} | {int(r['requests']):,} | {int(r['non2xx'])} | {int(r['sockerr'])} |")
p = res.get("platform + node")
n = res.get("nginx + baseline")
if p and n:
    ratio = p["rps"] / n["rps"] if n["rps"] else 0.0
    print(f"\nratio platform / (nginx + baseline): {ratio:.2f}  (target ≥ 0.5)")
    ok_rps, ok_p99, ok_ratio = p["rps"] >= 5000, p["p99_us"] <= 25000, ratio >= 0.5
    print(f"target ≥ 5,000 req/s: {'met' if ok_rps else 'MISSED'} ({p['rps']:,.0f}); "
          f"p99 ≤ 25 ms: {'met' if ok_p99 else 'MISSED'} ({p['p99_us']/1000:.2f} ms); "
          f"≥ 0.5× nginx: {'met' if ok_ratio else 'MISSED'} ({ratio:.2f})")
    events = int(seq1) - int(seq0)
    print(f"audit events appended during the platform runs (warm-up + measured): {events:,} "
          f"(wrk counted {int(p['requests']):,} in the measured run)")
EOF
echo "platform answer after the runs: $ANSWER"
echo "audit chain verifies: $VERIFY; peak RSS: server $RSS_SERVER, node $RSS_NODE"
