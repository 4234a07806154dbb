#!/usr/bin/env bash
# Measures the service's memory the way docs/OPERATIONS.md ("Memory") chose MemoryMax: on the
# scale dataset (100,000 items, 20,000 members) kept by the harness, the binary started on it,
# 200 "待办" as the demo secretary, then "导出 台账 2026" (the year's XLSX for the whole street)
# as the street secretary, its link fetched; /proc/<pid>/status read after each step.
#
#   go run ./bench/harness -scenario scale -quick -redis off -keep -out -   # prints the kept dir
#   go build -o /tmp/neighborbot ./cmd/neighborbot
#   bench/servicemem.sh /tmp/neighborbot-bench-NNN/data-bolt /tmp/neighborbot
set -euo pipefail
DATA=$1
BIN=${2:-/usr/bin/neighborbot}
PORT=${PORT:-18940}
BASE=http://127.0.0.1:$PORT
mem() { grep -E '^(VmRSS|VmHWM|RssAnon|RssFile)' "/proc/$PID/status" | tr -s ' \t' ' ' | tr '\n' ' '; echo; }
post() {
	curl -s -X POST "$BASE/local/messages?wait=$3" -H 'Content-Type: application/json' \
		-d "{\"group\":\"local:xingfuli\",\"user\":\"$1\",\"text\":\"$2\"}"
}
NEIGHBORBOT_CONFIG= NEIGHBORBOT_DATA=$DATA NEIGHBORBOT_ADDR=127.0.0.1:$PORT NEIGHBORBOT_PUBLIC_URL=$BASE \
	NEIGHBORBOT_LOG_LEVEL=warn "$BIN" serve >/dev/null 2>&1 &
PID=$!
trap 'kill -TERM $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sf "$BASE/readyz" >/dev/null && break; sleep 0.2; done
sleep 1
echo "after start: $(mem)"
for _ in $(seq 1 200); do post local:wang 待办 5s >/dev/null; done
echo "after 200 待办: $(mem)"
url=$(post local:zhou "导出 台账 2026" 120s | grep -o "$BASE/[^\" \\\\]*" | head -1)
curl -s -o /dev/null -w 'xlsx %{size_download} bytes in %{time_total}s\n' "$url"
echo "after the yearly export: $(mem)"
