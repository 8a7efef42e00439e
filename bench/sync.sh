#!/usr/bin/env bash
# Table sync (库表交换): ROWS rows × 12 columns from a PostgreSQL source table to a PostgreSQL target table through
# provider node → platform → consumer node (target: ≥ 100,000 rows/s end to end, and ≥ 0.3× the rate of
# `psql -c "COPY … TO STDOUT" | psql -c "COPY … FROM STDIN"` between the same two databases, measured in the same
# run; resident memory of each shuqiao process under 200 MB during the run). The target is checked against the
# source at the end.
#
#   bench/sync.sh
#   ROWS=100000 bench/sync.sh
#   STORE=postgres bench/sync.sh
#
# Environment: ROWS (1000000), BATCH (5000: rows per batch, the platform's --sync-batch-rows and the provider
# node's top-level max_sync_rows), STORE (sqlite, or postgres: the platform's store on a third fresh database), PG
# (postgres://postgres@127.0.0.1:5432: a server where that user may create databases), SYNC_TIMEOUT (1800 s),
# SHUQIAO_BIN (skip the build), CARGO_TARGET_DIR, BENCH_KEEP=1 (keep the work directory and the databases).
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
# The walk-through's helpers (api, json, wd_login, wd_register_node, wd_wait_connected).
# shellcheck source=scripts/walkthrough-data.sh
source "$REPO_DIR/scripts/walkthrough-data.sh"

ROWS="${ROWS:-1000000}"
BATCH="${BATCH:-5000}"
STORE="${STORE:-sqlite}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
PG="${PG%/}"
SYNC_TIMEOUT="${SYNC_TIMEOUT:-1800}"
[[ "$STORE" == sqlite || "$STORE" == postgres ]] || die "STORE is sqlite or postgres, not $STORE"

need python3
need curl
need psql

# The 12 columns, once: source column, its SQL type and constraint at the source, catalog item (the target's
# column), data type letter and length of the item, and how a value becomes text for the checksum on both sides
# (numeric: trailing zeros trimmed, since the target's NUMERIC keeps the scale the value arrives with).
COLUMNS="sfzh|varchar(18) PRIMARY KEY|公民身份号码|C|18|text
xm|varchar(50) NOT NULL|姓名|C|50|text
xb|smallint NOT NULL|性别代码|I|1|text
csrq|date NOT NULL|出生日期|D|10|text
mz|varchar(20)|民族|C|20|text
lxdh|varchar(20)|联系电话|C|20|text
hjdz|varchar(200)|户籍地址|C|200|text
hh|bigint|户号|I|12|text
sg|numeric(4,1)|身高（厘米）|N|4|numeric
jzmj|numeric(10,2)|住房面积（平方米）|N|10|numeric
djsj|timestamp|户籍登记时间|T|19|text
gxsj|timestamp NOT NULL|更新时间|T|19|text"
KEY_COLUMN=sfzh
CHANGE_COLUMN=gxsj

# spec FIELD: one field (1-based) of every column, one a line.
spec() { cut -d'|' -f"$1" <<<"$COLUMNS"; }
# q NAME: a quoted SQL identifier.
q() { printf '"%s"' "${1//\"/\"\"}"; }
# checksum_sql TABLE FIELD: count and an order-independent checksum of the rows (sum of a 64-bit slice of each
# row's md5) over the columns named by FIELD of the spec (1: source names, 3: item names).
checksum_sql() {
  local table="$1" field="$2" exprs=() name how
  while IFS='|' read -r name how; do
    if [[ "$how" == numeric ]]; then
      exprs+=("coalesce(trim_scale($(q "$name"))::text, '\\N')")
    else
      exprs+=("coalesce($(q "$name")::text, '\\N')")
    fi
  done < <(paste -d'|' <(spec "$field") <(spec 6))
  local row
  row=$(IFS=,; echo "${exprs[*]}")
  echo "SELECT count(*) || ' ' || coalesce(sum(('x' || substr(md5(concat_ws('|', $row)), 1, 16))::bit(64)::bigint::numeric), 0) FROM $table"
}

