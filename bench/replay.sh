#!/usr/bin/env bash
# Replay: runs every scenario in fixtures/scenarios/*.toml and go/*.toml RUNS times (default 20) under gdb and
# under lldb (`mapscope replay --debugger ...`) and counts the passes (exit status 0: expectations held and the transcript matched
# the expected one), with the median wall time per replay. Between replays it runs the same
# fixture with the same arguments with no debugger (MAPSCOPE_REPLAY unset) and counts how often
# the outcome the scenario expects happens by itself: its [expect] exit status, its fatal message
# on stderr (or none, with fatal = false), its output line on stdout. Prints a Markdown table and
# writes it into docs/BENCHMARKS.md, section "Replay". A failing replay's output (with the
# transcript diff) is kept in target/bench-replay/.
#
# BURNERS=N starts N CPU burners (busy loops) for the whole run: the same table under load, written
# into docs/RELIABILITY.md, section "Replay under load" instead.
#
# usage: [BURNERS=N] bench/replay.sh [RUNS]     (default 20)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RUNS=${1:-20}
BURNERS=${BURNERS:-0}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number, got '$RUNS'"
[[ $BURNERS =~ ^[0-9]+$ ]] || die "BURNERS must be a number, got '$BURNERS'"
command -v gdb >/dev/null || die "gdb not found"
command -v lldb-16 >/dev/null || die "lldb-16 not found"

MACHINE=$(machine)
cd "$ROOT"
cargo build --workspace --quiet || die "cargo build failed"
unset MAPSCOPE_REPLAY
FAILS=target/bench-replay
rm -rf "$FAILS"
mkdir -p "$FAILS"
log=$(mktemp)
rows=$(mktemp)
burners=()
trap 'rm -f "$log" "$rows"; [ ${#burners[@]} = 0 ] || kill "${burners[@]}" 2>/dev/null' EXIT
for _ in $(seq "$BURNERS"); do
    (while :; do :; done) &
    burners+=($!)
done
SECTION=Replay OUT=$BENCH_MD PREFIX=""
if [ "$BURNERS" != 0 ]; then
    SECTION="Replay under load" OUT=$ROOT/docs/RELIABILITY.md PREFIX="BURNERS=$BURNERS "
fi

# One free run of a scenario's fixture: prints "matched" when it ends as the scenario expects,
# else how it ended ("exit 0", "exit 2 'bad map state'", "signal 11", "timeout").
free_run() {
    python3 - "$1" <<'EOF'
import os, subprocess, sys, tomllib

with open(sys.argv[1], "rb") as f:
    s = tomllib.load(f)
expect = s.get("expect", {})
env = {k: v for k, v in os.environ.items() if k != "MAPSCOPE_REPLAY"} | s.get("env", {})
try:
    p = subprocess.run([f"target/debug/{s['fixture']}", *s.get("args", [])], env=env,
                       capture_output=True, text=True, timeout=60)
except subprocess.TimeoutExpired:
    sys.exit(print("timeout"))
fatal = next((l[len("fatal error: "):] for l in p.stderr.splitlines() if l.startswith("fatal error: ")), None)
ok = "exit" not in expect or p.returncode == expect["exit"]
if expect.get("fatal") is False:
    ok = ok and fatal is None
elif "fatal" in expect:
    ok = ok and fatal == expect["fatal"]
if "output" in expect:
    ok = ok and any(l.startswith(expect["output"]) for l in p.stdout.splitlines())
status = f"signal {-p.returncode}" if p.returncode < 0 else f"exit {p.returncode}"
print("matched" if ok else status + (f" '{fatal}'" if fatal else ""))
EOF
}
# One run of the scenario's fixture in a debugger, nothing else: the floor under a replay.
plain_run() {
    local debugger=$1 fixture=$2; shift 2
    # gdb 13 now and then aborts or hangs at a multi-threaded Go program's exit: so a time limit,
    # no core file, and the shell's "Aborted" line in /dev/null with the rest.
    if [ "$debugger" = gdb ]; then
        (ulimit -c 0; MAPSCOPE_REPLAY=1 timeout 60 gdb -nx -batch -ex run --args "target/debug/$fixture" "$@" || true) >/dev/null 2>&1
    else
        (ulimit -c 0; MAPSCOPE_REPLAY=1 timeout 60 lldb-16 -b -o run -- "target/debug/$fixture" "$@" || true) >/dev/null 2>&1
    fi
}
median() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }

