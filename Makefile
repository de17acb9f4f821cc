# mapscope: catch Go-style hash-map growth races in gdb and lldb.
#
#   make demo    build everything and show the main job
#   make test    every check CI runs (installs missing tools first)
#   make bench   measurements, written to docs/BENCHMARKS.md

GO ?= /usr/lib/go-1.19/bin/go
CARGO ?= cargo
export GO

.PHONY: all deps build release test test-rust lint valgrind demo bench clean

all: build

deps:
	@bash scripts/deps.sh

build:
	$(CARGO) build --workspace --all-targets

release:
	$(CARGO) build --workspace --release

test: deps lint test-rust valgrind
	@echo "make test: all checks passed"

test-rust:
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@if ls gdb-scripts/*.py lldb-scripts/*.py >/dev/null 2>&1; then ruff check gdb-scripts lldb-scripts; fi

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
