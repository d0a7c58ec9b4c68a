#!/usr/bin/env bash
# Console inspector benchmark: wrk against a function URL of a real furl serve with nobody
# watching and with a console subscribed to the live request stream, side by side.
# Usage: bench/console/run.sh [-duration 5s] [-conns 64] [-rounds 2]
# Target: a watching console costs <= 10% of the URL's throughput.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk missing: run scripts/deps.sh" >&2; exit 1; }
mkdir -p bench/out
go build -o bench/out/bench-console ./bench/console
exec bench/out/bench-console "$@"
