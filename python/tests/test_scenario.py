"""Scenario files: what the parser accepts and the one-line errors for what it refuses."""

from pathlib import Path

import pytest
from conftest import REPO
from mapscope_core import replay, scenario
from mapscope_core.errors import MapscopeError
from mapscope_core.replay import check

SCENARIOS = sorted((REPO / "fixtures" / "scenarios").rglob("*.toml"))


def test_every_shipped_scenario_parses_and_has_an_expected_transcript():
    assert len(SCENARIOS) >= 7
    for path in SCENARIOS:
        s = scenario.load(path)
        if path.parent.name == "explore":
            # mapscope explore's inputs: no steps, nothing to expect yet.
            assert not s.steps, path
            continue
        assert s.steps and s.expect, path
        assert path.with_name(path.stem + ".expected.jsonl").is_file(), path


def base():
    return {"fixture": "ghost-read", "threads": ["reader", "writer"], "step": [{"thread": "reader", "until": "end"}]}


def test_defaults():
    s = scenario.parse(base(), Path("x.toml"))
    assert s.gate is None and s.time_limit == 30 and s.args == []
    # No gate named: the engine stops gomap fixtures' threads at their start line.
    assert replay.GOMAP_GATE == "fixtures::StartLine::wait"
    assert s.steps[0].target == scenario.Target("end")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("fixture"), "missing 'fixture'"),
        (lambda d: d.update(colour="blue"), "unknown key(s) colour"),
        (lambda d: d.update(threads="reader"), "'threads' must be a list of strings"),
        (lambda d: d["step"][0].update(thread="nobody"), "thread 'nobody' is not one of reader, writer"),
        (lambda d: d["step"][0].update(until="probe"), "'until' must be"),
        (lambda d: d["step"][0].update(until="jump 3"), "'until' must be"),
        (lambda d: d["step"][0].update(speed=2), "unknown key(s) speed"),
        (lambda d: d.update(expect={"colour": 1}), "unknown expectation(s) colour"),
    ],
)
def test_refused(change, message):
    data = base()
    change(data)
    with pytest.raises(MapscopeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        scenario.parse(data, Path("x.toml"))


def test_file_errors(tmp_path):
    with pytest.raises(MapscopeError, match="cannot read scenario"):
        scenario.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("fixture = [")
    with pytest.raises(MapscopeError, match="is not valid TOML"):
        scenario.load(bad)


def test_expectations_are_checked():
    s = scenario.parse(
        dict(base(), expect={"exit": 2, "fatal": "concurrent map writes", "fatal_thread": "writer"}), Path("x.toml")
    )
    good = [
        {"event": "step", "step": 1},
        {"event": "fatal", "message": "concurrent map writes", "thread": "writer", "others": []},
        {"event": "exit", "status": 2},
    ]
    assert check(s, good) == []
    bad = [{"event": "step", "step": 1}, {"event": "exit", "status": 0}]
    assert check(s, bad) == [
        "exit status 0, expected 2",
        "no fatal error, expected 'concurrent map writes'",
        "fatal error detected by None, expected writer",
    ]
