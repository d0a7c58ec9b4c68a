#!/usr/bin/env bash
# Function-URL data-plane benchmark: wrk side by side against a raw Go net/http server, a URL in
# front of an aws-lambda-go function and one in front of a Python function, at 1 and 64
# connections; then TTFB and throughput of a 100 MiB RESPONSE_STREAM body.
# Usage: bench/url/run.sh [-duration 5s] [-warmup 2s] [-conns 1,64] [-stream-mb 100] [-only raw,go,python,serve-go]
# Targets: URL->Go >= 30% of raw req/s at 64 conns; p50 overhead <= 0.3 ms at 1 conn.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk missing: run scripts/deps.sh" >&2; exit 1; }
mkdir -p bench/out
go build -o bench/out/bench-url ./bench/url
exec bench/out/bench-url "$@"
