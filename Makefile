# furl — see README.md.
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: run build test test-unit test-e2e deps vet fmt bench fuzz

# run builds furl and serves it (127.0.0.1:9000, data in ~/.furl); serve flags go in ARGS:
#   make run ARGS="--addr 127.0.0.1:9100 --data-dir /tmp/furl"
run:
	@echo "make run: building bin/furl (the first build compiles every dependency: ~30 s) ..."
	@$(GO) build -o bin/furl ./cmd/furl
	@echo "make run: starting bin/furl serve $(ARGS)   (flags: bin/furl serve -h; stop with Ctrl-C)"
	@exec ./bin/furl serve $(ARGS)

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

# fuzz runs every Fuzz target for FUZZTIME each (make test runs them for 2 s):
#   make fuzz FUZZTIME=5m
FUZZTIME ?= 60s
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

bench: deps
	./bench/run.sh
	./bench/url/run.sh
	./bench/console/run.sh
	./bench/inspect/run.sh
