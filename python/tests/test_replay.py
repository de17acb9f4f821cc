"""Replaying every scenario under gdb: each must pass, and match its expected transcript, every
time (REPLAY_LOOPS runs each, 20 by default). Also: a wrong expectation and a changed transcript
are caught, and the exit status says so."""

import os
import shutil
import subprocess

import pytest
from conftest import REPO, TARGET
from mapscope_core import scenario

SCENARIOS = sorted((REPO / "fixtures" / "scenarios").glob("*.toml"))
LOOPS = int(os.environ.get("REPLAY_LOOPS", "20"))


def replay(path, fixture=None, timeout=120):
    """Runs one replay in gdb batch mode: (exit status, output)."""
    if not shutil.which("gdb"):
        pytest.skip("gdb is not installed")
    binary = TARGET / (fixture or scenario.load(path).fixture)
    if not binary.exists():
        pytest.skip(f"{binary} not built")
    done = subprocess.run(
        [
            "gdb",
            "-nx",
            "-batch",
            "-x",
            "gdb-scripts/mapscope.py",
            "-ex",
            f"python replay_main({str(path)!r})",
            str(binary),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_passes_every_time(path):
    for run in range(LOOPS):
        status, out = replay(path)
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


def test_a_wrong_expectation_fails(tmp_path):
    path = copy_scenario(tmp_path, "ghost-read", edit_toml=lambda t: t.replace("exit = 3", "exit = 0"))
    status, out = replay(path, "ghost-read")
    assert status == 1, out
    assert "exit status 3, expected 0" in out


def test_a_changed_transcript_fails_with_a_diff(tmp_path):
    path = copy_scenario(tmp_path, "ghost-read", edit_expected=lambda t: t.replace('"evacuatedY"', '"evacuatedX"'))
    status, out = replay(path, "ghost-read")
    assert status == 1, out
    assert "transcript differs" in out and '-{"bucket": {"array": "old", "index": 0, "tophash": ["evacuatedX"' in out


def test_wrong_program_is_a_clear_error():
    status, out = replay(REPO / "fixtures" / "scenarios" / "ghost-read.toml", "grow")
    assert status == 1
    assert "replay failed: scenario ghost-read runs ghost-read, but the debugger has" in out
