#!/usr/bin/env bash
# File exchange through the platform: upload (streamed to disk, SHA-256 checked) and download (with a resumed
# range) of one large file, against a real `shuqiao demo` (release build, SQLite), with the server's resident memory
# sampled throughout. Target: ≥ 200 MB/s for a 2 GB file with checksum, memory flat.
# Baselines in the same run, on the same file: `sha256sum` (the checksum alone), `cp` + `sync` (the disk write
# alone) and nginx (Debian package) serving the file as a static download.
#
#   bench/files.sh                 # 2048 MB
#   SIZE_MB=512 bench/files.sh
#
# Environment: SIZE_MB (2048), SHUQIAO_BIN (skip the build), CARGO_TARGET_DIR, BENCH_KEEP=1.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SIZE_MB="${SIZE_MB:-2048}"
need python3
need curl
need sha256sum
if ! command -v nginx >/dev/null 2>&1; then
  log "installing nginx (apt-get install -y nginx)"
  apt-get install -y -qq nginx >&2 || { apt-get update -qq >&2 && apt-get install -y -qq nginx >&2; } || die "nginx"
fi

bench_init
build_release
API=""
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
api() { # METHOD PATH TOKEN [BODY]
  curl -sS --max-time 60 -X "$1" "$API/$2" -H "authorization: Bearer $3" -H 'content-type: application/json' \
    ${4:+-d "$4"}
}
now() { date +%s.%N; }
rate() { python3 -c "print(f'{$SIZE_MB / ($2 - $1):.0f}')"; }
secs() { python3 -c "print(f'{$2 - $1:.2f}')"; }

# Peak resident memory of a process while a command runs: samples /proc/PID/status every 0.1 s.
SAMPLES="$BENCH_TMP/rss.txt"
sample_rss() { # PID → background sampler; stop with kill
  ( while kill -0 "$1" 2>/dev/null; do awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; sleep 0.1; done ) >>"$SAMPLES" &
  SAMPLER=$!
  BENCH_PIDS+=("$SAMPLER")
}
rss_range() { python3 -c "
v=[int(x) for x in open('$SAMPLES') if x.strip()]
print(f'{min(v)/1024:.0f}–{max(v)/1024:.0f} MB ({len(v)} samples)')"; : >"$SAMPLES"; }

FILE="$BENCH_TMP/big.bin"
log "writing $SIZE_MB MB of random bytes to $FILE"
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$FILE"
sync

# Baselines.
t0=$(now); SUM=$(sha256sum "$FILE" | cut -d' ' -f1); t1=$(now)
B_SHA="$(rate "$t0" "$t1")"
t0=$(now); cp "$FILE" "$BENCH_TMP/copy.bin" && sync; t1=$(now)
B_CP="$(rate "$t0" "$t1")"
rm -f "$BENCH_TMP/copy.bin"
NGINX_PORT="$(free_port)"
mkdir -p "$BENCH_TMP/nginx/www" "$BENCH_TMP/nginx/tmp"
ln "$FILE" "$BENCH_TMP/nginx/www/big.bin"
cat >"$BENCH_TMP/nginx/nginx.conf" <<CONF
user root;
worker_processes auto;
daemon off;
pid $BENCH_TMP/nginx/nginx.pid;
error_log $BENCH_TMP/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $BENCH_TMP/nginx/tmp;
  proxy_temp_path $BENCH_TMP/nginx/tmp;
  fastcgi_temp_path $BENCH_TMP/nginx/tmp;
  uwsgi_temp_path $BENCH_TMP/nginx/tmp;
  scgi_temp_path $BENCH_TMP/nginx/tmp;
  server { listen 127.0.0.1:$NGINX_PORT; root $BENCH_TMP/nginx/www; }
}
CONF
nginx -c "$BENCH_TMP/nginx/nginx.conf" -p "$BENCH_TMP/nginx" &
BENCH_PIDS+=("$!")
for _ in $(seq 1 50); do curl -sf -o /dev/null -r 0-0 "http://127.0.0.1:$NGINX_PORT/big.bin" && break; sleep 0.1; done
t0=$(now); curl -sSf -o "$BENCH_TMP/nginx-out.bin" "http://127.0.0.1:$NGINX_PORT/big.bin"; t1=$(now)
B_NGINX="$(rate "$t0" "$t1")"
t0=$(now); NSUM=$(sha256sum "$BENCH_TMP/nginx-out.bin" | cut -d' ' -f1); t1=$(now)
rm -f "$BENCH_TMP/nginx-out.bin"
[[ "$NSUM" == "$SUM" ]] || die "nginx served other bytes"

