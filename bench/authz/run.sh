#!/usr/bin/env bash
# Decisions/s over HTTP at concurrency 1/8/64 for OPA (twice: without a
# decision log, and with its decision log on, written to a file, the fair
# peer of Steward, which logs every decision durably), Steward (decision
# logging on) and a bare net/http floor, interleaved within each round,
# with p50/p99 and server CPU per decision; plus in-process ns/op and the
# agreement check. Usage: bench/authz/run.sh [ROUNDS] [SECONDS]
#
# STEWARD_BASE=PATH-TO-BINARY also runs that steward build (a base, e.g.
# main built to a temporary directory) beside the head build, with the same
# policies, entities and flags, interleaved in each round; the table then
# has a steward-base row and a "× base" column (head over base).
#   git worktree add /tmp/base main && (cd /tmp/base && go build -o /tmp/steward-base ./cmd/steward)
#   STEWARD_BASE=/tmp/steward-base bench/authz/run.sh 3 5
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
ROUNDS=${1:-3}
DUR=${2:-5}
B=bench/authz
OUT=bench/out/authz
BIN=$ROOT/bench/bin
mkdir -p "$OUT" "$BIN"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
[ -x "$BIN/opa" ] || GOBIN=$BIN go install github.com/open-policy-agent/opa@v1.22.3
go build -o "$BIN/steward" ./cmd/steward
go build -o "$BIN/authz-floor" ./$B/floor
go build -o "$BIN/authz-gen" ./$B/gen
go build -o "$BIN/authz-agree" ./$B/agree
"$BIN/authz-gen" -out "$OUT"

BASE=${STEWARD_BASE:-}
if [ -n "$BASE" ] && [ ! -x "$BASE" ]; then echo "STEWARD_BASE=$BASE is not an executable steward binary" >&2; exit 2; fi
TOKEN=bench-admin-token-0123456789abcdef
rm -rf "$OUT/data" "$OUT/data-base"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
"$BIN/opa" run --server --addr 127.0.0.1:8181 --log-level error "$OUT/authz.rego" "$OUT/data.json" & pids+=($!); OPA=$!
# The same OPA with its decision log on (console logger, to a file).
"$BIN/opa" run --server --addr 127.0.0.1:8184 --log-level info --log-format json --set decision_logs.console=true \
  "$OUT/authz.rego" "$OUT/data.json" >"$OUT/opa-decisions.log" 2>&1 & pids+=($!); OPALOG=$!
STEWARD_ADMIN_TOKEN=$TOKEN STEWARD_MASTER_KEY=$(printf 'ab%.0s' $(seq 32)) "$BIN/steward" serve --addr 127.0.0.1:8182 \
  --data-dir "$OUT/data" --rate-limit 0 --log-level warn 2>"$OUT/steward.log" & pids+=($!); STW=$!
"$BIN/authz-floor" -addr 127.0.0.1:8183 & pids+=($!); FLOOR=$!
servers="opa opa-log steward floor"
stewards="8182"
if [ -n "$BASE" ]; then
  STEWARD_ADMIN_TOKEN=$TOKEN STEWARD_MASTER_KEY=$(printf 'ab%.0s' $(seq 32)) "$BASE" serve --addr 127.0.0.1:8185 \
    --data-dir "$OUT/data-base" --rate-limit 0 --log-level warn 2>"$OUT/steward-base.log" & pids+=($!); STWBASE=$!
  servers="opa opa-log steward-base steward floor"
  stewards="8182 8185"
fi
for u in http://127.0.0.1:8181/health http://127.0.0.1:8184/health http://127.0.0.1:8183/healthz; do
  for _ in $(seq 100); do curl -sf "$u" >/dev/null && break; sleep 0.1; done
done
for port in $stewards; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  curl -sf -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' --data-binary @"$OUT/rbac.cedar" \
    "http://127.0.0.1:$port/api/v1/policies/rbac?reason=benchmark" >/dev/null
  curl -sf -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary @"$OUT/entities.json" \
    "http://127.0.0.1:$port/api/v1/entities?reason=benchmark" >/dev/null
