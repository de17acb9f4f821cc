"""Shared test setup: the core on sys.path, paths to the checkout and its build."""

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "python"))

TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug"
DATA = Path(__file__).resolve().parent / "data"


class DebuggerFailed(AssertionError):
    """The debugger itself failed, not mapscope: gdb 13 "A problem internal to GDB has been
    detected" ("wait returned unexpected status 0x0"), or gdb 13 or lldb 16 left hanging with
    the program's exit unreaped (the program a zombie). Both happen now and then when a
    multi-threaded program exits. A test that runs a racing program several times may count such
    a run as a miss; any other test fails as usual (this is an AssertionError)."""


def missing(what):
    """A test's tool or fixture is missing: skipped with the reason printed (pytest -rs), or,
    under MAPSCOPE_REQUIRE_FIXTURES (as `make test` runs), failed: CI must never pass a test
    it did not run."""
    import pytest

    if os.environ.get("MAPSCOPE_REQUIRE_FIXTURES"):
        pytest.fail(f"{what} (MAPSCOPE_REQUIRE_FIXTURES is set: run make deps and make build)")
    pytest.skip(what)
