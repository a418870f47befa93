#!/usr/bin/env bash
# Anomaly-detection evaluation: precision, recall and time-to-alert per
# detector on labelled synthetic usage, then sustained ingest into SQLite
# with the detectors on and off.
#
#   bash bench/alerts/run.sh                  # 240 identities, 8 days, 300k-event ingest
#   INGEST=1000000 bash bench/alerts/run.sh   # longer ingest phase
set -euo pipefail
cd "$(dirname "$0")/../.."
go run ./bench/alerts -identities "${IDENTITIES:-240}" -days "${DAYS:-8}" -rate "${RATE:-40000}" -ingest "${INGEST:-300000}"
