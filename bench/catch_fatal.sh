#!/usr/bin/env bash
# How often 'hmap catch fatal' names both offenders on the Go fixtures: each racing Go program
# (target/debug/go-NAME, -gcflags=all=-N -l) runs RUNS times (default 20) under gdb and under
# lldb with 'hmap catch fatal', and each run is classified by the report:
#   both     the detecting goroutine and another one still inside a map role are named
#   left     the misuse was caught, but the other offender had already left the map code
#            (the report says so)
#   no fatal the race did not happen or was not detected this run
#   hung     the debugger did not end within 60 s (gdb 13 and lldb 16 now and then leave an
#            exited multi-threaded program unreaped and wait forever)
# Prints a Markdown table and writes it into docs/BENCHMARKS.md, section "Catching the fatal
# error on Go programs: both offenders named".
#
# usage: bench/catch_fatal.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUNS=${1:-20}
SECTION="Catching the fatal error on Go programs: both offenders named"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, got '$RUNS'"
command -v gdb >/dev/null || die "gdb not found"
command -v lldb-16 >/dev/null || die "lldb-16 not found"

MACHINE=$(machine)
cd "$ROOT"
build_go_fixtures

# program | arguments (enough work that most runs collide)
ROWS=(
    "concurrent-writes|-threads 4 -writes 5000"
    "read-write|-writes 20000"
    "iterate-write|-writes 20000"
    "evacuate-race|-writes 1000"
    "cache|"
)

log=$(mktemp)
table=$(mktemp)
trap 'rm -f "$log" "$table"' EXIT

# One run under DEBUGGER; prints both, left, no fatal or hung.
run_once() {
    local debugger=$1 bin=$2 args=$3 status
    set +e
    if [ "$debugger" = gdb ]; then
        # shellcheck disable=SC2086  # the arguments are words
        timeout -k 5 60 gdb -nx -batch -x gdb-scripts/mapscope.py -ex "hmap catch fatal" -ex "run $args" \
            -ex "kill" "$bin" >"$log" 2>&1
    else
        timeout -k 5 60 lldb-16 -b -o "command script import lldb-scripts/mapscope.py" -o "hmap catch fatal" \
            -o "process launch -- $args" -o "kill" "$bin" >"$log" 2>&1
    fi
    status=$?
    set -e
    if [ "$status" = 124 ] || [ "$status" = 137 ]; then echo hung
    elif grep -q "^  also in a map role: " "$log"; then echo both
    elif grep -q "^  no other thread is inside a map role now" "$log"; then echo left
    elif grep -q "^hmap catch fatal: fatal error: " "$log"; then echo "caught, unclassified"
    else echo "no fatal"
    fi
}

{
    echo "| Program and arguments | Debugger | Both named | Caught, the other had left | No fatal error | Debugger hung | Both named / caught |"
    echo "| --- | --- | --- | --- | --- | --- | --- |"
} >"$table"

for row in "${ROWS[@]}"; do
    IFS='|' read -r name args <<<"$row"
    for debugger in gdb lldb; do
        both=0 left=0 none=0 hung=0 odd=0
        for i in $(seq "$RUNS"); do
            printf '\r%s %s: run %d of %d' "$name" "$debugger" "$i" "$RUNS" >&2
            case $(run_once "$debugger" "target/debug/go-$name" "$args") in
                both) both=$((both + 1)) ;;
                left) left=$((left + 1)) ;;
                "no fatal") none=$((none + 1)) ;;
                hung) hung=$((hung + 1)) ;;
                *) odd=$((odd + 1)) ;;
            esac
        done
        printf '\r\033[K' >&2
        [ "$odd" = 0 ] || die "$name under $debugger: $odd runs reported a fatal error without naming anyone"
        caught=$((both + left))
        ratio=$([ "$caught" -gt 0 ] && awk -v b="$both" -v c="$caught" 'BEGIN { printf "%.2f", b / c }' || echo -)
        echo "| \`go-$name $args\` | $debugger | $both/$RUNS | $left/$RUNS | $none/$RUNS | $hung/$RUNS | $ratio |" | tee -a "$table"
    done
done

{
    echo "## $SECTION"
    echo
    echo "Each Go fixture (\`target/debug/go-NAME\`, built with \`-gcflags=all=-N -l\` by Go 1.19) run $RUNS times"
    echo "under each debugger with \`hmap catch fatal\` and nothing else. A run counts as *both named* when"
    echo "the report names the detecting goroutine and another goroutine still inside a map role"
    echo "(\`also in a map role: ...\`), as *the other had left* when the report says that no other thread"
    echo "is inside a map role: Go checks \`hashWriting\` at a write's entry and end, so the goroutine that"
    echo "set the flag may have finished its write before the other one looks. *Debugger hung*: the"
    echo "debugger did not end within 60 s (killed): the program had exited, a zombie its debugger never"
    echo "reaped, a bug of gdb 13's and lldb 16's handling of a multi-threaded program's exit."
    echo
    echo "Command: \`bench/catch_fatal.sh $RUNS\`."
    echo "Machine: $MACHINE."
    echo
    cat "$table"
} | python3 "$ROOT/bench/update-section.py" "$BENCH_MD" "$SECTION"
echo "wrote section '$SECTION' of ${BENCH_MD#"$ROOT"/}"
