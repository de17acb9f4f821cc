#!/usr/bin/env bash
# Installs what mapscope's build, tests and demo need, when it is missing (Debian 12).
# Called by `make deps`, which `make test` and `make demo` run first. Safe to run repeatedly:
# with everything present it only checks and prints nothing.
set -euo pipefail

GO=${GO:-/usr/lib/go-1.19/bin/go}
missing=()

need_cmd() { # need_cmd COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 || missing+=("$2")
}
need_file() { # need_file PATH PACKAGE
    [ -e "$1" ] || missing+=("$2")
}

need_cmd gdb gdb
need_cmd valgrind valgrind
need_cmd llvm-dwarfdump llvm
need_cmd lldb-16 lldb-16
need_cmd pahole dwarves
need_cmd objcopy binutils  # strips a fixture's DWARF in the profile cache tests
need_cmd chromium chromium  # renders mapscope report's pages in the tests (headless)
need_file "$GO" golang-1.19-go
dpkg -s python3-lldb-16 >/dev/null 2>&1 || missing+=(python3-lldb-16)

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: need root to install packages (run 'sudo make deps')" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

py_missing=()
python3 -c 'import pytest' 2>/dev/null || py_missing+=(pytest)
python3 -c 'import hypothesis' 2>/dev/null || py_missing+=(hypothesis)  # the Python fuzzing (test_fuzz.py)
command -v ruff >/dev/null 2>&1 || python3 -m ruff --version >/dev/null 2>&1 || py_missing+=(ruff)
if [ ${#py_missing[@]} -gt 0 ]; then
    echo "deps: pip installing ${py_missing[*]}" >&2
    python3 -m pip install -q --root-user-action=ignore "${py_missing[@]}" >/dev/null
fi

# Go 1.26 (Swiss-table maps) is no Debian package: CI machines have it from go.dev in
# /usr/local/go. Without it the Go 1.26 fixtures (make go126-fixtures) are not built and the
# tests that need them fail; say so, installing nothing.
GO126=${GO126:-$(command -v go 2>/dev/null || echo /usr/local/go/bin/go)}
go126_version=$(GOTOOLCHAIN=local "$GO126" version 2>/dev/null | awk '{print $3}' || true)
case "$go126_version" in
go1.26*) ;;
*) echo "deps: no Go 1.26 at $GO126 (${go126_version:-not found}): install it from https://go.dev/dl into /usr/local/go (without it the Go 1.26 fixtures are not built and their tests fail)" >&2 ;;
esac
