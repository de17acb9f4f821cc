#!/usr/bin/env bash
# Free-run outcomes of the Go fixtures: runs each racing Go program (target/debug/go-NAME, built
# with -gcflags=all=-N -l, and go-NAME-opt, Go's default optimisation) RUNS times (default 20)
# with default options and no debugger, and counts how each run ended. Prints a Markdown table
# and writes it into docs/BENCHMARKS.md, section "Go fixtures: free-run outcomes".
#
# usage: bench/go-fixtures.sh [RUNS]      (GO=/path/to/go to pick the toolchain; Go 1.19 by default)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUNS=${1:-20}
SECTION="Go fixtures: free-run outcomes"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, got '$RUNS'"
[ -x "$GO" ] || die "no Go toolchain at $GO (set GO=...)"

MACHINE=$(machine)
MODEL=$(lscpu | sed -n 's/^Model name: *//p' | head -n1)
build_go_fixtures
BIN=$ROOT/target/debug

# program | the outcome that shows its race
ROWS=(
    "concurrent-writes|fatal: concurrent map writes"
    "read-write|fatal: concurrent map read and map write"
    "iterate-write|fatal: concurrent map iteration and map write"
    "evacuate-race|fatal: concurrent map writes"
    "ghost-read|ghost read (exit 3)"
)

# One run: prints a short name of how it ended.
outcome() {
    local bin=$1 err out rc first
    err=$(mktemp)
    out=$(mktemp)
    set +e
    # A deadlocked run would hang the measurement: 60 s is far beyond any normal run.
    timeout 60 "$bin" >"$out" 2>"$err"
    rc=$?
    set -e
    # The first line of stderr, addresses masked, so that equal endings count together.
    first=$(head -n1 "$err" | sed 's/0x[0-9a-f]*/0x.../g' | cut -c1-80)
    if [ "$rc" = 0 ]; then echo "clean (exit 0)"
    elif [ "$rc" = 2 ] && [[ $first == "fatal error: "* ]]; then echo "fatal: ${first#fatal error: }"
    elif [ "$rc" = 2 ] && grep -q '^\[signal SIG' "$err"; then echo "fault: $first"
    elif [ "$rc" = 3 ] && grep -q '^ghost read: ' "$out"; then echo "ghost read (exit 3)"
    elif [ "$rc" = 124 ]; then echo "timeout"
    elif [ "$rc" -gt 128 ]; then echo "SIG$(kill -l $((rc - 128)))"
    else echo "exit $rc: $first"
    fi
    rm -f "$err" "$out"
}

table=$(mktemp)
trap 'rm -f "$table"' EXIT
{
    echo "| Program | Build | Outcomes in $RUNS runs | Showed its race |"
    echo "| --- | --- | --- | --- |"
} >"$table"

for row in "${ROWS[@]}"; do
    IFS='|' read -r name want <<<"$row"
    for variant in "" "-opt"; do
        declare -A seen=()
        for _ in $(seq "$RUNS"); do
            o=$(outcome "$BIN/go-$name$variant")
            seen[$o]=$((${seen[$o]:-0} + 1))
        done
        list=""
        while IFS= read -r k; do
            list+="${list:+, }${seen[$k]} \`$k\`"
        done < <(printf '%s\n' "${!seen[@]}" | sort)
        build="\`-N -l\`"
        [ -n "$variant" ] && build="default"
        printf '| `go-%s%s` | %s | %s | %d/%d |\n' "$name" "$variant" "$build" "$list" \
            "${seen[$want]:-0}" "$RUNS" | tee -a "$table"
        unset seen
    done
done

{
    echo "## $SECTION"
    echo
    echo "How each racing Go fixture (fixtures/go/cmd, built by \`make go-fixtures\` with"
    echo "$("$GO" version | cut -d' ' -f3)) ends when run with default options and no debugger. \"Showed its race\""
    echo "counts runs that ended with the program's own race: Go's fatal error for the misuse, or for"
    echo "\`ghost-read\` the wrong read itself (exit 3). \`-N -l\` is \`target/debug/go-NAME\`, \"default\""
    echo "is \`target/debug/go-NAME-opt\`."
    echo
    echo "Command: \`bench/go-fixtures.sh $RUNS\` ($RUNS runs per row)."
    echo "Machine: $MACHINE; lscpu model name: $MODEL."
    echo
    cat "$table"
    echo
    echo "Notes:"
    echo
    echo "- Go's checks are best effort: a clean exit is a race that went unnoticed."
    echo "- \`ghost-read\` runs 1000 rounds; Go's reader-side check (\`concurrent map read and map"
    echo "  write\`) almost always fires first, so a free run rarely shows the ghost read itself; a"
    echo "  debugger replay is what makes it certain (as fixtures/scenarios/ghost-read.toml does for"
    echo "  the Rust twin)."
    echo "- Rarer endings, which the tests accept: \`fatal error: bad map state\` (evacuate's sanity"
    echo "  check, in concurrent-writes and evacuate-race) and a runtime memory fault reported as"
    echo "  \`panic: runtime error: invalid memory address or nil pointer dereference\` (iterate-write,"
    echo "  in mapiternext): about 1 run in 600 each in a survey of 300 runs per build."
    echo "- Rates depend on how many cores are free; compare rows of one run, not runs on different days."
} | python3 "$ROOT/bench/update-section.py" "$BENCH_MD" "$SECTION"
echo "wrote section '$SECTION' of ${BENCH_MD#"$ROOT"/}"