# psql_at URL SQL…: runs SQL (stop at the first error), prints unaligned tuples only.
psql_at() {
  local url="$1"; shift
  psql -X -q -v ON_ERROR_STOP=1 -At "$url" "$@"
}

now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

bench_init
DB_PREFIX="shuqiao_bench_sync_$$"
SRC_DB="${DB_PREFIX}_src"; DST_DB="${DB_PREFIX}_dst"; STORE_DB="${DB_PREFIX}_store"
SRC="$PG/$SRC_DB"; DST="$PG/$DST_DB"
CREATED_DBS=()

# Stops the processes first (so that nothing holds the databases), drops the databases unless BENCH_KEEP=1, then
# the common clean-up (the work directory).
sync_cleanup() {
  local rc=$? pid db
  for pid in "${BENCH_PIDS[@]:-}"; do
    [[ -z "$pid" ]] || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]:-}"; do
    [[ -n "$pid" ]] || continue
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  for db in "${CREATED_DBS[@]:-}"; do
    [[ -n "$db" ]] || continue
    if [[ "${BENCH_KEEP:-0}" == 1 ]]; then
      log "kept database $PG/$db"
    else
      psql_at "$PG/postgres" -c "DROP DATABASE IF EXISTS $(q "$db") WITH (FORCE)" >/dev/null 2>&1 ||
        log "could not drop $db"
    fi
  done
  # bench_cleanup reads the status from $?; errexit must not end the trap on it.
  set +e
  (exit "$rc")
  bench_cleanup
}
trap sync_cleanup EXIT

create_db() {
  psql_at "$PG/postgres" -c "CREATE DATABASE $(q "$1")" >/dev/null || die "cannot create database $1 on $PG"
  CREATED_DBS+=("$1")
}

psql_at "$PG/postgres" -c 'SELECT 1' >/dev/null || die "no PostgreSQL at $PG (set PG=postgres://user@host:port)"
build_release
log "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. The provider's database: ROWS residents (ID numbers with valid GB 11643 check digits, spread over 16
#    districts and birth dates 1950–2004, in an order unrelated to the key), 12 columns of text, integers, numeric,
#    date and timestamp, a few NULLs, and the change column `gxsj` with its index.
create_db "$SRC_DB"
create_db "$DST_DB"
SRC_DDL="CREATE TABLE residents ($(paste -d' ' <(spec 1) <(spec 2) | paste -sd, -))"
log "generating $ROWS rows in $SRC_DB.residents"
T0=$(now)
psql_at "$SRC" <<EOF || die "source generation"
$SRC_DDL;
CREATE FUNCTION pg_temp.gb11643(s text) RETURNS text IMMUTABLE LANGUAGE sql AS \$\$
  SELECT s || substr('10X98765432', (7 * substr(s, 1, 1)::int + 9 * substr(s, 2, 1)::int + 10 * substr(s, 3, 1)::int
    + 5 * substr(s, 4, 1)::int + 8 * substr(s, 5, 1)::int + 4 * substr(s, 6, 1)::int + 2 * substr(s, 7, 1)::int
    + substr(s, 8, 1)::int + 6 * substr(s, 9, 1)::int + 3 * substr(s, 10, 1)::int + 7 * substr(s, 11, 1)::int
    + 9 * substr(s, 12, 1)::int + 10 * substr(s, 13, 1)::int + 5 * substr(s, 14, 1)::int + 8 * substr(s, 15, 1)::int
    + 4 * substr(s, 16, 1)::int + 2 * substr(s, 17, 1)::int) % 11 + 1, 1)
