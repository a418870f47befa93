#!/bin/sh
# Benchmarks of the credential broker. Usage: bench/broker/run.sh [-duration 5s] [-workers 32] [-json]
set -eu
cd "$(dirname "$0")/../.."
exec go run ./bench/broker "$@"
