#!/usr/bin/env bash
# The README's sharing walk-through as a script: run it against a `shuqiao demo` (default http://127.0.0.1:8080).
# A consumer of 市场监管局 applies for a conditional resource of 公安厅, the reviewer of 公安厅 approves it with
# masking and a quota, the consumer sees the grant, and the security auditor verifies the audit chain.
set -euo pipefail
BASE="${1:-http://127.0.0.1:8080}"
API="$BASE/api/v1"
json() { python3 -c "import sys,json; d=json.load(sys.stdin); print(eval(sys.argv[1], {'d': d}))" "$1"; }
login() { curl -sf "$API/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"$1\",\"password\":\"Demo@2026\"}" | json 'd["token"]'; }

USER=$(login scjg_user); REVIEW=$(login gat_review); AUDITOR=$(login auditor)
GAT=$(curl -sf "$API/me" -H "authorization: Bearer $REVIEW" | json 'd["department"]["id"]')

# 1. Find a conditional departmental resource (类 3) of 公安厅 whose items are all shareable (basic items of basic
#    resources are unconditional, and an application for only those is granted at once).
ENTRY=$(curl -sf -G "$API/catalog" --data-urlencode "provider=$GAT" -d share_type=conditional -d status=published -d class=3 \
  -d limit=50 -H "authorization: Bearer $USER" |
  json '[e for e in d["items"] if all(i["share_type"] != "not_shared" for i in e["items"])][0]')
CODE=$(echo "$ENTRY" | python3 -c "import sys,ast; print(ast.literal_eval(sys.stdin.read())['code'])")
ITEMS=$(echo "$ENTRY" | python3 -c "import sys,ast,json; print(json.dumps([i['name'] for i in ast.literal_eval(sys.stdin.read())['items'][:2]], ensure_ascii=False))")
MODE=$(echo "$ENTRY" | python3 -c "import sys,ast; print(ast.literal_eval(sys.stdin.read())['share']['modes'][0])")
echo "resource $CODE, items $ITEMS, mode $MODE"

# 2. The consumer applies, stating purpose and basis; a conditional resource gets a deadline in working days.
APP=$(curl -sf "$API/applications" -H "authorization: Bearer $USER" -H 'content-type: application/json' -d "{
  \"resource\": \"$CODE\", \"items\": $ITEMS, \"modes\": [\"$MODE\"], \"valid_until\": \"$(date -d '+180 days' +%F)\",
  \"purpose\": {\"kind\": \"administrative_basis\", \"text\": \"企业开办审批中核验法定代表人身份\"},
  \"basis\": \"《市场主体登记管理条例》第十七条\"}")
ID=$(echo "$APP" | json 'd["id"]')
echo "application $ID: $(echo "$APP" | json 'd["status"]'), answer due $(echo "$APP" | json 'd["deadline"]')"

# 3. It waits in the provider reviewer's inbox; the reviewer approves with masking and a quota.
curl -sf "$API/inbox" -H "authorization: Bearer $REVIEW" | json '[(i["kind"], i["deadline"]) for i in d["items"]][:3]'
FIRST=$(echo "$ITEMS" | json 'd[0]')
curl -sf -X POST "$API/applications/$ID/approve" -H "authorization: Bearer $REVIEW" -H 'content-type: application/json' \
  -d "{\"masking\": {\"$FIRST\": \"redact\"}, \"quota\": {\"requests_per_day\": 1000, \"records_per_day\": 5000}}" |
  json '("approved:", d["status"], "grant", d["grant"]["id"], d["grant"]["masking"])'

# 4. The consumer's department now holds the grant.
curl -sf "$API/grants?as=consumer" -H "authorization: Bearer $USER" | json '[(g["resource"], g["status"], g["valid_until"]) for g in d["items"]][:3]'

# 5. The security auditor verifies the hash chain and sees the events.
curl -sf "$API/audit/verify" -H "authorization: Bearer $AUDITOR" | json 'd'
curl -sf "$API/audit/events?limit=4" -H "authorization: Bearer $AUDITOR" | json '[(e["seq"], e["action"], e["actor_name"]) for e in d["items"]]'