\$\$;
-- j = i × 7919 mod (16 districts × 20089 birth dates × 1000 sequence numbers): a bijection, so every key is unique.
INSERT INTO residents
SELECT pg_temp.gb11643(district || to_char(birth, 'YYYYMMDD') || lpad(seq::text, 3, '0')),
       (ARRAY['王','李','张','刘','陈','杨','赵','黄','周','吴','徐','孙','胡','朱','高','林','何','郭','马','欧阳'])[n % 20 + 1]
         || (ARRAY['伟','秀英','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','秀兰','霞',
                   '平','刚','桂英','建国','建华','志强','海燕','红梅','雪','晨'])[(n / 20) % 30 + 1],
       2 - seq % 2,
       birth,
       CASE WHEN n % 20 = 0 THEN (ARRAY['回族','满族','蒙古族','朝鲜族'])[(n / 20) % 4 + 1] ELSE '汉族' END,
       CASE WHEN n % 50 = 0 THEN NULL
            ELSE (ARRAY['138','139','150','186','133'])[n % 5 + 1] || lpad(((i * 104729) % 100000000)::text, 8, '0') END,
       '河北省' || (ARRAY['石家庄市长安区','石家庄市桥西区','石家庄市新华区','唐山市路南区','唐山市路北区','保定市竞秀区',
                         '保定市莲池区','衡水市桃城区'])[n % 8 + 1]
         || (ARRAY['建设北大街','中山路','自强路','人民西路','朝阳北大街','裕华路'])[(n / 8) % 6 + 1] || (n % 300 + 1) || '号',
       130100000000 + i / 3,
       CASE WHEN n % 97 = 0 THEN NULL ELSE round(150 + ((n * 37) % 450) / 10.0, 1) END,
       round(((i * 7919) % 2000000) / 100.0 + 20, 2),
       timestamp '2000-01-01' + ((i * 7919) % 800000000) * interval '1 second',
       timestamp '2026-01-01' + i * interval '1 second'
FROM (SELECT i, i::int AS n,
             (ARRAY['130102','130104','130105','130108','130109','130110','130111','130121',
                    '130202','130203','130204','130302','130602','130606','131102','131121'])[(j % 16)::int + 1] AS district,
             date '1950-01-01' + ((j / 16) % 20089)::int AS birth,
             (j / 321424)::int AS seq
      FROM (SELECT i, (i * 7919) % 321424000 AS j FROM generate_series(1::bigint, $ROWS::bigint) i) g) g;
CREATE INDEX residents_gxsj ON residents (gxsj);
VACUUM ANALYZE residents;
CHECKPOINT;
EOF
GEN_S=$(elapsed "$T0" "$(now)")
SRC_SIZE=$(psql_at "$SRC" -c "SELECT pg_size_pretty(pg_table_size('residents'))")
log "generated in ${GEN_S} s ($SRC_SIZE); sample row:"
psql_at "$SRC" -c "SELECT * FROM residents ORDER BY sfzh LIMIT 1" >&2
SRC_SUM=$(psql_at "$SRC" -c "$(checksum_sql residents 1)")
[[ "${SRC_SUM%% *}" == "$ROWS" ]] || die "the source has ${SRC_SUM%% *} rows, not $ROWS"

# 2. The baseline: psql COPY out of the source piped into psql COPY into a table of the target database with the same
#    columns and primary key (the table sync's target gets its primary key too). Run before and after the platform.
COLS=$(spec 1 | paste -sd, -)
psql_at "$DST" -c "${SRC_DDL/CREATE TABLE residents/CREATE TABLE residents_copy}" >/dev/null || die "baseline table"
RESULTS="$BENCH_TMP/results.tsv"
: >"$RESULTS"
copy_baseline() {
  local run="$1" t0 s
  psql_at "$DST" -c "TRUNCATE residents_copy" >/dev/null
  log "COPY baseline, run $run"
  t0=$(now)
  psql_at "$SRC" -c "COPY residents ($COLS) TO STDOUT" | psql_at "$DST" -c "COPY residents_copy ($COLS) FROM STDIN" >/dev/null ||
    die "COPY baseline"
  s=$(elapsed "$t0" "$(now)")
  local n
  n=$(psql_at "$DST" -c "SELECT count(*) FROM residents_copy")
  [[ "$n" == "$ROWS" ]] || die "the COPY baseline copied $n rows, not $ROWS"
  log "COPY baseline, run $run: $ROWS rows in $s s"
  printf 'psql COPY out → psql COPY in (baseline, run %s)\t%s\t%s\n' "$run" "$ROWS" "$s" >>"$RESULTS"
}
copy_baseline 1

