#!/usr/bin/env bash
# Server time of the web console's pages on 100k identities (SQLite, and
# PostgreSQL when STEWARD_TEST_POSTGRES_URL is set). Prints a markdown table.
#
#   bash bench/web/run.sh            # 100,000 identities, 30 requests per page
#   N=20000 RUNS=10 bash bench/web/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/web -n "${N:-100000}" -runs "${RUNS:-30}" "$@"
