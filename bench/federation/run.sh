#!/bin/sh
# Benchmarks of token exchange. Usage: bench/federation/run.sh [-n 3000] [-workers 32] [-json]
set -eu
cd "$(dirname "$0")/../.."
exec go run ./bench/federation "$@"