# 3. The platform (`shuqiao demo`: SQLite in the work directory, or PostgreSQL) and the two departments' nodes.
export SHUQIAO_SYNC_BATCH_ROWS="$BATCH"
if [[ "$STORE" == postgres ]]; then
  create_db "$STORE_DB"
  export SHUQIAO_DATABASE="$PG/$STORE_DB"
fi
# The first start seeds the demo (departments, users, entries, search index) and is stopped: the measured process is
# the second start, as a platform that has been running, without the seeding's memory.
seed_demo "$BENCH_TMP/data"
PORT="$(free_port)"
start_server demo "$BENCH_TMP/data" "$PORT" "$BENCH_TMP/demo.log" 300
unset SHUQIAO_DATABASE
API="$BASE/api/v1"
GAT_ADMIN=$(wd_login gat_admin); SCJG_ADMIN=$(wd_login scjg_admin); CAT=$(wd_login gat_catalog)
AUTH=$(wd_login authority); USER=$(wd_login scjg_user); REVIEW=$(wd_login gat_review)

GAT_PUBLIC=$("$SHUQIAO" node keygen --out "$BENCH_TMP/gat.key" 2>>"$BENCH_TMP/keygen.log")
GAT_NODE=$(wd_register_node "$GAT_ADMIN" "公安厅前置节点（库表交换压测）" "$GAT_PUBLIC")
SCJG_PUBLIC=$("$SHUQIAO" node keygen --out "$BENCH_TMP/scjg.key" 2>>"$BENCH_TMP/keygen.log")
SCJG_NODE=$(wd_register_node "$SCJG_ADMIN" "市场监管局前置节点（库表交换压测）" "$SCJG_PUBLIC")
cat >"$BENCH_TMP/gat.toml" <<EOF
platform = "$BASE"
key_file = "$BENCH_TMP/gat.key"
node_id = "$GAT_NODE"
max_sync_rows = $BATCH

[[source]]
name = "hukou"
url = "$SRC"
EOF
cat >"$BENCH_TMP/scjg.toml" <<EOF
platform = "$BASE"
key_file = "$BENCH_TMP/scjg.key"
node_id = "$SCJG_NODE"

[target]
url = "$DST"
EOF
"$SHUQIAO" node --config "$BENCH_TMP/gat.toml" >"$BENCH_TMP/gat-node.log" 2>&1 &
GAT_PID=$!
BENCH_PIDS+=("$GAT_PID")
"$SHUQIAO" node --config "$BENCH_TMP/scjg.toml" >"$BENCH_TMP/scjg-node.log" 2>&1 &
SCJG_PID=$!
BENCH_PIDS+=("$SCJG_PID")
wd_wait_connected "$GAT_ADMIN" "$GAT_NODE" || { tail -20 "$BENCH_TMP/gat-node.log" >&2; die "the provider's node did not connect"; }
wd_wait_connected "$SCJG_ADMIN" "$SCJG_NODE" || { tail -20 "$BENCH_TMP/scjg-node.log" >&2; die "the consumer's node did not connect"; }
log "nodes connected: 公安厅 $GAT_NODE, 市场监管局 $SCJG_NODE"

