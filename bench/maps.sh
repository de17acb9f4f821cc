#!/usr/bin/env bash
# Map operations: insert and lookup of N int64 keys (default 1e6), then of N string keys (their
# decimal text), in gomap::Map, std HashMap and Go 1.19's map[int64]int64 / map[string]int64,
# run side by side. Prints a Markdown table and writes it into docs/BENCHMARKS.md, section
# "Map operations".
#
# usage: bench/maps.sh [N] [REPS]     (defaults 1000000 and 7; GO=/path/to/go for Go 1.19)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

N=${1:-1000000}
REPS=${2:-7}
[[ $N =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number, got '$N'"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive number, got '$REPS'"

# Describe the machine before the runs: the load average at start is the one that matters.
MACHINE=$(machine)
build_fixtures
build_go mapbench

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# Alternate the two programs, twice each, and keep the best median of each line: background
# load on a shared machine then hurts both sides alike.
for _ in 1 2; do
    "$ROOT/target/release/map-bench" --n "$N" --reps "$REPS" >>"$out"
    "$GOBIN_DIR/mapbench" -n "$N" -reps "$REPS" >>"$out"
done

# "NAME OP min_ns=X median_ns=Y" lines -> best min and best median per NAME OP.
best() { # name op field
    grep "^$1 $2 " "$out" | sed "s/.*$3=\([0-9.]*\).*/\1/" | sort -g | head -n1
}

table=$(
    echo "| Operation | gomap (ns/op) | Go 1.19 map (ns/op) | gomap / Go | std HashMap, SipHash (ns/op) | std HashMap, gomap's hash (ns/op) |"
    echo "| --- | --- | --- | --- | --- | --- |"
    for op in insert lookup insert-str lookup-str; do
        g=$(best gomap "$op" median_ns)
        go=$(best go-map "$op" median_ns)
        sip=$(best std-siphash "$op" median_ns)
        gh=$(best std-gohash "$op" median_ns)
        [ -n "$g" ] && [ -n "$go" ] || die "no '$op' line from map-bench or mapbench"
        ratio=$(awk -v a="$g" -v b="$go" 'BEGIN { printf "%.2f", a / b }')
        case $op in
        *-str) label="${op%-str}, string" ;;
        *) label="$op, int64" ;;
        esac
        echo "| $label | $g | $go | ${ratio}x | $sip | $gh |"
    done
)
echo "$table"
worst=$(echo "$table" | awk -F'|' 'NR > 2 { gsub(/[ x]/, "", $5); if ($5 > w) w = $5 } END { print w }')
verdict=$(awk -v w="$worst" 'BEGIN { print (w <= 1.25 ? "met" : "missed") }')
echo "gomap / Go worst ratio ${worst}x: target 1.25x $verdict"

{
    echo "## Map operations"
    echo
    echo "Insert, then look up, $N \`int64\` keys (a fixed splitmix64 sequence, no size hint, a fresh"
    echo "map per repetition; lookups are \`v := m[k]\`, summed), then $N string keys, the decimal"
    echo "text of the same numbers (mostly 18 to 20 bytes), made before the timing. Each program runs"
    echo "$REPS repetitions, twice, alternating; the table shows the best median ns/op of each."
    echo
    echo "- gomap: \`gomap::Map<i64, i64>\` (\`insert\` → \`assign_fast64\`, \`get_or_zero\` → \`access1_fast64\`)"
    echo "  and \`gomap::Map<&'static str, i64>\` (\`assign_faststr\`, \`access1_faststr\`), \`target/release/map-bench\`."
    echo "- Go 1.19: \`map[int64]int64\` and \`map[string]int64\`, \`fixtures/go/mapbench\` built with $("$GO" version | cut -d' ' -f3)."
    echo "- std HashMap with its default SipHash-1-3, and with gomap's hash function (\`gomap::hash_u64\`,"
    echo "  \`gomap::hash_bytes\` through a \`BuildHasher\`) to compare the tables rather than the hashers."
    echo
    echo "Command: \`bench/maps.sh $N $REPS\` (also \`make bench\`)."
    echo "Machine: $MACHINE."
    echo
    echo "$table"
    echo
    echo "Target: gomap within 1.25x of Go's map. Worst ratio ${worst}x: target $verdict."
    echo
    echo "Raw output:"
    echo
    echo '```'
    cat "$out"
    echo '```'
} | python3 "$ROOT/bench/update-section.py" "$BENCH_MD" "Map operations"
echo "wrote section 'Map operations' of ${BENCH_MD#"$ROOT"/}"
