#!/usr/bin/env bash
# `make demo`: build the fixtures, show gomap's header layout as gdb reads it from DWARF, walk the
# `grow` fixture through its checkpoints, and let `concurrent-writes` die the way Go's map does.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "build (cargo build --workspace)"
cargo build --workspace -q

step "gomap's header, as gdb reads it from the fixture's DWARF (Go 1.19: 48 bytes)"
gdb -nx -batch -ex 'ptype /o gomap::runtime::Hmap::<i64, i64>' target/debug/grow 2>/dev/null \
    | grep -v '^warning\|auto-load\|^of file\|^Use `info'

step "grow: a single-threaded map through doublings and a same-size grow (--print)"
target/debug/grow --print

step "concurrent-writes: 10 writers x 100 inserts, no lock (Go's seed example)"
set +e
target/debug/concurrent-writes 2>/tmp/mapscope-demo-fatal.txt
status=$?
set -e
head -n 4 /tmp/mapscope-demo-fatal.txt
echo "exit status: $status (Go's fatal errors exit with 2)"