# 4. 公安厅's entry with the 12 items (sync among its share modes), published; the table mounted and checked;
#    市场监管局 applies for every item in the sync mode; 公安厅's reviewer approves (no masking: the key item
#    must stay clear, and the target is compared with the source).
ITEMS_JSON=$(paste -d'|' <(spec 3) <(spec 4) <(spec 5) | python3 -c '
import json, sys
print(json.dumps([{"name": n, "data_type": t, "length": int(l), "basic": i < 2, "share_type": None,
                   "grade": "重要" if i == 0 else None}
                  for i, (n, t, l) in enumerate(line.rstrip("\n").split("|") for line in sys.stdin)], ensure_ascii=False))')
ITEM_NAMES=$(echo "$ITEMS_JSON" | json '[i["name"] for i in d]')
COLUMN_MAP=$(paste -d'|' <(spec 3) <(spec 1) | python3 -c '
import json, sys
print(json.dumps(dict(line.rstrip("\n").split("|") for line in sys.stdin), ensure_ascii=False))')
CODE=$(api POST catalog "$CAT" '{
  "code": "301001", "class": {"lei": 3, "xiang": 1, "mu": 1, "ximu": null},
  "name": "常住人口基本信息（库表交换压测）", "summary": "常住人口的身份、户籍和登记信息，由公安厅前置节点按库表交换提供。",
  "format": {"category": "数据库", "type": "PostgreSQL"},
  "items": '"$ITEMS_JSON"',
  "share": {"type": "conditional", "condition": "仅限市场主体登记业务使用", "legal_basis": null, "modes": ["query", "sync"]},
  "open": {"open": false, "condition": null}, "update_cycle": "daily", "related": [], "secret": false}' | json 'd["code"]')
api POST "catalog/$CODE/submit" "$CAT" '{}' >/dev/null
api POST "catalog/$CODE/publish" "$AUTH" '{}' >/dev/null
api PUT "catalog/$CODE/mount" "$CAT" '{
  "kind": "table", "node": "'"$GAT_NODE"'", "source": {"name": "hukou", "table": "residents"},
  "key_columns": ["'"$KEY_COLUMN"'"], "change_column": "'"$CHANGE_COLUMN"'", "column_map": '"$COLUMN_MAP"'}' >/dev/null
CHECK=$(api POST "catalog/$CODE/mount/check" "$CAT" '{}')
[[ "$(echo "$CHECK" | json 'd["ok"]')" == true ]] || die "mount check: $CHECK"
APP=$(api POST applications "$USER" '{
  "resource": "'"$CODE"'", "items": '"$ITEM_NAMES"', "modes": ["sync"],
  "valid_until": "'"$(date -d '+180 days' +%F)"'", "expected_volume": '"$ROWS"',
  "purpose": {"kind": "business_collaboration", "text": "市场主体登记中核对经营者户籍信息"},
  "basis": "《市场主体登记管理条例》第十六条"}' | json 'd["id"]')
GRANT=$(api POST "applications/$APP/approve" "$REVIEW" '{}' | json 'd["grant"]["id"]')
log "entry $CODE mounted and checked; application $APP approved, grant $GRANT"

# 5. The sync, timed from POST /subscriptions until the target has ROWS rows (SELECT count(*)) and the
#    subscription's lag is 0 rows, polled every 0.5 s. Resident memory of the three processes is sampled every
#    second meanwhile (bounded by SYNC_TIMEOUT).
RSS_LOG="$BENCH_TMP/rss.tsv"
STOP_SAMPLING="$BENCH_TMP/stop-sampling"
(
  for _ in $(seq 1 $((SYNC_TIMEOUT + 60))); do
    [[ ! -e "$STOP_SAMPLING" ]] || break
    line="$(date +%s)"
    for pid in "$SERVER_PID" "$GAT_PID" "$SCJG_PID"; do
      line+=$'\t'"$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
    done
    echo "$line" >>"$RSS_LOG"
    sleep 1
  done
) &
BENCH_PIDS+=("$!")
# cpu_seconds PID: user + system CPU time of the process so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0
}
CPU0=("$(cpu_seconds "$SERVER_PID")" "$(cpu_seconds "$GAT_PID")" "$(cpu_seconds "$SCJG_PID")")

target_count() { psql_at "$DST" -c "SELECT count(*) FROM residents_sync" 2>/dev/null || echo 0; }
log "POST /subscriptions (batches of $BATCH rows)"
T0=$(now)
SUB=$(api POST subscriptions "$USER" \
  '{"grant": "'"$GRANT"'", "node": "'"$SCJG_NODE"'", "target_table": "residents_sync"}' | json 'd["id"]')
