#!/usr/bin/env bash
# Free-run failure rates: runs each racing program RUNS times (default 100) with no debugger
# and counts how often it dies with its expected Go fatal message (exit status 2). Prints a
# Markdown table and writes it into docs/BENCHMARKS.md, section "Free-run failure rates".
#
# usage: bench/failure-rates.sh [RUNS]      (GO=/path/to/go to pick the Go 1.19 toolchain)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUNS=${1:-100}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, got '$RUNS'"

# Describe the machine before the runs: the load average at start is the one that matters.
MACHINE=$(machine)
build_fixtures
build_go_fixtures
R=$ROOT/target/release
G=$ROOT/target/debug

# label | command | expected fatal message
ROWS=(
    "gomap|$R/concurrent-writes|concurrent map writes"
    "gomap|$R/concurrent-writes --writes 1000|concurrent map writes"
    "gomap|$R/read-write|concurrent map read and map write"
    "gomap|$R/iterate-write|concurrent map iteration and map write"
    "gomap|$R/evacuate-race|concurrent map writes"
    "Go 1.19|$G/go-concurrent-writes-opt|concurrent map writes"
    "Go 1.19|$G/go-read-write-opt|concurrent map read and map write"
    "Go 1.19|$G/go-iterate-write-opt|concurrent map iteration and map write"
)

# One run: prints "expected", "clean", or a short name for any other ending.
outcome() {
    local cmd=$1 want=$2 err rc
    err=$(mktemp)
    set +e
    # A deadlocked run would hang the measurement: 60 s is far beyond any normal run.
    # shellcheck disable=SC2086
    timeout 60 $cmd >/dev/null 2>"$err"
    rc=$?
    set -e
    local first
    first=$(head -n1 "$err")
    rm -f "$err"
    if [ "$rc" = 0 ]; then echo clean
    elif [ "$rc" = 2 ] && [ "$first" = "fatal error: $want" ]; then echo expected
    elif [ "$rc" = 2 ] && [[ $first == "fatal error: "* ]]; then echo "'${first#fatal error: }'"
    elif [ "$rc" = 124 ]; then echo "timeout"
    elif [ "$rc" -gt 128 ]; then echo "SIG$(kill -l $((rc - 128)))"
    else echo "exit $rc"
    fi
}

table=$(mktemp)
trap 'rm -f "$table"' EXIT
{
    echo "| Target | Program | Died with the expected message | Other failures | Ran clean | Rate |"
    echo "| --- | --- | --- | --- | --- | --- |"
} >"$table"

for row in "${ROWS[@]}"; do
    IFS='|' read -r label cmd want <<<"$row"
    declare -A seen=()
    for _ in $(seq "$RUNS"); do
        o=$(outcome "$cmd" "$want")
        seen[$o]=$(( ${seen[$o]:-0} + 1 ))
    done
    expected=${seen[expected]:-0}
    clean=${seen[clean]:-0}
    other=""
    for k in "${!seen[@]}"; do
        [ "$k" = expected ] || [ "$k" = clean ] || other+="${other:+, }${seen[$k]} $k"
    done
    shown=${cmd#"$ROOT"/}
    shown=${shown#target/release/}
    shown=${shown#target/debug/}
    printf '| %s | `%s` | %d (`%s`) | %s | %d | %d/%d |\n' "$label" "$shown" "$expected" \
        "$want" "${other:-0}" "$clean" "$expected" "$RUNS" | tee -a "$table"
    unset seen
done

{
    echo "## Free-run failure rates"
    echo
    echo "How often each racing program, run with no debugger, dies with Go's fatal error for its"
    echo "misuse (exit status 2 and \`fatal error: <message>\` as the first line of stderr). gomap"
    echo "rows are the release builds of the fixtures (\`cargo build -p fixtures --release\`), with"
    echo "default options unless shown; Go rows are the Go fixtures (\`fixtures/go/cmd\`, Go's default"
    echo "optimisation, \`make go-fixtures\`) built with $("$GO" version | cut -d' ' -f3)."
    echo "\"Other failures\" are runs that ended any other way (another fatal message, a signal)."
    echo
    echo "Command: \`bench/failure-rates.sh $RUNS\` ($RUNS runs per row)."
    echo "Machine: $MACHINE."
    echo
    cat "$table"
    echo
    echo "Notes:"
    echo
    echo "- A run that ends cleanly is a race that went unnoticed, as in Go: the checks are best effort."
    echo "- gomap's racing threads spin at a start line until all have started, then run together;"
    echo "  Go's goroutines start as they are created."
    echo "- Rates depend on how many cores are free: with other jobs running, threads rarely overlap"
    echo "  (see the load average above). Compare rows of one run, not runs on different days."
    echo "- SIGSEGV/SIGABRT (glibc heap check) are racing writers corrupting memory before the misuse was"
    echo "  reported. gomap keeps such stray writes inside memory the map owns and parks the other threads"
    echo "  once one reports misuse (Go stops the world), so they are rare; Go turns faults into its own fatal error."
} | python3 "$ROOT/bench/update-section.py" "$BENCH_MD" "Free-run failure rates"
echo "wrote section 'Free-run failure rates' of ${BENCH_MD#"$ROOT"/}"
