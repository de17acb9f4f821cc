#!/usr/bin/env bash
# A stop with a 1,000,000-entry Go map in scope, with and without mapscope, in gdb and lldb:
# target/debug/go-bigmap fills a map[int64]int64 and calls main.stop(m); at that stop the frame
# line, 'bt' and the arguments are shown REPS times (bench/stop_with_bigmap.py). mapscope's
# summary must not walk the map (entries are children, read lazily and only as far as shown).
# Prints a Markdown table and writes it into docs/BENCHMARKS.md, section "A stop with a
# 1e6-entry Go map in scope".
#
# usage: bench/stop_with_bigmap.sh [ENTRIES] [REPS]      (defaults 1000000 and 5)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ENTRIES=${1:-1000000}
REPS=${2:-5}
SECTION="A stop with a 1e6-entry Go map in scope"
[[ $ENTRIES =~ ^[1-9][0-9]*$ ]] || die "ENTRIES must be a positive number, got '$ENTRIES'"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "REPS must be a positive number, got '$REPS'"
command -v gdb >/dev/null || die "gdb not found"
command -v lldb-16 >/dev/null || die "lldb-16 not found"

MACHINE=$(machine)
cd "$ROOT"
build_go_fixtures
BIN=target/debug/go-bigmap
# The profile is built (and cached) now, so that no timed run pays for it.
python3 -c "import sys; sys.path.insert(0, 'python'); from mapscope_core.profile_cache import build; build('$BIN')" ||
    die "cannot build the profile of $BIN"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# One session; appends its stop and commands times (s) to STOPS and COMMANDS.
session() {
    local debugger=$1 with=$2 load=()
    if [ "$debugger" = gdb ]; then
        [ "$with" = yes ] && load=(-x gdb-scripts/mapscope.py)
        gdb -nx -batch "${load[@]}" \
            -ex "python import sys; sys.path.insert(0, 'bench'); import stop_with_bigmap; stop_with_bigmap.gdb_main()" \
            --args "$BIN" -n "$ENTRIES" >"$log" 2>&1 || die "gdb session failed: $(tail -n3 "$log")"
    else
        [ "$with" = yes ] && load=(-o "command script import lldb-scripts/mapscope.py")
        lldb-16 -b "${load[@]}" -o "command script import bench/stop_with_bigmap.py" -o bench-stop \
            -- "$BIN" -n "$ENTRIES" >"$log" 2>&1 || die "lldb session failed: $(tail -n3 "$log")"
    fi
    local result
    result=$(grep -m1 '^bench-result ' "$log") || die "$debugger session (mapscope: $with) printed no result: $(tail -n3 "$log")"
    STOPS+=("$(sed 's/.*stop=\([0-9.]*\).*/\1/' <<<"$result")")
    COMMANDS+=("$(sed 's/.*commands=\([0-9.]*\).*/\1/' <<<"$result")")
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.4f", v[int((NR + 1) / 2)] }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }

rows=() verdicts=()
for debugger in gdb lldb; do
    declare -A stop=() commands=()
    for with in no yes; do
        STOPS=() COMMANDS=()
        for i in $(seq "$REPS"); do
            printf '\r%s, mapscope %s: session %d of %d' "$debugger" "$with" "$i" "$REPS" >&2
            session "$debugger" "$with"
        done
        stop[$with]=$(median "${STOPS[@]}")
        commands[$with]=$(median "${COMMANDS[@]}")
    done
    printf '\r\033[K' >&2
    total_no=$(awk -v a="${stop[no]}" -v b="${commands[no]}" 'BEGIN { print a + b }')
    total_yes=$(awk -v a="${stop[yes]}" -v b="${commands[yes]}" 'BEGIN { print a + b }')
    ratio=$(awk -v a="$total_yes" -v b="$total_no" 'BEGIN { printf "%.2f", a / b }')
    rows+=("| $debugger | $(ms "${stop[no]}") | $(ms "${stop[yes]}") | $(ms "${commands[no]}") | $(ms "${commands[yes]}") | $(ms "$total_no") | $(ms "$total_yes") | $ratio |")
    echo "${rows[-1]}"
    verdicts+=("$debugger ${ratio}x ($(awk -v r="$ratio" 'BEGIN { print (r <= 1.2 ? "met" : "missed") }'))")
done

{
    echo "## $SECTION"
    echo
    echo "\`$BIN -n $ENTRIES\` fills a \`map[int64]int64\` and stops in \`main.stop(m)\`. Timed inside the"
    echo "debugger (\`bench/stop_with_bigmap.py\`): the run to that stop (the program's work, then the stop,"
    echo "where gdb prints the frame line with the arguments, \`m\` among them), and what a user types there:"
    echo "\`bt\` and the arguments (gdb \`info args\`; lldb \`frame variable\`). Without mapscope gdb shows \`m\` as"
    echo "a bare pointer (\`-nx\`: Go's runtime-gdb.py is not loaded); lldb 16, which has no Go language"
    echo "support, shows no Go variables in \`frame variable\` either way (\`hmap print m\` is mapscope's way there),"
    echo "so its row measures what loading mapscope costs a stop. With mapscope,"
    echo "gdb shows \`m\`'s summary (its count, read from the header) and, for \`info args\`, the first"
    echo "\`print elements\` (200) entries, read lazily. lldb runs with \`process handle SIGURG --stop false\`"
    echo "in both columns (Go's preemption signal, which lldb stops at by default; mapscope sets the same)."
    echo "Medians of $REPS sessions each."
    echo
    echo "Command: \`bench/stop_with_bigmap.sh $ENTRIES $REPS\`."
    echo "Machine: $MACHINE."
    echo
    echo "| Debugger | Run to the stop, without mapscope (ms) | with (ms) | bt and arguments, without (ms) | with (ms) | Stop and show, without (ms) | with (ms) | Ratio |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "Target: stopping and showing a backtrace and the arguments within 1.2x of the debugger without"
    echo "mapscope: ${verdicts[0]}, ${verdicts[1]}."
} | python3 "$ROOT/bench/update-section.py" "$BENCH_MD" "$SECTION"
echo "wrote section '$SECTION' of ${BENCH_MD#"$ROOT"/}"