DEADLINE=$((SECONDS + SYNC_TIMEOUT))
NEXT_LOG=$((SECONDS + 5))
COUNT=0
while :; do
  VIEW=$(api GET "subscriptions/$SUB" "$USER")
  LAG=$(echo "$VIEW" | json 'd["lag"]["rows"]')
  # The target is counted when the platform says nothing lags (which the end needs anyway), and for the progress
  # line: a count(*) of a million rows every 0.5 s would take CPU from the run it measures.
  if [[ "$LAG" == 0 ]] || ((SECONDS >= NEXT_LOG)); then
    COUNT=$(target_count)
  fi
  if [[ "$COUNT" == "$ROWS" && "$LAG" == 0 ]]; then
    T1=$(now)
    break
  fi
  if ((SECONDS >= NEXT_LOG)); then
    log "target $COUNT rows; $(echo "$VIEW" | json '"lag %s rows, %s batches; checkpoint %s of %s published%s%s" % (
      d["lag"]["rows"], d["lag"]["batches"], d["checkpoint"], d["published"],
      "; held: " + d["held"] if d["held"] else "", "; last error: " + d["last_error"] if d["last_error"] else "")')"
    NEXT_LOG=$((SECONDS + 5))
  fi
  if ((SECONDS >= DEADLINE)); then
    echo "$VIEW" | json 'd' >&2
    tail -5 "$BENCH_TMP/demo.log" "$BENCH_TMP/gat-node.log" "$BENCH_TMP/scjg-node.log" >&2
    die "the target has $COUNT of $ROWS rows (lag $LAG) after ${SYNC_TIMEOUT} s"
  fi
  sleep 0.5
done
SYNC_S=$(elapsed "$T0" "$T1")
CPU1=("$(cpu_seconds "$SERVER_PID")" "$(cpu_seconds "$GAT_PID")" "$(cpu_seconds "$SCJG_PID")")
touch "$STOP_SAMPLING"
printf 'platform: provider node → platform → consumer node\t%s\t%s\n' "$ROWS" "$SYNC_S" >>"$RESULTS"
log "synced $ROWS rows in $SYNC_S s"
HWM=()
for pid in "$SERVER_PID" "$GAT_PID" "$SCJG_PID"; do
  HWM+=("$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)")
done
VIEW=$(api GET "subscriptions/$SUB" "$USER")
BATCHES=$(api GET "subscriptions/$SUB/batches?limit=500" "$USER")
echo "$VIEW" | json 'd' >"$BENCH_TMP/subscription.json"
echo "$BATCHES" | json 'd' >"$BENCH_TMP/batches.json"

copy_baseline 2

# 6. The check: same count and checksum of every column in the source, the synced table and the baseline's copy;
#    the target's columns are the 12 items.
log "checking the target against the source"
DST_SUM=$(psql_at "$DST" -c "$(checksum_sql residents_sync 3)")
COPY_SUM=$(psql_at "$DST" -c "$(checksum_sql residents_copy 1)")
DST_COLS=$(psql_at "$DST" -c "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_name = 'residents_sync'")
DST_SIZE=$(psql_at "$DST" -c "SELECT pg_size_pretty(pg_table_size('residents_sync'))")

# 7. Report.
python3 - "$RESULTS" "$RSS_LOG" "$ROWS" "$BATCH" "$STORE" "$SRC_SUM" "$DST_SUM" "$COPY_SUM" "$DST_COLS" \
  "${HWM[@]}" "${CPU0[@]}" "${CPU1[@]}" "$BENCH_TMP/subscription.json" "$BENCH_TMP/batches.json" \
  "$GEN_S" "$SRC_SIZE" "$DST_SIZE" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'EOF'
import json, sys
(results, rss_log, rows, batch, store, src_sum, dst_sum, copy_sum, dst_cols, *rest) = sys.argv[1:]
hwm, cpu0, cpu1 = rest[0:3], rest[3:6], rest[6:9]
sub_file, batches_file, gen_s, src_size, dst_size, load = rest[9:]
rows = int(rows)
runs = [line.rstrip("\n").split("\t") for line in open(results)]
print(f"\nTable sync: {rows:,} rows × 12 columns, PostgreSQL → PostgreSQL (source table {src_size}, target {dst_size}); "
      f"batches of {int(batch):,} rows; platform store {store}\n")
