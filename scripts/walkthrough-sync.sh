#!/usr/bin/env bash
# Table sync (库表交换), end to end, against a running `shuqiao demo` (default http://127.0.0.1:8080; the first
# argument names another). Starts nothing but the two departments' nodes (stopped at exit).
#
#   公安厅 (provider): the data walk-through's sample SQLite database (`residents`, change column `updated_at`) and
#   its node; 市场监管局 (consumer): its own node, writing an SQLite database of its own ([target]). The cataloger
#   compiles an entry with the `sync` share mode, the authority publishes it, the cataloger mounts the table and
#   checks it; scjg_user applies for the `sync` mode, gat_review approves (联系电话 masked); scjg_user subscribes
#   (POST /subscriptions) and the full pass arrives in 市场监管局's table; a row updated at the source (its
#   `updated_at` bumped) arrives as a change; the batches' provenance; the subscription cancelled.
#
#   scripts/walkthrough-sync.sh [BASE_URL]
#   SHUQIAO=/path/to/shuqiao scripts/walkthrough-sync.sh      # the binary, if `shuqiao` is not on PATH
#   WORK=/some/dir scripts/walkthrough-sync.sh                # keep the databases, keys and node.toml files there
set -euo pipefail

# The data walk-through's functions: json, api, wd_login, wd_sample_db, wd_register_node, wd_node_config,
# wd_wait_connected, wd_mount.
# shellcheck source=scripts/walkthrough-data.sh
source "$(dirname "${BASH_SOURCE[0]}")/walkthrough-data.sh"

ITEMS='["公民身份号码", "姓名", "联系电话", "户籍地址"]'

# ws_entry CATALOG_TOKEN AUTHORITY_TOKEN NAME → the code of a new published conditional entry of the residents
# table, shared by query, verification and table sync.
ws_entry() {
  local code
  code=$(api POST catalog "$1" '{
    "code": "301001", "class": {"lei": 3, "xiang": 1, "mu": 1, "ximu": null},
    "name": "'"$3"'", "summary": "常住人口的身份号码、姓名、联系电话和户籍地址，由公安厅前置节点提供，可按库表交换同步。",
    "format": {"category": "数据库", "type": "SQLite"},
    "items": [
      {"name": "公民身份号码", "data_type": "C", "length": 18, "basic": false, "share_type": null, "grade": "重要"},
      {"name": "姓名", "data_type": "C", "length": 50, "basic": false, "share_type": null, "grade": null},
      {"name": "联系电话", "data_type": "C", "length": 20, "basic": false, "share_type": null, "grade": null},
      {"name": "户籍地址", "data_type": "C", "length": 200, "basic": false, "share_type": null, "grade": null}],
    "share": {"type": "conditional", "condition": "仅限市场主体登记业务使用", "legal_basis": null,
              "modes": ["query", "verify", "sync"]},
    "open": {"open": false, "condition": null}, "update_cycle": "daily", "related": [], "secret": false}' | json 'd["code"]')
  api POST "catalog/$code/submit" "$1" '{}' >/dev/null
  api POST "catalog/$code/publish" "$2" '{}' >/dev/null
  echo "$code"
}

# ws_target_config FILE NODE_ID KEY_FILE DB_FILE: node.toml of a node that writes subscribed tables to an SQLite
# database and has no sources.
ws_target_config() {
  cat >"$1" <<EOF
platform = "$BASE"
key_file = "$3"
node_id = "$2"

[target]
url = "sqlite://$4"
EOF
}

# ws_print_table DB_FILE TABLE: the table's columns and rows, ordered by the first column.
ws_print_table() {
  python3 - "$1" "$2" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
cur = db.execute(f'SELECT * FROM "{sys.argv[2]}" ORDER BY 1')
print("  ", " | ".join(c[0] for c in cur.description))
for row in cur:
    print("  ", " | ".join("NULL" if v is None else str(v) for v in row))
EOF
}

# ws_wait SECONDS DESCRIPTION CMD…: runs CMD every 0.5 s until it succeeds (at most SECONDS).
ws_wait() {
  local secs="$1" what="$2"
  shift 2
  for _ in $(seq 1 $((secs * 2))); do
    if "$@"; then
      return 0
    fi
    sleep 0.5
  done
  echo "no $what within $secs s" >&2
  return 1
}

