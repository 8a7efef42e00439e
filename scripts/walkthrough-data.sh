#!/usr/bin/env bash
# Exchange data with a front-end node, end to end, against a running `shuqiao demo` (default
# http://127.0.0.1:8080; the first argument names another). Starts nothing but the node itself (stopped at exit).
#
#   公安厅 (provider): a sample SQLite database with a `residents` table → `shuqiao node keygen` → the department
#   administrator registers the node → node.toml → `shuqiao node` in the background → the cataloger compiles a
#   conditional entry, the authority publishes it → the cataloger mounts the table on the entry and checks it;
#   市场监管局 (consumer): applies; 公安厅's reviewer approves with masking; the consumer queries one person by ID
#   number (masked answer) and verifies a record; the security auditor looks up who used that person's data.
#
#   scripts/walkthrough-data.sh [BASE_URL]
#   SHUQIAO=/path/to/shuqiao scripts/walkthrough-data.sh      # the binary, if `shuqiao` is not on PATH
#   WORK=/some/dir scripts/walkthrough-data.sh                # keep the database, key and node.toml there
#
# bench/gateway.sh sources this file for its functions (nothing runs when it is sourced).
set -euo pipefail

WD_PASSWORD="Demo@2026"

# The Python interpreter itself, resolved once: `python3` may be a version manager's shim (a shell script that
# starts another process before Python), which costs a benchmark's polling loops CPU the run needs.
WD_PYTHON="${WD_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"

# json EXPR: evaluates a Python expression over the JSON document on stdin (`d`), prints the result.
json() { "$WD_PYTHON" -S -c "import sys,json; d=json.load(sys.stdin); r=eval(sys.argv[1], {'d': d}); print(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))" "$1"; }

# api METHOD PATH TOKEN [BODY]: one call of $API; prints the answer, fails (with the answer) unless 2xx.
api() {
  local method="$1" path="$2" token="$3" body="${4:-}" out code
  local args=(-sS --max-time 30 -X "$method" -H "authorization: Bearer $token" -w '\n%{http_code}')
  [[ -z "$body" ]] || args+=(-H 'content-type: application/json' --data-binary "$body")
  out=$(curl "${args[@]}" "$API/$path")
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  if [[ "$code" != 2* ]]; then
    echo "$method $path → $code: $out" >&2
    return 1
  fi
  printf '%s\n' "$out"
}

wd_login() {
  curl -sS --max-time 10 "$API/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"$WD_PASSWORD\"}" | json 'd["token"]'
}

# wd_id_card FIRST17: the GB 11643 check digit appended.
wd_id_card() {
  python3 -c '
import sys
s = sys.argv[1]
w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
print(s + "10X98765432"[sum(int(c) * k for c, k in zip(s, w)) % 11])' "$1"
}

# wd_sample_db FILE: a `residents` table with a few people (ID numbers with valid check digits).
wd_sample_db() {
  python3 - "$1" <<'EOF'
import sqlite3, sys
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
def id_card(s):
    return s + "10X98765432"[sum(int(c) * k for c, k in zip(s, W)) % 11]
people = [
    ("13010219800101001", "张三", "13812345678", "河北省石家庄市长安区建设北大街1号"),
    ("13010419850315002", "李秀英", "13931112222", "河北省石家庄市桥西区自强路22号"),
    ("13060219790722003", "王建国", "15803123333", "河北省保定市竞秀区朝阳北大街108号"),
    ("13020319920909004", "刘洋", "18633154444", "河北省唐山市路北区建设路56号"),
    ("13110219880101005", "欧阳红梅", "13703185555", "河北省衡水市桃城区人民西路9号"),
]
db = sqlite3.connect(sys.argv[1])
db.execute("CREATE TABLE residents (sfzh TEXT PRIMARY KEY, xm TEXT NOT NULL, lxdh TEXT, hjdz TEXT, updated_at TEXT NOT NULL)")
db.executemany("INSERT INTO residents VALUES (?, ?, ?, ?, '2026-11-01T08:00:00+08:00')",
               [(id_card(i), n, t, a) for i, n, t, a in people])
db.commit()
EOF
}

# wd_register_node ADMIN_TOKEN NAME PUBLIC_KEY → the node id.
wd_register_node() {
  api POST nodes "$1" "{\"name\": \"$2\", \"public_key\": \"$3\"}" | json 'd["id"]'
}

