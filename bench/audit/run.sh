#!/bin/sh
# Audit chain benchmarks on SQLite: appends/s (single and batched),
# verification of a 1M-entry chain, inclusion-proof time.
# Usage: bench/audit/run.sh [-n ENTRIES] [-appends N] [-batch N]
set -e
cd "$(dirname "$0")/../.."
exec go run ./bench/audit "$@"
