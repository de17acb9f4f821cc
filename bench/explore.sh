#!/usr/bin/env bash
# Explore: how soon `mapscope explore` finds each race (ghost-read, evacuate-race,
# concurrent-writes, iterate-write) from its scenario without steps in fixtures/scenarios/explore/:
# iterative preemption bounding under gdb and lldb, PCT (depth 3) and random scheduling under gdb
# with SEEDS seeds, each search stopped at the race's first find or at BUDGET; against up to
# FREE_RUNS free runs of the same program. Writes section "Explore: finding the races from
# scratch" of docs/BENCHMARKS.md.
#
# usage: bench/explore.sh [FREE_RUNS] [BUDGET] [SEEDS]     (defaults 1000 120s 3)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

FREE_RUNS=${1:-1000}
BUDGET=${2:-120s}
SEEDS=${3:-3}
[[ $FREE_RUNS =~ ^[1-9][0-9]*$ ]] || die "FREE_RUNS must be a positive number, got '$FREE_RUNS'"
[[ $SEEDS =~ ^[1-9][0-9]*$ ]] || die "SEEDS must be a positive number, got '$SEEDS'"
command -v gdb >/dev/null || die "gdb not found"
command -v lldb-16 >/dev/null || die "lldb-16 not found"

BENCH_MACHINE=$(machine)
export BENCH_MACHINE
cd "$ROOT"
cargo build --workspace --quiet || die "cargo build failed"
unset MAPSCOPE_REPLAY
section=$(mktemp)
trap 'rm -f "$section"' EXIT
python3 bench/explore_bench.py "$FREE_RUNS" "$BUDGET" "$SEEDS" >"$section"
cat "$section"
python3 "$ROOT/bench/update-section.py" "$BENCH_MD" "Explore: finding the races from scratch" <"$section"
echo "wrote section 'Explore: finding the races from scratch' of ${BENCH_MD#"$ROOT"/}"
