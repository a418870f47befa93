#!/usr/bin/env bash
# Posture benchmarks: full evaluation, incremental re-evaluation, evidence pack.
#
#   bash bench/posture/run.sh                       # 1M identities on SQLite, pack for 100k
#   N=100000 bash bench/posture/run.sh              # quicker
#   DB="postgres://…?search_path=posture_bench" bash bench/posture/run.sh   # PostgreSQL: use a schema of its own, its tables are truncated
#   REUSE=1 bash bench/posture/run.sh               # SQLite: reuse the generated database
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-1000000}
PACK=${PACK:-100000}
DIR=${DIR:-/tmp}
go run ./bench/posture -identities "$N" -pack-identities "$PACK" -dir "$DIR" ${DB:+-db "$DB"} ${REUSE:+-reuse}
