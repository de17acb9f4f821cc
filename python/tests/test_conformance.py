"""The adapter conformance suite (conformance.py) over every adapter: the fake, gdb and lldb.

Each check is one test per adapter, so a failure names the check and the debugger."""

import json
import shutil
import subprocess

import conformance
import fake
import pytest
from conftest import DATA, REPO, TARGET, missing
from images import Image
from mapscope_core.profile import Profile
from mapscope_core.target import Target

NAMES = [c.__name__ for c in conformance.CHECKS]


def fake_world():
    image = Image(f"grow-{conformance.CHECKPOINT}.json")
    # The image's profile has layouts only; roles come from the example profile of the same source.
    with open(DATA / "grow-profile.json") as f:
        data = json.load(f)
    with open(REPO / "docs" / "examples" / "gomap-grow.profile.json") as f:
        example = json.load(f)
    data["roles"], data["probes"] = example["roles"], example["probes"]
    adapter = fake.at_checkpoint(image)
    target = Target(adapter)
    target.profile = Profile(data, "grow-profile.json + example roles")
    return conformance.World(adapter, target, image.checkpoint, image.truth)


@pytest.mark.parametrize("check", conformance.CHECKS, ids=NAMES)
def test_fake(check):
    check(fake_world())


def _debugger_verdicts(command, tmp_path):
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=180)
    out = done.stdout + done.stderr
    verdicts = {}
    for line in out.splitlines():
        if line.startswith("CONFORMANCE "):
            _, name, verdict = line.split(" ", 2)
            verdicts[name] = verdict
    assert "setup" not in verdicts, out
    return verdicts, out


def _grow():
    binary = TARGET / "grow"
    if not binary.exists():
        missing(f"{binary} not built (cargo build -p fixtures)")
    return binary


@pytest.fixture(scope="module")
def gdb_verdicts(tmp_path_factory):
    if not shutil.which("gdb"):
        missing("gdb is not installed")
    truth = tmp_path_factory.mktemp("gdb") / "truth.txt"
    script = (
        "import sys; sys.path[:0] = ['python/tests']; import conformance, mapscope_gdb; "
        f"conformance.run_in_debugger(mapscope_gdb.COMMANDS_OF_SESSION.adapter, {str(truth)!r})"
    )
    command = ["gdb", "-nx", "-batch", "-x", "gdb-scripts/mapscope.py", "-ex", f"python {script}", str(_grow())]
    return _debugger_verdicts(command, truth)


@pytest.fixture(scope="module")
def lldb_verdicts(tmp_path_factory):
    if not shutil.which("lldb-16"):
        missing("lldb-16 is not installed")
    truth = tmp_path_factory.mktemp("lldb") / "truth.txt"
    command = [
        "lldb-16",
        "-b",
        "-o",
        "command script import lldb-scripts/mapscope.py",
        "-o",
        "command script import python/tests/lldb_conformance.py",
        "-o",
        f"conformance-run {truth}",
        str(_grow()),
    ]
    return _debugger_verdicts(command, truth)


@pytest.mark.parametrize("name", NAMES)
def test_gdb(gdb_verdicts, name):
    verdicts, out = gdb_verdicts
    assert verdicts.get(name) == "PASS", f"{name}: {verdicts.get(name)}\n{out}"


@pytest.mark.parametrize("name", NAMES)
def test_lldb(lldb_verdicts, name):
    verdicts, out = lldb_verdicts
    assert verdicts.get(name) == "PASS", f"{name}: {verdicts.get(name)}\n{out}"
