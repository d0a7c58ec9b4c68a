#!/usr/bin/env bash
# Cost of the per-request inspection record (internal/inspect) side by side: the capture alone
# (start the record from the request with redaction, fill the stages, finish into the store),
# unwatched and with subscribers, and the whole gateway data plane per request (no runtime:
# the invoker answers at once) without and with a subscriber reading every record.
# Target: capture <= 5 µs per request when nobody watches.
# Usage: bench/inspect/run.sh [-benchtime 2s] [-count 3]
set -euo pipefail
cd "$(dirname "$0")/../.."
benchtime=2s count=3
while [ $# -gt 0 ]; do
  case "$1" in
    -benchtime) benchtime=$2; shift 2 ;;
    -count) count=$2; shift 2 ;;
    *) echo "unknown flag $1" >&2; exit 2 ;;
  esac
done
out=$( { go test -run '^$' -bench '^BenchmarkCapture$' -benchmem -benchtime "$benchtime" -count "$count" -cpu 1 ./internal/inspect/
         go test -run '^$' -bench '^BenchmarkGatewayOverhead(Watched)?$' -benchmem -benchtime "$benchtime" -count "$count" -cpu 1 ./internal/gateway/; } 2>&1 )
echo "$out" | grep -E '^Benchmark' | awk '
  { name=$1; sub(/^Benchmark/, "", name); ns[name]=ns[name]" "$3; n[name]++; if (!(name in seen)) { order[++k]=name; seen[name]=1 }
    for (i=4;i<=NF;i++) if ($(i)=="B/op") b[name]=$(i-1); else if ($(i)=="allocs/op") a[name]=$(i-1) }
  END {
    printf "%-40s %12s %12s %10s %10s\n", "benchmark (-cpu 1)", "min µs/op", "max µs/op", "B/op", "allocs"
    for (j=1;j<=k;j++) { name=order[j]; split(ns[name], v, " "); mn=1e18; mx=0
      for (x in v) { if (v[x]+0<mn) mn=v[x]+0; if (v[x]+0>mx) mx=v[x]+0 }
      printf "%-40s %12.2f %12.2f %10s %10s\n", name, mn/1000, mx/1000, b[name], a[name] }
  }'