# wd_node_config FILE NODE_ID KEY_FILE DB_FILE: node.toml with one SQLite source named `hukou`.
wd_node_config() {
  cat >"$1" <<EOF
platform = "$BASE"
key_file = "$3"
node_id = "$2"

[[source]]
name = "hukou"
url = "sqlite://$4"
EOF
}

# wd_wait_connected ADMIN_TOKEN NODE_ID: until GET /nodes shows the node connected (at most 30 s).
wd_wait_connected() {
  local i
  for i in $(seq 1 150); do
    if [[ "$(api GET nodes "$1" | json "[n['connected'] for n in d['items'] if n['id'] == '$2'] == [True]")" == true ]]; then
      return 0
    fi
    sleep 0.2
  done
  echo "node $2 did not connect within 30 s" >&2
  return 1
}

# wd_entry CATALOG_TOKEN AUTHORITY_TOKEN NAME → the code of a new published conditional entry (类 3) of the
# cataloger's department with the four items of the residents table.
wd_entry() {
  local code
  code=$(api POST catalog "$1" '{
    "code": "301001", "class": {"lei": 3, "xiang": 1, "mu": 1, "ximu": null},
    "name": "'"$3"'", "summary": "常住人口的身份号码、姓名、联系电话和户籍地址，由公安厅前置节点在线提供。",
    "format": {"category": "数据库", "type": "SQLite"},
    "items": [
      {"name": "公民身份号码", "data_type": "C", "length": 18, "basic": false, "share_type": null, "grade": "重要"},
      {"name": "姓名", "data_type": "C", "length": 50, "basic": false, "share_type": null, "grade": null},
      {"name": "联系电话", "data_type": "C", "length": 20, "basic": false, "share_type": null, "grade": null},
      {"name": "户籍地址", "data_type": "C", "length": 200, "basic": false, "share_type": null, "grade": null}],
    "share": {"type": "conditional", "condition": "仅限身份核验业务使用", "legal_basis": null, "modes": ["query", "verify"]},
    "open": {"open": false, "condition": null}, "update_cycle": "daily", "related": [], "secret": false}' | json 'd["code"]')
  api POST "catalog/$code/submit" "$1" '{}' >/dev/null
  api POST "catalog/$code/publish" "$2" '{}' >/dev/null
  echo "$code"
}

# wd_mount CATALOG_TOKEN CODE NODE_ID → the check's answer (fails unless ok).
wd_mount() {
  api PUT "catalog/$2/mount" "$1" '{
    "kind": "table", "node": "'"$3"'", "source": {"name": "hukou", "table": "residents"},
    "key_columns": ["sfzh"], "change_column": "updated_at",
    "column_map": {"公民身份号码": "sfzh", "姓名": "xm", "联系电话": "lxdh", "户籍地址": "hjdz"}}' >/dev/null
  local check
  check=$(api POST "catalog/$2/mount/check" "$1" '{}')
  if [[ "$(echo "$check" | json 'd["ok"]')" != true ]]; then
    echo "mount check failed: $check" >&2
    return 1
  fi
  echo "$check"
}

# wd_apply CONSUMER_TOKEN CODE → the application id (items: all four; modes: query and verify).
wd_apply() {
  api POST applications "$1" '{
    "resource": "'"$2"'", "items": ["公民身份号码", "姓名", "联系电话", "户籍地址"], "modes": ["query", "verify"],
    "valid_until": "'"$(date -d '+180 days' +%F)"'", "expected_volume": 1000,
    "purpose": {"kind": "data_verification", "text": "企业开办登记中核验法定代表人身份"},
    "basis": "《市场主体登记管理条例》第十六条"}' | json 'd["id"]'
}

# wd_approve REVIEWER_TOKEN APPLICATION_ID [QUOTA_JSON] → the approval's answer, masking every item.
wd_approve() {
  local quota=""
  [[ -z "${3:-}" ]] || quota=", \"quota\": $3"
  api POST "applications/$2/approve" "$1" \
    '{"masking": {"公民身份号码": "id_card", "姓名": "name", "联系电话": "phone", "户籍地址": "address"}'"$quota"'}'
}

