#!/usr/bin/env bash
# Reruns every benchmark scenario and rewrites the harness's sections of docs/BENCHMARKS.md.
# Extra arguments go to the harness, e.g. ./bench/run.sh -quick, or -scenario inbound.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/harness -scenario all -out docs/BENCHMARKS.md "$@"
