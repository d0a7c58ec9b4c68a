#!/usr/bin/env bash
# Runs furl's invoke benchmark: warm latency p50/p99 and throughput at concurrency 1 and 8 for a Go
# (aws-lambda-go) and a Python function, and cold start to first response for Go, Python and
# Node.js, through furl's pool with real processes. Prints one table.
#
# FURL_BENCH_RIE=/path/to/aws-lambda-rie adds a column for AWS's Runtime Interface Emulator
# binary running the same Go function (it is not part of furl and not built by this repo).
#
# Extra arguments go to the benchmark, e.g. bench/run.sh -warm 5s -cold 20
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
if [ -n "${FURL_BENCH_RIE:-}" ]; then
  if [ ! -x "$FURL_BENCH_RIE" ]; then
    echo "bench: FURL_BENCH_RIE=$FURL_BENCH_RIE is not an executable" >&2
    exit 1
  fi
  args+=(-rie "$FURL_BENCH_RIE")
fi
mkdir -p bench/out
go build -o bench/out/invoke ./bench/invoke
exec bench/out/invoke "${args[@]}" "$@"