# ws_stop: stops the nodes started here, removes the temporary work directory.
ws_stop() {
  local pid
  for pid in "${WS_PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  [[ -z "${WS_CLEAN:-}" ]] || rm -rf "$WS_CLEAN"
}

ws_main() {
  BASE="${1:-http://127.0.0.1:8080}"
  BASE="${BASE%/}"
  API="$BASE/api/v1"
  local shuqiao="${SHUQIAO:-shuqiao}"
  command -v "$shuqiao" >/dev/null || { echo "no shuqiao binary: put it on PATH or set SHUQIAO" >&2; exit 1; }
  curl -sf --max-time 5 "$BASE/readyz" >/dev/null || { echo "no platform at $BASE (start: shuqiao demo)" >&2; exit 1; }
  local work="${WORK:-}"
  if [[ -z "$work" ]]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/shuqiao-walkthrough-sync.XXXXXX")
    WS_CLEAN="$work"
  fi
  mkdir -p "$work"
  work=$(cd "$work" && pwd)
  WS_PIDS=()
  trap ws_stop EXIT
  trap 'exit 130' INT TERM

  local GAT_ADMIN SCJG_ADMIN CAT AUTH USER REVIEW
  GAT_ADMIN=$(wd_login gat_admin); SCJG_ADMIN=$(wd_login scjg_admin); CAT=$(wd_login gat_catalog)
  AUTH=$(wd_login authority); USER=$(wd_login scjg_user); REVIEW=$(wd_login gat_review)

  echo "== 1. 公安厅's data: $work/hukou.db, table residents (change column updated_at)"
  rm -f "$work/hukou.db" "$work/received.db"
  wd_sample_db "$work/hukou.db"
  ws_print_table "$work/hukou.db" residents

  echo "== 2. two nodes: 公安厅's over hukou.db (registered by gat_admin), 市场监管局's writing received.db (scjg_admin)"
  local gat_key="$work/gat-$$.key" scjg_key="$work/scjg-$$.key" public gat_node scjg_node
  public=$("$shuqiao" node keygen --out "$gat_key" 2>>"$work/keygen.log")
  gat_node=$(wd_register_node "$GAT_ADMIN" "公安厅前置节点（同步示例 $$）" "$public")
  echo "   POST /api/v1/nodes → 公安厅 node $gat_node"
  public=$("$shuqiao" node keygen --out "$scjg_key" 2>>"$work/keygen.log")
  scjg_node=$(wd_register_node "$SCJG_ADMIN" "市场监管局前置节点（同步示例 $$）" "$public")
  echo "   POST /api/v1/nodes → 市场监管局 node $scjg_node"
  wd_node_config "$work/gat.toml" "$gat_node" "$gat_key" "$work/hukou.db"
  ws_target_config "$work/scjg.toml" "$scjg_node" "$scjg_key" "$work/received.db"
  echo "   $work/scjg.toml:"
  sed 's/^/     /' "$work/scjg.toml"
  SHUQIAO_LOG=warn "$shuqiao" node --config "$work/gat.toml" 2>"$work/gat-node.log" &
  WS_PIDS+=("$!")
  SHUQIAO_LOG=warn "$shuqiao" node --config "$work/scjg.toml" 2>"$work/scjg-node.log" &
  WS_PIDS+=("$!")
  wd_wait_connected "$GAT_ADMIN" "$gat_node"
  wd_wait_connected "$SCJG_ADMIN" "$scjg_node"
  echo "   both connected"

  echo "== 3. gat_catalog compiles an entry shared by query, verify and sync; the authority publishes it"
  local code
  code=$(ws_entry "$CAT" "$AUTH" "常住人口基本信息（库表交换示例）")
  echo "   entry $code (published)"

  echo "== 4. gat_catalog mounts the residents table (key sfzh, change column updated_at) and checks it"
  echo "   PUT /api/v1/catalog/$code/mount, POST /api/v1/catalog/$code/mount/check"
  wd_mount "$CAT" "$code" "$gat_node" | sed 's/^/   check: /'

  echo "== 5. scjg_user applies for the sync mode; gat_review approves, 联系电话 masked"
  local app grant
  app=$(api POST applications "$USER" '{
    "resource": "'"$code"'", "items": '"$ITEMS"', "modes": ["sync"],
    "valid_until": "'"$(date -d '+180 days' +%F)"'", "expected_volume": 1000,
    "purpose": {"kind": "business_collaboration", "text": "市场主体登记中核对经营者身份和住所"},
    "basis": "《市场主体登记管理条例》第十六条"}' | json 'd["id"]')
  echo "   POST /api/v1/applications {modes: [sync]} → application $app"
  grant=$(api POST "applications/$app/approve" "$REVIEW" '{"masking": {"联系电话": "phone"}}' | json 'd["grant"]["id"]')
  echo "   POST /api/v1/applications/$app/approve {masking: {联系电话: phone}} → grant $grant"

  echo "== 6. scjg_user subscribes 市场监管局's table residents_copy to the grant"
  local body sub
  body='{"grant": "'"$grant"'", "node": "'"$scjg_node"'", "target_table": "residents_copy"}'
  echo "   POST /api/v1/subscriptions $body"
  sub=$(api POST subscriptions "$USER" "$body")
  echo "$sub" | json '(d["id"], d["state"], d["items"], d["key_items"])' | sed 's/^/   → /'
  sub=$(echo "$sub" | json 'd["id"]')

  echo "== 7. the full pass arrives: GET /api/v1/subscriptions/$sub until 5 rows are applied and nothing lags"
  ws_applied() {
    api GET "subscriptions/$sub" "$USER" | json 'd["rows_upserted"] >= 5 and d["lag"]["rows"] == 0' | grep -qx true
  }
  ws_wait 60 "full pass" ws_applied
  api GET "subscriptions/$sub" "$USER" |
    json '{k: d[k] for k in ("state", "phase", "checkpoint", "published", "lag", "rows_upserted", "full_passes",
                             "caught_up_at", "held", "last_error")}' |
    sed 's/^/   /'
  echo "   $work/received.db, table residents_copy (columns named after the items, 联系电话 masked):"
  ws_print_table "$work/received.db" residents_copy

  local zhang
  zhang=$(wd_id_card 13010219800101001)
  echo "== 8. 公安厅 updates 张三's address at the source and bumps updated_at; the change arrives"
  python3 - "$work/hukou.db" "$zhang" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE residents SET hjdz = '河北省石家庄市裕华区槐安东路88号', updated_at = '2026-12-02T09:30:00+08:00' WHERE sfzh = ?",
           (sys.argv[2],))
