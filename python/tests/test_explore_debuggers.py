"""`mapscope explore` end to end under gdb and lldb: from the ghost-read fixture with no schedule,
the search finds the ghost read within its budget, gdb and lldb write the same scenario and
expected transcript, and `mapscope replay` passes that scenario every time (REPLAY_LOOPS runs,
20 by default) under both debuggers. Bad input is status 2; a search that finds nothing is 0."""

import json
import os
import shutil
import subprocess

import pytest
from conftest import REPO, TARGET, missing
from test_replay import DEBUGGERS, LOOPS, replay

EXPLORE = REPO / "fixtures" / "scenarios" / "explore"
FIXTURES = {"MAPSCOPE_FIXTURES": str(TARGET)}


def explore(path, *extra, timeout=400):
    """``mapscope explore PATH ...``: (exit status, stdout, stderr)."""
    mapscope = TARGET / "mapscope"
    if not mapscope.exists():
        missing(f"{mapscope} not built")
    done = subprocess.run(
        [str(mapscope), "explore", str(path), *extra],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env=dict(os.environ, **FIXTURES),
    )
    return done.returncode, done.stdout, done.stderr


def need(debugger):
    if not shutil.which(DEBUGGERS[debugger]):
        missing(f"{DEBUGGERS[debugger]} is not installed")


def test_the_ghost_read_is_found_from_scratch_and_its_scenario_replays(tmp_path):
    written = {}
    for debugger in DEBUGGERS:
        need(debugger)
        out = tmp_path / debugger
        status, stdout, stderr = explore(
            EXPLORE / "ghost-read.toml",
            "--debugger",
            debugger,
            "--until",
            "ghost read",
            "--budget",
            "4m",
            "--write-scenarios",
            str(out),
            "--json",
            str(tmp_path / f"{debugger}.json"),
        )
        assert status == 1, stdout + stderr
        assert "explore: " in stderr, "no progress line on stderr"
        result = json.loads((tmp_path / f"{debugger}.json").read_text())
        ghost = [f for f in result["failures"] if f["kind"] == "wrong"]
        assert len(ghost) == 1 and ghost[0]["summary"].startswith(
            'wrong result: exit status 3: ghost read: key 50 is present but the reader got "missing"'
        ), stdout
        assert ghost[0]["preemptions"] == 2 and ghost[0]["steps"] == 3
        assert result["pruned"] > 0 and result["stopped"] == "found 'ghost read'"
        assert "shortest schedule: 2 preemptions, 3 steps: reader until probe reader-entry-checked, " in stdout
        written[debugger] = {p.name: p.read_text() for p in sorted(out.iterdir())}
        path = ghost[0]["scenario"]
        assert path and path.endswith(".toml"), ghost[0]
    # The same search under gdb and lldb: the same schedules, the same files, byte for byte.
    assert written["gdb"] == written["lldb"]
    scenario = tmp_path / "gdb" / os.path.basename(path)
    text = scenario.read_text()
    assert 'until = "probe evacuate-marked"\nbucket = 0' in text and 'until = "exit"' in text
    for debugger in DEBUGGERS:
        for run in range(LOOPS):
            status, out = replay(scenario, debugger, env=FIXTURES)
            assert status == 0, f"{debugger}, run {run + 1} of {LOOPS}:\n{out}"
            assert "ghost read: key 50 is present" in out and "transcript matches" in out


def test_a_search_that_finds_nothing_exits_0():
    need("gdb")
    status, stdout, stderr = explore(EXPLORE / "concurrent-writes.toml", "--bound", "0")
    assert status == 0, stdout + stderr
    assert "schedules by preemptions: 0: 2" in stdout and "search complete" in stdout
    assert "no failure found" in stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["no-such.toml"], "no scenario file no-such.toml"),
        ([str(REPO / "fixtures" / "scenarios" / "ghost-read.toml")], "scenario ghost-read has steps"),
        ([str(EXPLORE / "ghost-read.toml"), "--budget", "soon"], "--budget is seconds (60s, 2m, 1h)"),
        ([str(EXPLORE / "ghost-read.toml"), "--seed", "3"], "--seed goes with --pct or --random"),
        ([str(EXPLORE / "ghost-read.toml"), "--pct", "0"], "--pct needs a depth of at least 1"),
        ([str(EXPLORE / "ghost-read.toml"), "--pct", "3", "--bound", "2"], "cannot be used with"),
    ],
    ids=["missing", "with-steps", "budget", "seed", "depth", "two-strategies"],
)
def test_bad_input_is_one_line_and_status_2(args, message):
    need("gdb")
    status, stdout, stderr = explore(*args)
    assert status == 2, stdout + stderr
    assert message in stdout + stderr
    assert "Traceback" not in stdout + stderr
    errors = [line for line in stderr.splitlines() if line.startswith("mapscope: error:")]
    assert len(errors) == 1, stderr


@pytest.mark.parametrize("debugger", ["gdb", "lldb"])
def test_two_go_writers_race_is_found_and_a_go_program_needs_its_map_type(tmp_path, debugger):
    need(debugger)
    if not (TARGET / "go-concurrent-writes").exists():
        missing("the Go fixtures are not built")
    status, stdout, stderr = explore(
        EXPLORE / "go-concurrent-writes.toml", "--debugger", debugger, "--until", "concurrent map writes"
    )
    assert status == 1, stdout + stderr
    assert "fatal error: concurrent map writes, detected by writer-" in stdout
    assert (
        "shortest schedule: 1 preemption, 2 steps: writer-1 until probe writer-set-writing, writer-2 until fatal"
        in (stdout)
    )
    # Without the map type, the runtime's own maps would be searched too: refused.
    text = (EXPLORE / "go-concurrent-writes.toml").read_text()
    scenario = tmp_path / "go-writers.toml"
    scenario.write_text(text[: text.index("[explore]")])
    status, stdout, stderr = explore(scenario, "--debugger", debugger)
    assert status == 2, stdout + stderr
    assert 'on a Go program, name the map type to search in the scenario: [explore] type = "map[K]V"' in stdout