print("| run | rows | seconds | rows/s |")
print("|---|---|---|---|")
rate = {}
for label, n, s in runs:
    r = int(n) / float(s)
    rate.setdefault("copy" if label.startswith("psql") else "platform", []).append(r)
    bold = "**" if label.startswith("platform") else ""
    print(f"| {bold}{label}{bold} | {int(n):,} | {float(s):.2f} | {bold}{r:,.0f}{bold} |")
platform = rate["platform"][0]
copy_best = max(rate["copy"])
ratio = platform / copy_best
print(f"\nratio platform / COPY (the faster baseline run): {ratio:.3f}")
samples = [list(map(int, l.split("\t")[1:])) for l in open(rss_log) if l.strip()]
names = ["platform (shuqiao demo)", "provider node (公安厅)", "consumer node (市场监管局)"]
peaks = [max((s[i] for s in samples), default=0) / 1024 for i in range(3)]
first = samples[0] if samples else [0, 0, 0]
print(f"\n| process | RSS at the start of the sync (MB) | peak RSS during the sync (MB, {len(samples)} samples, 1/s) "
      f"| VmHWM at the end (MB) | CPU s during the sync |")
print("|---|---|---|---|---|")
for i, name in enumerate(names):
    print(f"| {name} | {first[i] / 1024:.1f} | {peaks[i]:.1f} | {int(hwm[i]) / 1024:.1f} | "
          f"{float(cpu1[i]) - float(cpu0[i]):.1f} |")
sub = json.load(open(sub_file))
batches = json.load(open(batches_file))["items"]
kinds = {}
for b in batches:
    kinds[b["kind"]] = kinds.get(b["kind"], 0) + 1
print(f"\nsubscription: checkpoint {sub['checkpoint']} of {sub['published']} published, full passes {sub['full_passes']}, "
      f"rows upserted {sub['rows_upserted']:,}, lag {sub['lag']}, phase {sub['phase']}, last error {sub['last_error']}; "
      f"batches by kind (first 500): {kinds}")
from datetime import datetime
def at(t):
    return datetime.fromisoformat(t.replace("Z", "+00:00"))
applied = [b for b in batches if b["applied_at"]]
if applied:
    span = (max(at(b["applied_at"]) for b in applied) - min(at(b["read_at"]) for b in batches)).total_seconds()
    upserted = sum(b["upserts"] for b in applied)
    print(f"the platform's own span, first batch read → last batch applied: {span:.2f} s "
          f"({upserted:,} rows upserted by {len(applied)} batches)")
    if upserted != sub["rows_upserted"]:
        print(f"NOTE: the subscription's rows_upserted ({sub['rows_upserted']:,}) is not the sum of its applied "
              f"batches' upserts ({upserted:,})")
print(f"target columns: {dst_cols}")
same = src_sum == dst_sum
print(f"\nchecksum (count, sum of md5 slices over the 12 columns): source {src_sum}; "
      f"synced {dst_sum} ({'equal' if same else 'DIFFERENT'}); COPY baseline {copy_sum} "
      f"({'equal' if copy_sum == src_sum else 'DIFFERENT'})")
mem_max = max(max(peaks), max(int(h) / 1024 for h in hwm))
ok_rate, ok_ratio, ok_mem = platform >= 100_000, ratio >= 0.3, mem_max < 200
print(f"\n| target | measured | |\n|---|---|---|")
print(f"| ≥ 100,000 rows/s end to end | {platform:,.0f} rows/s | {'met' if ok_rate else 'MISSED'} |")
print(f"| ≥ 0.3× psql COPY out → psql COPY in | {ratio:.3f}× | {'met' if ok_ratio else 'MISSED'} |")
print(f"| RSS of each process < 200 MB | {mem_max:.1f} MB (largest peak) | {'met' if ok_mem else 'MISSED'} |")
print(f"| target equals source | {'yes' if same else 'NO'} | {'met' if same else 'MISSED'} |")
print(f"\nsource generated in {float(gen_s):.1f} s; load average at the end: {load}")
sys.exit(0 if same else 1)
EOF