db.commit()
EOF
  echo "   UPDATE residents SET hjdz = '河北省石家庄市裕华区槐安东路88号', updated_at = '2026-12-02T09:30:00+08:00' WHERE sfzh = '$zhang'"
  ws_arrived() {
    python3 - "$work/received.db" "$zhang" <<'EOF'
import sqlite3, sys
row = sqlite3.connect(sys.argv[1]).execute('SELECT "户籍地址" FROM residents_copy WHERE "公民身份号码" = ?', (sys.argv[2],)).fetchone()
sys.exit(0 if row and row[0] == "河北省石家庄市裕华区槐安东路88号" else 1)
EOF
  }
  ws_wait 60 "change" ws_arrived
  ws_print_table "$work/received.db" residents_copy

  echo "== 9. provenance: GET /api/v1/subscriptions/$sub/batches (read at the provider, published, applied)"
  api GET "subscriptions/$sub/batches" "$USER" |
    json '[(b["seq"], b["kind"], b["upserts"], b["deletes"], b["checksum"][:16] + "…", b["applied_at"]) for b in d["items"]]' |
    python3 -c 'import sys,json; [print("  ", *r) for r in json.load(sys.stdin)]'

  echo "== 10. scjg_user cancels the subscription (the table stays; nothing more is delivered)"
  echo "   POST /api/v1/subscriptions/$sub/cancel"
  api POST "subscriptions/$sub/cancel" "$USER" '{}' | json 'd["state"]' | sed 's/^/   → /'
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  ws_main "$@"
fi
