# mapscope: catch Go-style hash-map growth races in gdb and lldb.
#
#   make demo    build everything and show the main job
#   make test    every check CI runs (installs missing tools first)
#   make bench   measurements, written to docs/BENCHMARKS.md

GO ?= /usr/lib/go-1.19/bin/go
CARGO ?= cargo
export GO

.PHONY: all deps build release test test-rust test-python lint valgrind demo bench clean

all: build

deps:
	@bash scripts/deps.sh

build:
	$(CARGO) build --workspace --all-targets

release:
	$(CARGO) build --workspace --release

test: deps lint test-rust test-python valgrind
	@echo "make test: all checks passed"

# MAPSCOPE_REQUIRE_FIXTURES: the inspector's tests fail, rather than skip, without the fixtures.
test-rust: build
	MAPSCOPE_REQUIRE_FIXTURES=1 $(CARGO) test --workspace

# The debugger-neutral core (no debugger), the gdb front-end in batch mode on the fixtures, and
# every replay scenario REPLAY_LOOPS times (20 unless set).
test-python: build
	MAPSCOPE_REQUIRE_FIXTURES=1 python3 -m pytest -q -rs python/tests

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	ruff check python gdb-scripts lldb-scripts bench
	ruff format --check python gdb-scripts lldb-scripts bench

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
