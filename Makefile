# furl — see README.md.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: run build test test-unit test-e2e deps vet fmt bench fuzz

run:
	$(GO) run ./cmd/furl serve

build:
	$(GO) build -o bin/furl ./cmd/furl

# test installs what the tests need (idempotent, fast when present), then runs every suite.
test: deps
	./scripts/test.sh

test-unit:
	$(GO) test ./...

deps:
	./scripts/deps.sh

vet:
	$(GO) vet ./...
	$(GO) vet -tags e2e ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

bench: deps
	./bench/run.sh
	./bench/url/run.sh
	./bench/console/run.sh
	./bench/inspect/run.sh