done
WRK_TOKEN=$TOKEN "$BIN/authz-agree" -dir "$OUT"

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
RES=$OUT/results.tsv
printf 'round\tserver\tconc\trps\tp50\tp99\tcpu_us_per_decision\n' > "$RES"
for round in $(seq "$ROUNDS"); do
  for c in 1 8 64; do
    for srv in $servers; do
      case $srv in
        opa) port=8181; pid=$OPA; path=/v1/data/authz/allow; wrap=1; tok= ;;
        opa-log) port=8184; pid=$OPALOG; path=/v1/data/authz/allow; wrap=1; tok= ;;
        steward) port=8182; pid=$STW; path=/access/v1/evaluation; wrap=0; tok=$TOKEN ;;
        steward-base) port=8185; pid=$STWBASE; path=/access/v1/evaluation; wrap=0; tok=$TOKEN ;;
        floor) port=8183; pid=$FLOOR; path=/access/v1/evaluation; wrap=0; tok= ;;
      esac
      t0=$(ticks "$pid")
      out=$(WRK_REQS=$OUT/requests.jsonl WRK_PATH=$path WRK_WRAP=$wrap WRK_TOKEN=$tok \
        wrk -t1 -c"$c" -d"${DUR}s" --latency -s $B/post.lua "http://127.0.0.1:$port")
      t1=$(ticks "$pid")
      n=$(echo "$out" | awk '/requests in/ {print $1}')
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      p50=$(echo "$out" | awk '$1=="50%" {print $2}')
      p99=$(echo "$out" | awk '$1=="99%" {print $2}')
      cpu=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')
      if echo "$out" | grep -q 'Non-2xx'; then echo "$srv answered errors:"; echo "$out"; exit 1; fi
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$srv" "$c" "$rps" "$p50" "$p99" "$cpu" | tee -a "$RES"
    done
  done
done
dropped=$(curl -s http://127.0.0.1:8182/metrics | awk '/^steward_usage_events_dropped_total/ {print $2}')
written=$(curl -s http://127.0.0.1:8182/metrics | awk '/^steward_usage_events_written_total/ {print $2}')
echo "steward decision log: written $written, dropped $dropped"
if [ -n "$BASE" ]; then
  echo "steward-base ($BASE) decision log: written $(curl -s http://127.0.0.1:8185/metrics | awk '/^steward_usage_events_written_total/ {print $2}'), dropped $(curl -s http://127.0.0.1:8185/metrics | awk '/^steward_usage_events_dropped_total/ {print $2}')"
fi
echo "opa decision log: $(grep -c '"decision_id"' "$OUT/opa-decisions.log") decisions logged to $OUT/opa-decisions.log"
python3 - "$RES" <<'PY'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
med = {}
servers = [s for s in ("opa", "opa-log", "steward-base", "steward", "floor") if any(r["server"] == s for r in rows)]
base = "steward-base" in servers
for srv in servers:
    for c in ("1", "8", "64"):
        rs = [r for r in rows if r["server"] == srv and r["conc"] == c]
        med[srv, c] = (statistics.median(float(r["rps"]) for r in rs), rs[len(rs)//2]["p50"], rs[len(rs)//2]["p99"],
                       statistics.median(float(r["cpu_us_per_decision"]) for r in rs))
extra = " × base |" if base else ""
print("| server | c | decisions/s (median) | p50 | p99 | server CPU µs/decision | × OPA | × logging OPA | % of floor |" + extra)
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if base else ""))
for srv in servers:
    for c in ("1", "8", "64"):
        rps, p50, p99, cpu = med[srv, c]
        line = f"| {srv} | {c} | {rps:,.0f} | {p50} | {p99} | {cpu:.1f} | {rps/med['opa', c][0]:.2f} | {rps/med['opa-log', c][0]:.2f} | {100*rps/med['floor', c][0]:.0f}% |"
        if base:
            line += f" {rps/med['steward-base', c][0]:.2f} |" if srv.startswith("steward") else " |"
        print(line)
PY
go test ./$B/rbac -run Agreement -bench . -benchtime 2s | grep -E 'Benchmark|ok'