{
    echo "| Scenario | Fixture and arguments | gdb passes | gdb median s | plain gdb run s | lldb passes | lldb median s | plain lldb run s | Free runs with the same outcome | Other free-run outcomes |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} >"$rows"
slowest=0
failed=""
declare -A quick=([gdb]=0 [lldb]=0) scenarios=0
for toml in fixtures/scenarios/*.toml fixtures/scenarios/go/*.toml; do
    name=${toml#fixtures/scenarios/}
    name=${name%.toml}  # go/ghost-read
    read -r fixture args < <(python3 -c 'import sys, tomllib; s = tomllib.load(open(sys.argv[1], "rb")); print(s["fixture"], *s.get("args", []))' "$toml")
    declare -A passes=([gdb]=0 [lldb]=0) times=([gdb]="" [lldb]="") plain=([gdb]="" [lldb]="") seen=()
    # Replays and free runs alternate, so that both meet the same machine load.
    for i in $(seq "$RUNS"); do
        for debugger in gdb lldb; do
            start=$EPOCHREALTIME
            if target/debug/mapscope replay "$toml" --debugger "$debugger" >"$log" 2>&1; then
                passes[$debugger]=$((passes[$debugger] + 1))
            else
                cp "$log" "$FAILS/${name//\//-}.$debugger.run$i.log"
                failed+=" $FAILS/${name//\//-}.$debugger.run$i.log"
            fi
            times[$debugger]+=" $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
            start=$EPOCHREALTIME
            # shellcheck disable=SC2086  # the arguments split as the scenario lists them
            plain_run "$debugger" "$fixture" $args
            plain[$debugger]+=" $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')"
        done
        o=$(free_run "$toml")
        seen[$o]=$((${seen[$o]:-0} + 1))
    done
    row="| \`$name\` | \`$fixture${args:+ $args}\` |"
    for debugger in gdb lldb; do
        t=$(printf '%s\n' ${times[$debugger]} | median)
        slowest=$(awk -v a="$slowest" -v b="$t" 'BEGIN { print (b > a ? b : a) }')
        quick[$debugger]=$((quick[$debugger] + $(awk -v t="$t" 'BEGIN { print (t <= 0.5) }')))
        row+=" ${passes[$debugger]}/$RUNS | $t | $(printf '%s\n' ${plain[$debugger]} | median) |"
    done
    other=""
    for k in "${!seen[@]}"; do
        [ "$k" = matched ] || other+="${other:+, }${seen[$k]} $k"
    done
    echo "$row ${seen[matched]:-0}/$RUNS | ${other:--} |" | tee -a "$rows"
    scenarios=$((scenarios + 1))
    unset passes times plain seen
done
verdict=$(awk -v s="$slowest" 'BEGIN { print (s < 2 ? "met" : "missed") }')
echo "slowest median replay ${slowest} s: target 2 s $verdict"
rmdir "$FAILS" 2>/dev/null || true
[ -z "$failed" ] || echo "failing replays (output and transcript diff):$failed" >&2

{
    echo "## $SECTION"
    echo
    if [ "$BURNERS" != 0 ]; then
        echo "With $BURNERS CPU burners (\`while :; do :; done\` in bash) running all along, on $(nproc) cores."
        echo
    fi
    echo "Each scenario of \`fixtures/scenarios/\` replayed $RUNS times under each debugger, alternating,"
    echo "with \`target/debug/mapscope replay fixtures/scenarios/NAME.toml --debugger gdb|lldb\` (debug builds)."
    echo "A pass is exit status 0: every expectation held and the transcript equals \`NAME.expected.jsonl\`,"
    echo "the one expected file of both debuggers. The time is the whole run, debugger start-up included."
    echo "Between the replays, free runs start the same fixture with the same arguments without a debugger"
    echo "(\`MAPSCOPE_REPLAY\` unset, so the threads meet at their start line and really race) and count the"
    echo "runs that end as the scenario expects: its \`[expect]\` exit status, its fatal message on stderr"
    echo "(none where \`fatal = false\`) and its \`output\` line on stdout; not who detected the misuse,"
    echo "so \`concurrent-writes\` and \`double-toggle\` count the same outcome (two samples). \`oldbuckets-watch\`"
    echo "expects watchpoint transitions a free run cannot show: its free runs are checked on the exit"
    echo "status and the absence of a fatal error only. \`go/*\` are the Go 1.19 programs of \`fixtures/go/\`"
    echo "(\`target/debug/go-NAME\`, built with \`-gcflags=all=-N -l\`), whose goroutines meet at a start line"
    echo "(\`race.StartLine\`) in free runs too; \`go/cache-read-write\` has none. A plain run is the same"
    echo "fixture run once in the same debugger and nothing else (\`gdb -nx -batch -ex run\`, \`lldb-16 -b -o run\`,"
    echo "\`MAPSCOPE_REPLAY=1\` as under a replay): the floor under a replay's time."
    echo
    echo "Command: \`${PREFIX}bench/replay.sh $RUNS\`."
    echo "Machine: $MACHINE;"
    echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end. Free-run rates swing with the free cores:"
    echo "these fixtures' racing threads do a few writes each, so they only collide when both run at once"
    echo "(on this machine \`concurrent-writes --threads 2 --writes 10\` hit its fatal error 20/20 idle and"
    echo "0/20 with one \`yes >/dev/null\` busy loop beside it). Compare rows of one run only."
    echo
    cat "$rows"
    echo
    echo "Target: every scenario under 2 s. Slowest median ${slowest} s: target $verdict."
    echo "Within 0.5 s (the performance goal): ${quick[gdb]} of $scenarios scenarios under gdb, ${quick[lldb]} of"
    echo "$scenarios under lldb (the plain-run columns are the floor each debugger sets)."
    if [ -n "$failed" ]; then
        echo
        echo "Failing replays: their output, with the transcript diff, is in$failed."
    fi
} | python3 "$ROOT/bench/update-section.py" "$OUT" "$SECTION"
echo "wrote section '$SECTION' of ${OUT#"$ROOT"/}"
