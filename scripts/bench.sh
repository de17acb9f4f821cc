#!/usr/bin/env bash
# `make bench`: every measurement, each writing its own section of docs/BENCHMARKS.md.
# The DWARF inspector's bench builds its large corpus binary (about 80 MB of DWARF) on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace -q
cargo build --workspace --release -q
for script in bench/maps.sh bench/failure-rates.sh bench/go-fixtures.sh bench/breakpoints.sh bench/replay.sh bench/explore.sh \
    bench/catch_fatal.sh bench/stop_with_bigmap.sh \
    crates/mapscope/bench/bench.sh; do
    if [ -f "$script" ]; then
        echo "== $script" >&2
        BENCH_LARGE=1 bash "$script"
    fi
done
echo "== bench/breakpoints.sh 3 3 go" >&2
bash bench/breakpoints.sh 3 3 go
echo "== bench/first_print.py" >&2
python3 bench/first_print.py
echo "bench: results in docs/BENCHMARKS.md" >&2
