#!/usr/bin/env bash
# Side-by-side timing of `mapscope offsets` against pahole, gdb and llvm-dwarfdump,
# symbol and file:line lookups, each as a multiple of an independent floor (floor.c:
# map the file and read every .debug_* byte once) beside mapscope's own read-sections.
# Writes the "DWARF inspector" section of docs/BENCHMARKS.md.
#
#   crates/mapscope/bench/bench.sh            # (a) fixture, (b) mapscope's release build
#   BENCH_LARGE=1 crates/mapscope/bench/bench.sh   # also (c): builds a large corpus binary (~10 min)
#   BENCH_RUNS=5 (runs per measurement, median reported)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
cd "$root"
cargo build --release -p mapscope
cargo build -p fixtures
cc -O2 -o "$root/target/mapscope-floor" "$here/floor.c"
if [[ "${BENCH_LARGE:-0}" == 1 ]]; then
  # A binary with a lot of DWARF, built on demand only (own workspace and target dir).
  cargo build --release --manifest-path "$here/corpus/Cargo.toml" --target-dir "$root/target/bench-corpus"
fi
exec python3 "$here/bench.py" "$root"