# The platform: an entry of 公安厅 offering files, a grant for 市场监管局.
PORT="$(free_port)"
start_server demo "$BENCH_TMP/data" "$PORT" "$BENCH_TMP/demo.log" 300
API="$BASE/api/v1"
CAT=$(login gat_catalog); AUTH=$(login authority); USER=$(login scjg_user); REVIEW=$(login gat_review)
CODE=$(api POST catalog "$CAT" '{
  "code": "301001", "class": {"lei": 3, "xiang": 1, "mu": 1, "ximu": null},
  "name": "人口普查汇总文件（压测）", "summary": "按年度汇总的人口普查数据文件，由公安厅上传到平台。",
  "format": {"category": "电子文件", "type": "bin"},
  "items": [{"name": "年度", "data_type": "N", "length": 4, "basic": false, "share_type": null, "grade": null}],
  "share": {"type": "conditional", "condition": "仅限统计分析使用", "legal_basis": null, "modes": ["file"]},
  "open": {"open": false, "condition": null}, "update_cycle": "yearly", "related": [], "secret": false}' | json 'd["code"]')
api POST "catalog/$CODE/submit" "$CAT" '{}' >/dev/null
api POST "catalog/$CODE/publish" "$AUTH" '{}' >/dev/null
APP=$(api POST applications "$USER" '{"resource": "'"$CODE"'", "items": ["年度"], "modes": ["file"],
  "valid_until": "'"$(date -d '+180 days' +%F)"'", "purpose": {"kind": "work_reference", "text": "人口统计分析"},
  "basis": "《统计法》第七条"}' | json 'd["id"]')
api POST "applications/$APP/approve" "$REVIEW" '{}' >/dev/null
log "entry $CODE, application $APP approved"

: >"$SAMPLES"
sample_rss "$SERVER_PID"
log "upload $SIZE_MB MB"
t0=$(now)
UP=$(curl -sS --max-time 3600 -X POST "$API/catalog/$CODE/files?name=big.bin" -H "authorization: Bearer $CAT" \
  -H "x-shuqiao-sha256: $SUM" -H 'content-type: application/octet-stream' -T "$FILE")
t1=$(now)
P_UP="$(rate "$t0" "$t1")"; S_UP="$(secs "$t0" "$t1")"
ID=$(echo "$UP" | json 'd["id"]') || die "upload failed: $UP"
R_UP="$(rss_range)"
log "download $SIZE_MB MB"
t0=$(now)
curl -sS --max-time 3600 -o "$BENCH_TMP/down.bin" -D "$BENCH_TMP/down.h" "$API/data/$CODE/files/$ID" \
  -H "authorization: Bearer $USER"
t1=$(now)
P_DOWN="$(rate "$t0" "$t1")"; S_DOWN="$(secs "$t0" "$t1")"
R_DOWN="$(rss_range)"
DSUM=$(sha256sum "$BENCH_TMP/down.bin" | cut -d' ' -f1)
[[ "$DSUM" == "$SUM" ]] || die "downloaded bytes differ"
HSUM=$(awk 'tolower($1)=="x-shuqiao-sha256:" {print $2}' "$BENCH_TMP/down.h" | tr -d '\r')
[[ "$HSUM" == "$SUM" ]] || die "the platform's checksum header differs"
# Resume: cut the download at half and fetch the rest with Range.
HALF=$((SIZE_MB * 1024 * 1024 / 2))
truncate -s "$HALF" "$BENCH_TMP/down.bin"
curl -sS --max-time 3600 -H "range: bytes=$HALF-" "$API/data/$CODE/files/$ID" -H "authorization: Bearer $USER" \
  >>"$BENCH_TMP/down.bin"
RSUM=$(sha256sum "$BENCH_TMP/down.bin" | cut -d' ' -f1)
[[ "$RSUM" == "$SUM" ]] && RESUME=ok || RESUME=FAILED
kill "$SAMPLER" 2>/dev/null || true
HWM=$(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' "/proc/$SERVER_PID/status")
EVENTS=$(api GET "audit/events?action=data.file&limit=10" "$(login auditor)" | json 'len(d["items"])')

cat <<OUT

File exchange: one file of $SIZE_MB MB (random bytes), SQLite platform, curl over 127.0.0.1

| what | MB/s | seconds | server RSS during |
|---|---|---|---|
| **platform upload** (streamed to disk, SHA-256 checked, fsync) | **$P_UP** | $S_UP | $R_UP |
| **platform download** (grant checked, audited) | **$P_DOWN** | $S_DOWN | $R_DOWN |
| baseline: sha256sum of the file | $B_SHA | | |
| baseline: cp + sync of the file | $B_CP | | |
| baseline: nginx static download of the file | $B_NGINX | | |

server peak RSS (VmHWM) over the whole run: $HWM
checksums: download matches the upload; resumed download (Range from the half): $RESUME; data.file events: $EVENTS
target ≥ 200 MB/s: upload $( ((P_UP >= 200)) && echo met || echo MISSED ), download $( ((P_DOWN >= 200)) && echo met || echo MISSED )
OUT
