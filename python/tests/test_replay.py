"""Replaying every scenario under gdb and under lldb through the front door (`mapscope replay`):
each must pass and match its one expected transcript every time (REPLAY_LOOPS runs each, 10 by
default), so the two debuggers write the same bytes. Also: a wrong expectation and a changed
transcript are caught with status 1, bad input is status 2, and the time limit holds."""

import os
import shutil
import subprocess

import pytest
from conftest import REPO, TARGET, missing

# fixtures/scenarios/explore/ holds explore's inputs (no steps), which replay refuses.
SCENARIOS = sorted(p for p in (REPO / "fixtures" / "scenarios").rglob("*.toml") if p.parent.name != "explore")
NAMES = [str(p.relative_to(REPO / "fixtures" / "scenarios").with_suffix("")) for p in SCENARIOS]  # go/ghost-read
# 10 keeps make test near 7 minutes on 2 cores (20 took it to 9.5); bench/replay.sh runs 20.
LOOPS = int(os.environ.get("REPLAY_LOOPS", "10"))
DEBUGGERS = {"gdb": "gdb", "lldb": "lldb-16"}


def replay(path, debugger="gdb", *extra, timeout=180, env=None):
    """``mapscope replay PATH --debugger DEBUGGER``: (exit status, output)."""
    if not shutil.which(DEBUGGERS[debugger]):
        missing(f"{DEBUGGERS[debugger]} is not installed")
    mapscope = TARGET / "mapscope"
    if not mapscope.exists():
        missing(f"{mapscope} not built")
    done = subprocess.run(
        [str(mapscope), "replay", str(path), "--debugger", debugger, *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env=dict(os.environ, **(env or {})),
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize("path", SCENARIOS, ids=NAMES)
def test_scenario_passes_every_time(path, debugger):
    for run in range(LOOPS):
        status, out = replay(path, debugger)
        assert status == 0, f"run {run + 1} of {LOOPS}:\n{out}"
        assert "outcome: PASS" in out and "transcript matches" in out, out


def copy_scenario(tmp_path, name, edit_toml=None, edit_expected=None):
    src = REPO / "fixtures" / "scenarios" / f"{name}.toml"
    dst = tmp_path / f"{name}.toml"
    text = src.read_text()
    dst.write_text(edit_toml(text) if edit_toml else text)
    expected = src.with_name(f"{name}.expected.jsonl").read_text()
    dst.with_name(f"{name}.expected.jsonl").write_text(edit_expected(expected) if edit_expected else expected)
    return dst


FIXTURES = {"MAPSCOPE_FIXTURES": str(TARGET)}  # the copies in tmp_path are outside the checkout


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_wrong_expectation_fails(tmp_path, debugger):
    path = copy_scenario(tmp_path, "ghost-read", edit_toml=lambda t: t.replace("exit = 3", "exit = 0"))
    status, out = replay(path, debugger, env=FIXTURES)
    assert status == 1, out
    assert "exit status 3, expected 0" in out


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_changed_transcript_fails_with_a_diff(tmp_path, debugger):
    path = copy_scenario(tmp_path, "ghost-read", edit_expected=lambda t: t.replace('"evacuatedY"', '"evacuatedX"'))
    status, out = replay(path, debugger, env=FIXTURES)
    assert status == 1, out
    assert "transcript differs" in out and '-{"bucket": {"array": "old", "index": 0, "tophash": ["evacuatedX"' in out


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_bless_writes_the_expected_transcript(tmp_path, debugger):
    path = copy_scenario(tmp_path, "ghost-read", edit_expected=lambda t: "stale\n")
    status, out = replay(path, debugger, "--bless", "--transcript", str(tmp_path / "run.jsonl"), env=FIXTURES)
    assert status == 0, out
    shipped = (REPO / "fixtures" / "scenarios" / "ghost-read.expected.jsonl").read_text()
    assert path.with_name("ghost-read.expected.jsonl").read_text() == shipped
    assert (tmp_path / "run.jsonl").read_text() == shipped


@pytest.mark.parametrize("debugger", DEBUGGERS)
@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t.replace('fixture = "ghost-read"', 'fixture = "no-such-program"'), "program no-such-program"),
        (lambda t: t.replace("time_limit = 30", "time_limit = nan"), "'time_limit' must be seconds"),
        (lambda t: t.replace("exit = 3", 'exit = "3"'), "'exit' must be an integer"),
        (lambda t: t.replace("\nbucket = 0", "\nbucket = -1"), "'bucket' must be an integer from 0"),
        (lambda t: t.replace("probe evacuate-marked", "probe no-such-probe"), "step 2: unknown probe"),
        (lambda t: t.replace('thread = "reader"', 'thread = "nobody"', 1), "thread 'nobody' is not one of"),
    ],
    ids=["no-program", "nan-time-limit", "string-exit", "negative-bucket", "unknown-probe", "unknown-thread"],
)
def test_bad_scenarios_are_refused_with_status_2(tmp_path, debugger, edit, message):
    path = copy_scenario(tmp_path, "ghost-read", edit_toml=edit)
    status, out = replay(path, debugger, env=FIXTURES)
    assert status == 2, out
    assert message in out, out


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_a_thread_that_ends_before_its_step_is_reported(tmp_path, debugger):
    """The writer never evacuates bucket 999: it finishes its inserts and ends."""

    def edit(text):
        return text.replace("time_limit = 30", "time_limit = 5").replace("\nbucket = 0", "\nbucket = 999")

    path = copy_scenario(tmp_path, "ghost-read", edit_toml=edit)
    status, out = replay(path, debugger, env=FIXTURES, timeout=60)
    assert status == 1, out
    assert "step 2: writer ended before it reached probe evacuate-marked (bucket 999)" in out, out


DEADLOCK = """
description = "writer-2 cannot enter the map while writer-1 is held inside it with the lock taken"
fixture = "safe-mutex"
args = ["--threads", "2", "--readers", "0", "--writes", "10"]
threads = ["writer-1", "writer-2"]
time_limit = 3

[[step]]
thread = "writer-1"
until = "role assign"

[[step]]
thread = "writer-2"
until = "role assign"
"""


@pytest.mark.parametrize("debugger", DEBUGGERS)
def test_the_time_limit_holds_when_a_step_waits_forever(tmp_path, debugger):
    """A schedule the program's own lock forbids: writer-2 sleeps on the mutex forever. The
    watchdog interrupts the debugger at the time limit and the replay says which step waited."""
    path = tmp_path / "deadlock.toml"
    path.write_text(DEADLOCK)
    path.with_name("deadlock.expected.jsonl").write_text("")
    status, out = replay(path, debugger, env=FIXTURES, timeout=60)
    assert status == 1, out
    assert "time limit of 3 s exceeded while step 2: writer-2 waited to reach role assign" in out, out


def test_missing_scenario_file_is_bad_input():
    status, out = replay(REPO / "no-such-scenario.toml")
    assert status == 2 and "no scenario file" in out, out


def test_wrong_program_is_bad_input():
    """Inside a debugger that has another program loaded, hmap replay refuses (status 2)."""
    if not shutil.which("gdb"):
        missing("gdb is not installed")
    done = subprocess.run(
        [
            "gdb",
            "-nx",
            "-batch",
            "-x",
            "gdb-scripts/mapscope.py",
            "-ex",
            "python replay_main('fixtures/scenarios/ghost-read.toml')",
            str(TARGET / "grow"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "replay refused: scenario ghost-read runs ghost-read, but the debugger has" in done.stdout
