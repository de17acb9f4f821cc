# mapscope: catch Go-style hash-map growth races in gdb and lldb.
#
#   make demo    build everything and show the main job
#   make test    every check CI runs (installs missing tools first)
#   make bench   measurements, written to docs/BENCHMARKS.md

GO ?= /usr/lib/go-1.19/bin/go
CARGO ?= cargo
export GO

.PHONY: all deps build go-fixtures go126-fixtures release test test-rust test-python lint lint-go valgrind demo bench clean

all: build

deps:
	@bash scripts/deps.sh

build: go-fixtures go126-fixtures
	$(CARGO) build --workspace --all-targets

# The Go fixtures: fixtures/go is a Go module with one program per fixtures/go/cmd/NAME, built
# with $(GO) twice, as TARGET/debug/go-NAME (-gcflags=all=-N -l, the way one debugs Go) and
# TARGET/debug/go-NAME-opt (Go's default optimisation). Go's state stays in TARGET (private
# cache and GOPATH, no GOFLAGS from the environment, no toolchain download), so a clean machine
# builds offline. A program is rebuilt when its sources, the shared packages or the toolchain
# ($(GO) version) change. Without $(GO), one line says the Go fixtures are skipped; the tests
# that need them then fail under MAPSCOPE_REQUIRE_FIXTURES=1.
GO_FIXTURES := concurrent-writes read-write iterate-write evacuate-race ghost-read grow bigmap cache
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
GO_OUT := $(TARGET_DIR)/debug
GO_ENV := GOCACHE=$(abspath $(TARGET_DIR))/go-cache GOPATH=$(abspath $(TARGET_DIR))/gopath \
	GOFLAGS= GOTOOLCHAIN=local GOWORK=off GO111MODULE=on GOPROXY=off
GO_COMMON := fixtures/go/go.mod $(wildcard fixtures/go/internal/*/*.go)
GO_FOUND := $(shell command -v $(GO) 2>/dev/null)
GO_STAMP := $(TARGET_DIR)/go-fixtures.toolchain
GO_DEBUG_BINS := $(GO_FIXTURES:%=$(GO_OUT)/go-%)
GO_OPT_BINS := $(GO_FIXTURES:%=$(GO_OUT)/go-%-opt)

.SECONDEXPANSION:

ifeq ($(GO_FOUND),)
go-fixtures:
	@echo "go-fixtures: no Go toolchain at $(GO): skipping the Go fixtures (make deps installs Go 1.19)"
else
go-fixtures: $(GO_DEBUG_BINS) $(GO_OPT_BINS)

# Rewritten only when the toolchain's version line changes, so a switch of $(GO) rebuilds.
GO_VERSION := $(shell GOTOOLCHAIN=local $(GO) version)
$(shell mkdir -p $(TARGET_DIR) && [ "$$(cat $(GO_STAMP) 2>/dev/null)" = "$(GO_VERSION)" ] \
	|| echo "$(GO_VERSION)" >$(GO_STAMP))

# Each binary is written under a temporary name and moved into place, so that a debugger or a
# test never sees half a file. The echoed command runs in fixtures/go with GO_ENV.
$(GO_DEBUG_BINS): $(GO_OUT)/go-%: $(GO_COMMON) $(GO_STAMP) $$(wildcard fixtures/go/cmd/$$*/*.go)
	@mkdir -p $(@D)
	@echo "go build -gcflags='all=-N -l' -o $@ ./cmd/$*"
	@cd fixtures/go && $(GO_ENV) $(GO) build -gcflags='all=-N -l' -o $(abspath $@).tmp$$$$ ./cmd/$* \
		&& mv -f $(abspath $@).tmp$$$$ $(abspath $@)
