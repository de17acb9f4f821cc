#!/usr/bin/env bash
# `make bench`: every measurement, each writing its section of docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
for script in bench/maps.sh bench/failure-rates.sh crates/mapscope/bench/bench.sh; do
    if [ -x "$script" ] || [ -f "$script" ]; then
        echo "== $script" >&2
        bash "$script"
    fi
done
echo "bench: results in docs/BENCHMARKS.md" >&2
