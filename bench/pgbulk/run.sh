#!/usr/bin/env bash
# bench/pgbulk/run.sh — bulk writes, base vs head, on SQLite and PostgreSQL:
# usage ingest with the detectors on (bench/alerts -phases ingest) and the
# identity import (bench/core -phases import), each followed by a check of
# the audit chain of the store it wrote (-verify).
#
# The code under test comes from two revisions: BASE (required) and the
# working tree (head). Both are built with the
# working tree's harness (bench/core, bench/alerts, bench/internal copied
# over the base sources), so only the library differs.
#
#   BASE=3815e75 bash bench/pgbulk/run.sh          # one run of each
#   BASE=3815e75 RUNS=3 IMPORT=100000 INGEST=300000 bash bench/pgbulk/run.sh
#   BASE=3815e75 ENGINES=postgres bash bench/pgbulk/run.sh
#   BASE=3815e75 PROFILE=1 bash bench/pgbulk/run.sh             # CPU profiles of head's runs, and
#                                                  # PostgreSQL's statement times (pg_stat_statements is
#                                                  # not assumed: the server logs every statement for head's PostgreSQL runs)
#
# PostgreSQL: $PG_URL or $STEWARD_TEST_POSTGRES_URL, else a throwaway server
# from scripts/pg.sh (stopped at the end). Results go to $OUT (default a new
# temporary directory): one log per run and summary.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
RUNS=${RUNS:-1}
IMPORT=${IMPORT:-20000}
INGEST=${INGEST:-300000}
ENGINES=${ENGINES:-sqlite postgres}
BASE=${BASE:?set BASE to the revision to compare with (e.g. the commit before the change measured)}
OUT=${OUT:-$(mktemp -d /tmp/steward-pgbulk.XXXXXX)}
mkdir -p "$OUT"
work=$(mktemp -d /tmp/steward-pgbulk-build.XXXXXX)
started_pg=
cleanup() {
  rm -rf "$work"
  if [ -n "$started_pg" ]; then pg_stop; fi
}
trap cleanup EXIT

url=${PG_URL:-${STEWARD_TEST_POSTGRES_URL:-}}
if [[ " $ENGINES " == *" postgres "* ]] && [ -z "$url" ]; then
  # shellcheck source=scripts/pg.sh
  source scripts/pg.sh
  pg_start >&2
  started_pg=1
  url=$PG_URL
fi

# build REV DIR: the harness binaries of REV (or of the working tree for
# "head") into DIR.
build() {
  local rev=$1 dir=$2 src=$root
  mkdir -p "$dir"
  if [ "$rev" != head ]; then
    src=$work/src-$rev
    mkdir -p "$src"
    git archive "$rev" | tar -x -C "$src"
    rm -rf "$src/bench/core" "$src/bench/alerts" "$src/bench/internal"
    cp -r "$root/bench/core" "$root/bench/alerts" "$root/bench/internal" "$src/bench/"
  fi
  (cd "$src" && go build -o "$dir/core" ./bench/core && go build -o "$dir/alerts" ./bench/alerts)
}
echo "building base $(git rev-parse --short "$BASE") and head ($(git rev-parse --short HEAD)$(git diff --quiet || echo ', with uncommitted changes'))" >&2
build "$BASE" "$work/base"
build head "$work/head"

# pglog on|off: log every statement's duration (head's profile runs).
# PG_LOG names the server's log file (default: that of scripts/pg.sh).
PG_LOG=${PG_LOG:-${PG_DATA:+$PG_DATA/db/log}}
psql=$(command -v psql || ls /usr/lib/postgresql/*/bin/psql 2>/dev/null | head -1 || true)
pglog() {
  local v=-1
  [ "$1" = on ] && v=0
  "$psql" "$url" -qAt -c "ALTER SYSTEM SET log_min_duration_statement = $v" -c "SELECT pg_reload_conf()" >/dev/null
}
# pgstatements FILE FROM: the statements logged in FILE after byte FROM,
# grouped by their first words: calls, total ms, ms per call.
pgstatements() {
  tail -c +"$(( $2 + 1 ))" "$1" | grep -o 'duration: [0-9.]* ms  [a-z]*[^:]*: .*' \
    | sed -E 's/duration: ([0-9.]+) ms  [^:]*: (.{0,60}).*/\1\t\2/' \
    | awk -F'\t' '{n[$2]++; t[$2]+=$1} END {for (k in n) printf "%10.0f ms %7d calls %9.3f ms/call  %s\n", t[k], n[k], t[k]/n[k], k}' \
    | sort -rn | head -25
}

summary=$OUT/summary.txt
printf '%-4s %-8s %-5s %-32s %s\n' run engine rev measure value | tee "$summary"
for run in $(seq 1 "$RUNS"); do
  for engine in $ENGINES; do
    for rev in base head; do
      bin=$work/$rev
      pgflag=()
      [ "$engine" = postgres ] && pgflag=(-postgres "$url")
      prof=()
      if [ -n "${PROFILE:-}" ] && [ "$rev" = head ]; then
        mkdir -p "$OUT/profile-$run"
        prof=(-profile "$OUT/profile-$run")
        if [ "$engine" = postgres ] && [ -n "$PG_LOG" ] && [ -n "$psql" ]; then
          pglog on
          pgfrom=$(stat -c %s "$PG_LOG")
        fi
      fi
      log=$OUT/$run-$engine-$rev.log
      load=$(cut -d' ' -f1 /proc/loadavg)
      "$bin/core" -engines "$engine" "${pgflag[@]}" -phases import -import "$IMPORT" -verify "${prof[@]}" >"$log" 2>&1 \
        || { cat "$log" >&2; exit 1; }
      "$bin/alerts" -phases ingest -detectors on -ingest "$INGEST" -verify "${pgflag[@]}" "${prof[@]}" >>"$log" 2>&1 \
        || { cat "$log" >&2; exit 1; }
      if [ -n "${PROFILE:-}" ] && [ "$rev" = head ] && [ "$engine" = postgres ] && [ -n "$PG_LOG" ] && [ -n "$psql" ]; then
        pglog off
        pgstatements "$PG_LOG" "$pgfrom" >"$OUT/profile-$run/postgres-statements.txt"
      fi
      imp=$(grep -m1 'import identities/s' "$log" | sed 's/^ *//' || true)
      # CPU per imported identity, Steward's and (local server) PostgreSQL's:
      # steadier than the wall rate on a shared machine.
      cpu=$(grep 'CPU per identity  ' "$log" | head -2 | sed -E 's/^postgres +import: //; s/^sqlite +import: //; s/ +([0-9.]+) µs .*/ \1 µs/' | paste -sd';' - || true)
      ing=$(grep -m1 'detectors on :' "$log" | sed 's/^ *//' || true)
      chain="import: $(grep -q 'import: audit chain verified' "$log" && echo yes || echo NO), ingest: $(grep -q 'detectors on : audit chain verified' "$log" && echo yes || echo NO)"
      printf '%-4s %-8s %-5s %-32s %s\n' "$run" "$engine" "$rev" "import [load $load]" "$imp" | tee -a "$summary"
      printf '%-4s %-8s %-5s %-32s %s\n' "$run" "$engine" "$rev" "import CPU per identity" "$cpu" | tee -a "$summary"
      printf '%-4s %-8s %-5s %-32s %s\n' "$run" "$engine" "$rev" "ingest, detectors on" "$ing" | tee -a "$summary"
      printf '%-4s %-8s %-5s %-32s %s\n' "$run" "$engine" "$rev" "audit chain verified" "$chain" | tee -a "$summary"
    done
  done
done
echo "logs and profiles in $OUT" >&2
