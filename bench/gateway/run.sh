#!/bin/sh
# Gateway benchmark. Usage: bench/gateway/run.sh [-duration 5s] [-c 1,8,64] [-caddy PATH]
set -eu
cd "$(dirname "$0")/../.."
exec go run ./bench/gateway "$@"
