# wiredojo — the one entry point for building, testing and measuring.
# `make demo` runs the main job; `make test` is the one test command (CI runs it).

GO          ?= go
STATICCHECK_VERSION := v0.8.2
GOBIN       := $(shell $(GO) env GOPATH)/bin
BIN         := bin/wiredojo
FUZZTIME    ?= 3s
LONGFUZZ    ?= 2m
# The version `wiredojo --version` prints: git describe of the checkout
# (worktrees too, which go build does not stamp), else go build's own stamp.
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS     := -X main.version=$(VERSION)
# urfave_cli_no_docs leaves out urfave/cli's man page and Markdown
# generators, which wiredojo does not use: their Markdown library's
# package init was ~1 ms and 9% of the instructions of every start (a
# 10-packet `capture read`). The scripts in scripts/bench.d build with it too.
GOTAGS      := urfave_cli_no_docs

.PHONY: all build demo install test check test-quick lint fmt-check vet staticcheck test-go test-bench-modules fuzz fuzz-short bench deps clean

all: build

build:
	$(GO) build -tags $(GOTAGS) -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/wiredojo

demo: build
	./$(BIN) demo

# install puts wiredojo in $(GOBIN), so the labs' commands work as written.
install:
	$(GO) install -tags $(GOTAGS) -ldflags '$(LDFLAGS)' ./cmd/wiredojo

# test: lint, then the race-enabled tests (which start their own servers and
# peers), then a short pass of every fuzz target. Each phase says when it starts.
test: deps lint test-go test-bench-modules fuzz-short

# check: the quick sibling of `make test` for everyday work: lint, then every
# test once without -race and without the tests that need an external program
# (redis-server, tshark, chromium, node, ...: go test -short skips them, saying
# so). It installs nothing. `make test` before you push.
check: lint test-quick

test-quick:
	@echo "== make check: go test -short (no -race, no external peers)"
	bash scripts/bench_test.sh
	$(GO) test -short -count=1 -timeout 5m ./...

deps:
	@echo "== make test 1/5: dependencies (scripts/deps.sh)"
	bash scripts/deps.sh

lint: fmt-check vet staticcheck

fmt-check:
	@echo "== lint (make test 2/5): gofmt, go vet, staticcheck"
	@out=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# vet covers the bench modules too (their own go.mod each): a dependency
# added to the main module can leave their go.sum short, which only a build
# of them shows.
vet:
	$(GO) vet ./...
	@for d in bench/*/; do \
		[ -f "$$d/go.mod" ] || continue; \
		(cd "$$d" && $(GO) vet ./...) || exit 1; \
	done

staticcheck:
	@test -x $(GOBIN)/staticcheck || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN)/staticcheck ./...

test-go:
	@echo "== make test 3/5: go test -race (every package, real peers)"
	$(GO) test -race -count=1 -timeout 15m ./...

# The peer benchmarks live in modules of their own under bench/ (so the main
# go.mod stays lean); make sure they still build, vet and pass their quick tests.
test-bench-modules:
	@echo "== make test 4/5: the peer benchmark modules under bench/ build, vet and pass; make bench's document merge"
	bash scripts/bench_test.sh
	@for d in bench/*/; do \
		[ -f "$$d/go.mod" ] || continue; \
		echo "bench module $$d"; \
		(cd "$$d" && $(GO) vet ./... && $(GO) test -count=1 ./...) || exit 1; \
	done

fuzz-short:
	@echo "== make test 5/5: every fuzz target for $(FUZZTIME)"
	bash scripts/fuzz.sh $(FUZZTIME)

fuzz:
	bash scripts/fuzz.sh $(LONGFUZZ)

bench: build
	bash scripts/bench.sh

clean:
	rm -rf bin
