# Shared by the bench/ scripts: paths, the Go toolchain, and a machine description.
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GO=${GO:-/usr/lib/go-1.19/bin/go}
# Go wants a writable cache; a fresh CI machine may have no writable HOME, so keep it in target/.
export GOCACHE=${GOCACHE:-$ROOT/target/go-cache}
export GOPATH=${GOPATH:-$ROOT/target/gopath}
GOBIN_DIR=$ROOT/target/go
BENCH_MD=$ROOT/docs/BENCHMARKS.md

die() { echo "$(basename "$0"): $*" >&2; exit 2; }

# Builds the release fixtures (the release profile keeps debug info).
build_fixtures() {
    (cd "$ROOT" && cargo build -p fixtures --release --quiet) || die "cargo build failed"
}

# Builds the Go fixtures (fixtures/go/cmd/NAME) into target/debug/go-NAME and go-NAME-opt.
build_go_fixtures() {
    (cd "$ROOT" && make -s go-fixtures GO="$GO") || die "make go-fixtures failed"
}

# Builds fixtures/go/NAME.go (or a directory) into target/go/NAME.
build_go() {
    [ -x "$GO" ] || die "no Go toolchain at $GO (set GO=...)"
    mkdir -p "$GOBIN_DIR"
    local name=$1 src=$ROOT/fixtures/go/$1
    if [ -d "$src" ]; then
        (cd "$src" && "$GO" build -o "$GOBIN_DIR/$name" main.go) || die "go build $name failed"
    else
        "$GO" build -o "$GOBIN_DIR/$name" "$src.go" || die "go build $name.go failed"
    fi
}

machine() {
    local cpu
    cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
    # The load average matters: other jobs on a shared machine take cores away from the racing
    # threads, and fewer cores means fewer true overlaps (lower failure rates, slower benchmarks).
    echo "$(nproc) CPUs ($cpu), $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg) at start, $(date -u '+%Y-%m-%d %H:%M UTC')"
}
