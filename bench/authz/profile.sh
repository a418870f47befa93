#!/usr/bin/env bash
# A CPU profile of Steward's PDP under load, taken through the server's own
# admin-only GET /debug/pprof/profile (config metrics.pprof: true): the same
# generated policies, entities and requests as run.sh, wrk at concurrency
# CONC for the profile's SECONDS (plus a second either side), then the
# profile's top functions. Also a heap profile at the end of the load.
# Usage: bench/authz/profile.sh [CONC] [SECONDS]
# Output: bench/out/authz-profile/{cpu,heap}.pprof, top.txt, wrk.txt;
# explore with: go tool pprof -http :0 bench/bin/steward bench/out/authz-profile/cpu.pprof
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
CONC=${1:-8}
SECS=${2:-10}
B=bench/authz
OUT=bench/out/authz-profile
BIN=$ROOT/bench/bin
PORT=8186
mkdir -p "$OUT" "$BIN"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
go build -o "$BIN/steward" ./cmd/steward
go build -o "$BIN/authz-gen" ./$B/gen
"$BIN/authz-gen" -out "$OUT"

TOKEN=bench-admin-token-0123456789abcdef
rm -rf "$OUT/data"
printf 'metrics:\n  pprof: true\n' >"$OUT/steward.yaml"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
STEWARD_ADMIN_TOKEN=$TOKEN STEWARD_MASTER_KEY=$(printf 'ab%.0s' $(seq 32)) "$BIN/steward" serve --config "$OUT/steward.yaml" \
  --addr 127.0.0.1:$PORT --data-dir "$OUT/data" --rate-limit 0 --log-level warn 2>"$OUT/steward.log" & pids+=($!)
URL=http://127.0.0.1:$PORT
for _ in $(seq 100); do curl -sf "$URL/healthz" >/dev/null && break; sleep 0.1; done
auth=(-H "Authorization: Bearer $TOKEN")
curl -sf -X PUT "${auth[@]}" -H 'Content-Type: text/plain' --data-binary @"$OUT/rbac.cedar" \
  "$URL/api/v1/policies/rbac?reason=benchmark" >/dev/null
curl -sf -X PUT "${auth[@]}" -H 'Content-Type: application/json' --data-binary @"$OUT/entities.json" \
  "$URL/api/v1/entities?reason=benchmark" >/dev/null

WRK_REQS=$OUT/requests.jsonl WRK_PATH=/access/v1/evaluation WRK_WRAP=0 WRK_TOKEN=$TOKEN \
  wrk -t1 -c"$CONC" -d"$((SECS + 2))s" --latency -s $B/post.lua "$URL" >"$OUT/wrk.txt" & WRK=$!
sleep 1
curl -sf "${auth[@]}" -o "$OUT/cpu.pprof" "$URL/debug/pprof/profile?seconds=$SECS"
wait "$WRK"
curl -sf "${auth[@]}" -o "$OUT/heap.pprof" "$URL/debug/pprof/heap"
grep -E 'Requests/sec|requests in|^ +(50|99)%' "$OUT/wrk.txt"
go tool pprof -top -nodecount=30 "$BIN/steward" "$OUT/cpu.pprof" 2>/dev/null | tee "$OUT/top.txt"
echo "profiles: $OUT/cpu.pprof, $OUT/heap.pprof (go tool pprof -http :0 $BIN/steward $OUT/cpu.pprof)"