wd_main() {
  BASE="${1:-http://127.0.0.1:8080}"
  BASE="${BASE%/}"
  API="$BASE/api/v1"
  local shuqiao="${SHUQIAO:-shuqiao}"
  command -v "$shuqiao" >/dev/null || { echo "no shuqiao binary: put it on PATH or set SHUQIAO" >&2; exit 1; }
  curl -sf --max-time 5 "$BASE/readyz" >/dev/null || { echo "no platform at $BASE (start: shuqiao demo)" >&2; exit 1; }
  local work="${WORK:-}"
  if [[ -z "$work" ]]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/shuqiao-walkthrough.XXXXXX")
    WD_CLEAN="$work"
  fi
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  WD_NODE_PID=""
  trap 'if [[ -n "$WD_NODE_PID" ]]; then kill "$WD_NODE_PID" 2>/dev/null || true; wait "$WD_NODE_PID" 2>/dev/null || true; fi; [[ -z "${WD_CLEAN:-}" ]] || rm -rf "$WD_CLEAN"' EXIT
  trap 'exit 130' INT TERM

  local ADMIN CAT AUTH USER REVIEW AUDITOR
  ADMIN=$(wd_login gat_admin); CAT=$(wd_login gat_catalog); AUTH=$(wd_login authority)
  USER=$(wd_login scjg_user); REVIEW=$(wd_login gat_review); AUDITOR=$(wd_login auditor)

  echo "== 1. 公安厅's data: $work/hukou.db, table residents"
  rm -f "$work/hukou.db"
  wd_sample_db "$work/hukou.db"
  python3 -c 'import sqlite3,sys; [print("  ", *r) for r in sqlite3.connect(sys.argv[1]).execute("SELECT sfzh, xm, lxdh, hjdz FROM residents")]' "$work/hukou.db"

  echo "== 2. node key (the secret stays in node.key) and registration by gat_admin"
  local key="$work/node-$$.key" public node
  public=$("$shuqiao" node keygen --out "$key")
  node=$(wd_register_node "$ADMIN" "公安厅前置节点（示例 $$）" "$public")
  echo "   public key $public → node $node"

  echo "== 3. node.toml, and the node started in the background"
  wd_node_config "$work/node.toml" "$node" "$key" "$work/hukou.db"
  sed 's/^/   /' "$work/node.toml"
  SHUQIAO_LOG=warn "$shuqiao" node --config "$work/node.toml" 2>"$work/node.log" &
  WD_NODE_PID=$!
  wd_wait_connected "$ADMIN" "$node"
  api GET nodes "$ADMIN" | json "[(n['name'], n['connected']) for n in d['items'] if n['id'] == '$node'][0]" | sed 's/^/   connected: /'

  echo "== 4. gat_catalog compiles a conditional entry, the authority publishes it"
  local code
  code=$(wd_entry "$CAT" "$AUTH" "常住人口基本信息（前置节点示例）")
  echo "   entry $code (published)"

  echo "== 5. gat_catalog mounts the residents table on the entry and checks it"
  wd_mount "$CAT" "$code" "$node" | sed 's/^/   check: /'

  echo "== 6. scjg_user applies; gat_review approves with masking and a quota"
  local app
  app=$(wd_apply "$USER" "$code")
  echo "   application $app"
  wd_approve "$REVIEW" "$app" '{"requests_per_day": 1000, "records_per_day": 5000}' |
    json '(d["status"], d["grant"]["id"], d["grant"]["masking"])' | sed 's/^/   approved: /'

  local zhang
  zhang=$(wd_id_card 13010219800101001)
  echo "== 7. scjg_user queries one person by ID number ($zhang): masked as the grant says"
  echo "   GET /api/v1/data/$code/records?公民身份号码=$zhang   (X-Shuqiao-Case: SJZ-2026-000123)"
  curl -sS --max-time 30 -G "$API/data/$code/records" --data-urlencode "公民身份号码=$zhang" \
    -H "authorization: Bearer $USER" -H 'X-Shuqiao-Case: SJZ-2026-000123' | json 'd' | sed 's/^/   /'

  echo "== 8. … and verifies a record: booleans only, never values"
  api POST "data/$code/verify" "$USER" \
    "{\"match\": {\"公民身份号码\": \"$zhang\"}, \"check\": {\"姓名\": \"张三\", \"联系电话\": \"13800000000\"}}" |
    json 'd' | sed 's/^/   /'

  echo "== 9. the security auditor: who used this person's data, for what, under which case"
  curl -sS --max-time 30 -G "$API/audit/subject" -d kind=id_card --data-urlencode "id=$zhang" \
    -H "authorization: Bearer $AUDITOR" |
    json '[(a["at"], a["action"], a["actor_name"], a["result"], a["purpose"], a["case_ref"] or "-") for a in d["items"]]' |
    python3 -c 'import sys,json; [print("  ", *r) for r in json.load(sys.stdin)]'
  api GET audit/verify "$AUDITOR" | json 'd' | sed 's/^/   chain: /'
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  wd_main "$@"
fi
