#!/usr/bin/env bash
# `make demo`: build, profile the ghost-read fixture, and replay the ghost read under gdb and
# under lldb: a reader reports a present key as missing while a writer's growth work is half-way
# through evacuating the reader's bucket. Go's map does this silently; the replay makes it happen on
# every run and shows each step. Then the same ghost read on a real Go 1.19 program, under both
# debuggers. It ends with a picture of the replay (mapscope report).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
out=target/demo
mkdir -p "$out"

step "build (cargo build --workspace; the Go fixtures with Go 1.19)"
cargo build --workspace -q
make -s go-fixtures

step "profile: what mapscope reads from the fixture's DWARF"
target/debug/mapscope profile target/debug/ghost-read -o "$out/ghost-read.profile.json"
python3 - "$out/ghost-read.profile.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
h = p["layouts"]["header"][0]
fields = ", ".join(f"{n}@{f['offset']}" for n, f in sorted(h["fields"].items(), key=lambda kv: kv[1]["offset"]))
print(f"  {h['name']}: {h['size']} bytes: {fields}")
print(f"  roles: {', '.join(f'{r} ({len(fs)})' for r, fs in sorted(p['roles'].items()))}")
print(f"  probes: {', '.join(sorted(p['probes']))}")
PY

step "the same program free-running: the race is rare, and usually ends in a fatal error"
for i in 1 2 3 4 5; do
    set +e
    target/debug/ghost-read --rounds 1 >"$out/free.out" 2>"$out/free.err"
    status=$?
    set -e
    echo "  run $i: exit $status: $( (grep -h 'ghost read\|fatal error' "$out/free.out" "$out/free.err" || echo 'no race seen') | head -1)"
done

status=0
for debugger in gdb lldb; do
    step "mapscope replay fixtures/scenarios/ghost-read.toml --debugger $debugger (one thread at a time)"
    target/debug/mapscope replay fixtures/scenarios/ghost-read.toml --debugger "$debugger" \
        --transcript "$out/ghost-read.$debugger.jsonl" || status=$?
done
echo
if cmp -s "$out/ghost-read.gdb.jsonl" "$out/ghost-read.lldb.jsonl"; then
    echo "gdb and lldb wrote the same transcript: $out/ghost-read.gdb.jsonl"
else
    echo "the gdb and lldb transcripts differ: diff $out/ghost-read.gdb.jsonl $out/ghost-read.lldb.jsonl"
    status=1
fi

for debugger in gdb lldb; do
    step "on Go itself: mapscope replay fixtures/scenarios/go/ghost-read.toml --debugger $debugger"
    target/debug/mapscope replay fixtures/scenarios/go/ghost-read.toml --debugger "$debugger" \
        --transcript "$out/go-ghost-read.$debugger.jsonl" || status=$?
done
echo
if cmp -s "$out/go-ghost-read.gdb.jsonl" "$out/go-ghost-read.lldb.jsonl"; then
    echo "gdb and lldb wrote the same transcript of Go's ghost read: $out/go-ghost-read.gdb.jsonl"
else
    echo "the gdb and lldb transcripts differ: diff $out/go-ghost-read.gdb.jsonl $out/go-ghost-read.lldb.jsonl"
    status=1
fi

step "the picture: mapscope report $out/ghost-read.gdb.jsonl -o $out/ghost-read.html"
target/debug/mapscope report "$out/ghost-read.gdb.jsonl" -o "$out/ghost-read.html" >/dev/null || status=$?
echo "the ghost read, drawn (one lane per thread, the map at each stop, old bucket 0 slot by slot):"
echo "  $(realpath "$out/ghost-read.html")"
exit $status
