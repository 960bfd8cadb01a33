#!/usr/bin/env bash
# Benchmark (issue 14): pulling and backfilling. First the pull: `slo data
# pull` of the raw series the catalogue reads over the range (remote read,
# raw samples) against a `query_range` export of the same metrics at the
# data's 30s resolution (what users script today), in samples/s. Then
# backfilling the shipped catalogue's recorded series
# over DAYS days of the shipped data, `slo backfill` against `promtool tsdb
# create-blocks-from rules` (the only other tool) on the same rules, range
# and server, in one run; prints both times and their ratio.
#
# A Prometheus 2.42 server (Debian's package) serves examples/data through
# a TSDB built by `slo data export` + `promtool tsdb create-blocks-from
# openmetrics`. promtool evaluates each rule with a query_range over the
# server; it cannot see rules of the same group that feed each other (its
# output for chained rules is empty or wrong) and ignores alerts, so it
# does less work than slo, which writes every recorded series, ALERTS and
# ALERTS_FOR_STATE.
#
#   bash bench/backfill.sh [SLO_BINARY] [DAYS]     # default: target/release/slo, 1 day
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/slo}
DAYS=${2:-1}
PROMETHEUS=${PROMETHEUS:-/usr/bin/prometheus}
PROMTOOL=${PROMTOOL:-/usr/bin/promtool}
[ -x "$BIN" ] || { echo "no $BIN: cargo build --release" >&2; exit 2; }
W=$(mktemp -d)
trap 'kill $PID 2>/dev/null || true; rm -rf "$W"' EXIT

"$BIN" data export examples/data/platform.parquet --out "$W/data.om" 2>/dev/null
"$PROMTOOL" tsdb create-blocks-from openmetrics --max-block-duration=24h "$W/data.om" "$W/tsdb" >/dev/null
"$BIN" compile examples/platform --out "$W/rules" 2>/dev/null
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'global:\n  scrape_interval: 1m\n' >"$W/prometheus.yml"
"$PROMETHEUS" --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
  --storage.tsdb.retention.time=100y --web.listen-address=127.0.0.1:$PORT 2>"$W/prometheus.log" &
PID=$!
for _ in $(seq 1 120); do
  curl -sf "http://127.0.0.1:$PORT/-/ready" >/dev/null && break
  sleep 0.5
done
# The last DAYS days of the data, which starts 2026-01-01 (36 days).
END=$(python3 -c 'import datetime; print(int(datetime.datetime(2026,2,6,tzinfo=datetime.timezone.utc).timestamp()))')
START=$((END - DAYS * 86400))
echo "range: $DAYS day(s) ending $(date -u -d @$END +%FT%TZ), 17 SLOs, rules every 1m"

# Pull against query_range, over the same range.
URL="http://127.0.0.1:$PORT"
"$BIN" data pull examples/platform --url "$URL" --from $START --to $END --out "$W/pulled.parquet" 2>"$W/pull.log"
grep -o 'pulled .*' "$W/pull.log" | head -1
python3 - "$URL" $START $END <<'PY'
import json, sys, time, urllib.parse, urllib.request
url, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
get = lambda path, **q: json.load(urllib.request.urlopen(f"{url}{path}?{urllib.parse.urlencode(q)}"))
names = [n for n in get("/api/v1/label/__name__/values")["data"] if not n.startswith(("prometheus_", "go_", "process_", "scrape_", "up"))]
t0, samples = time.time(), 0
for n in names:
    for s in range(start - 86400, end, 86400):  # a day per request: under the 11,000-point limit at 30s
        r = get("/api/v1/query_range", query=n, start=s, end=min(s + 86400, end), step="30s")
        samples += sum(len(x["values"]) for x in r["data"]["result"])
dt = time.time() - t0
print(f"query_range export: {samples} samples of {len(names)} metrics in {dt:.1f}s ({samples / dt:.0f} samples/s, resampled onto 30s steps)")
PY

t0=$(date +%s.%N)
"$PROMTOOL" tsdb create-blocks-from rules --start=$START --end=$END --url="http://127.0.0.1:$PORT" \
  --output-dir="$W/promtool-blocks" "$W"/rules/*.rules.yml >"$W/promtool.log" 2>&1 || echo "promtool failed: $(tail -3 "$W/promtool.log")"
t1=$(date +%s.%N)
"$BIN" backfill examples/platform --url "http://127.0.0.1:$PORT" --from $START --to $END \
  --promtool "$PROMTOOL" --out "$W/slo-blocks" --nan-as-stale --quiet
t2=$(date +%s.%N)
blocks() { find "$1" -name meta.json 2>/dev/null | wc -l; }
python3 - "$t0" "$t1" "$t2" "$(blocks "$W/promtool-blocks")" "$(blocks "$W/slo-blocks")" <<'EOF'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
pb, sb = sys.argv[4:6]
p, s = t1 - t0, t2 - t1
print(f"promtool create-blocks-from rules: {p:8.1f} s  ({pb} blocks; recording rules only, chains unseen)")
print(f"slo backfill:                      {s:8.1f} s  ({sb} blocks; every series, ALERTS, ALERTS_FOR_STATE)")
print(f"ratio: slo is {p / max(s, 1e-9):.1f}x faster")
EOF
