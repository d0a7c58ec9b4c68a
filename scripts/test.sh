#!/usr/bin/env bash
# Runs furl's full test suite: unit tests with the race detector, then the end-to-end suite
# with real clients (AWS CLI, boto3, curl, runtime clients).
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=1 # -race needs cgo; furl itself builds without it
# go.mod and go.sum must be what `go mod tidy` makes of them.
go mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy" >&2; exit 1; }
go vet ./...
go vet -tags e2e ./...
go test -race -count=1 -timeout 20m ./...
# Every Fuzz target for a few seconds (one line per target); a crasher fails the suite.
FUZZTIME=2s ./scripts/fuzz.sh
# The end-to-end suite takes minutes in one package: show each test as it ends (and which are
# still running when nothing ends for a while). The last line is still go test's own.
progress=$(mktemp -d)
trap 'rm -rf "$progress"' EXIT
go build -o "$progress/testprogress" ./scripts/testprogress
echo "e2e: go test -tags e2e ./test/e2e/... (a few minutes; one line per test)"
go test -json -count=1 -timeout 20m -tags e2e ./test/e2e/... | "$progress/testprogress"