$(GO_OPT_BINS): $(GO_OUT)/go-%-opt: $(GO_COMMON) $(GO_STAMP) $$(wildcard fixtures/go/cmd/$$*/*.go)
	@mkdir -p $(@D)
	@echo "go build -o $@ ./cmd/$*"
	@cd fixtures/go && $(GO_ENV) $(GO) build -o $(abspath $@).tmp$$$$ ./cmd/$* \
		&& mv -f $(abspath $@).tmp$$$$ $(abspath $@)
endif

# The same programs built with Go 1.26 (Swiss-table maps only), for the replay scenarios of
# fixtures/scenarios/go126: TARGET/debug/go126-NAME (-gcflags=all=-N -l), with the same private
# GOCACHE/GOPATH and no toolchain download. $(GO126) is the go command on PATH (a fresh machine
# has Go 1.26 at /usr/local/go); the programs that read classic hmaps (grow, ghost-read,
# evacuate-race) refuse to run on Swiss maps and are not built. Without a Go 1.26 toolchain, one
# line says they are skipped; the tests that need them then fail under MAPSCOPE_REQUIRE_FIXTURES=1.
GO126 ?= $(or $(shell command -v go 2>/dev/null),/usr/local/go/bin/go)
export GO126
GO126_FIXTURES := concurrent-writes read-write iterate-write cache
GO126_VERSION := $(shell GOTOOLCHAIN=local $(GO126) version 2>/dev/null)
GO126_STAMP := $(TARGET_DIR)/go126-fixtures.toolchain
GO126_BINS := $(GO126_FIXTURES:%=$(GO_OUT)/go126-%)

ifeq ($(filter go1.26%,$(word 3,$(GO126_VERSION))),)
go126-fixtures:
	@echo "go126-fixtures: no Go 1.26 toolchain at $(GO126) ($(or $(GO126_VERSION),not found)): skipping the Go 1.26 fixtures"
else
go126-fixtures: $(GO126_BINS)

$(shell mkdir -p $(TARGET_DIR) && [ "$$(cat $(GO126_STAMP) 2>/dev/null)" = "$(GO126_VERSION)" ] \
	|| echo "$(GO126_VERSION)" >$(GO126_STAMP))

$(GO126_BINS): $(GO_OUT)/go126-%: $(GO_COMMON) $(GO126_STAMP) $$(wildcard fixtures/go/cmd/$$*/*.go)
	@mkdir -p $(@D)
	@echo "go1.26 build -gcflags='all=-N -l' -o $@ ./cmd/$*"
	@cd fixtures/go && $(GO_ENV) $(GO126) build -gcflags='all=-N -l' -o $(abspath $@).tmp$$$$ ./cmd/$* \
		&& mv -f $(abspath $@).tmp$$$$ $(abspath $@)
endif

release:
	$(CARGO) build --workspace --release

test: deps lint test-rust test-python valgrind
	@echo "make test: all checks passed"

# MAPSCOPE_REQUIRE_FIXTURES: the inspector's tests fail, rather than skip, without the fixtures.
test-rust: build
	MAPSCOPE_REQUIRE_FIXTURES=1 $(CARGO) test --workspace

# The debugger-neutral core (no debugger), the gdb front-end in batch mode on the fixtures, and
# every replay scenario REPLAY_LOOPS times (10 unless set: 20 took make test to 9.5 minutes;
# bench/replay.sh runs 20).
test-python: build
	MAPSCOPE_REQUIRE_FIXTURES=1 python3 -m pytest -q -rs --durations=15 python/tests

lint: lint-go
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	ruff check .
	ruff format --check .

# gofmt and go vet over the fixtures/go module (mapbench and mapdiff included).
ifeq ($(GO_FOUND),)
lint-go:
	@echo "lint-go: no Go toolchain at $(GO): skipping gofmt and go vet"
else
lint-go:
	@out=$$($(dir $(GO_FOUND))gofmt -l fixtures/go); \
		if [ -n "$$out" ]; then echo "gofmt -l fixtures/go:"; echo "$$out"; exit 1; fi
	cd fixtures/go && $(GO_ENV) $(GO) vet ./...
endif

# The gomap stress run under valgrind memcheck: no invalid access, no leak.
valgrind:
	$(CARGO) build -p gomap --example stress
	valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--error-exitcode=1 target/debug/examples/stress 100000

demo: deps
	@bash scripts/demo.sh

bench: deps
	@bash scripts/bench.sh

clean:
	$(CARGO) clean
