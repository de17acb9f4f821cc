"""Transcripts: the events of a replay as JSON Lines, and their comparison with the expected ones.

A transcript is written by the core, never copied from debugger output, and holds no addresses,
thread numbers or timings, so the same scenario gives the same bytes on every run and under gdb
and lldb alike. The expected transcript of ``NAME.toml`` is ``NAME.expected.jsonl`` beside it;
``--bless`` rewrites it on purpose.
"""

import difflib
import json
from pathlib import Path

from .errors import MapscopeError


def dumps(events):
    """The transcript text: one JSON object per line, keys sorted."""
    return "".join(json.dumps(e, sort_keys=True, separators=(", ", ": ")) + "\n" for e in events)


def expected_path(scenario_path):
    p = Path(scenario_path)
    return p.with_name(p.stem + ".expected.jsonl")


def write(path, events):
    try:
        Path(path).write_text(dumps(events), encoding="utf-8")
    except OSError as e:
        raise MapscopeError(f"cannot write transcript {path}: {e.strerror}") from None


def compare(events, expected_file):
    """A unified diff between the expected transcript and ``events`` ('' when equal)."""
    try:
        expected = Path(expected_file).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MapscopeError(f"no expected transcript {expected_file}; run with --bless to create it") from None
    actual = dumps(events)
    if actual == expected:
        return ""
    diff = difflib.unified_diff(
        expected.splitlines(keepends=True), actual.splitlines(keepends=True), str(expected_file), "this run"
    )
    return "".join(diff)


def account(events):
    """A short readable account of a replay, for people."""
    lines = []
    for e in events:
        kind = e["event"]
        if kind == "start":
            lines.append(f"replay of {' '.join([e['fixture'], *e['args']])}: threads {', '.join(e['threads'])}")
        elif kind == "note":
            lines.append(f"  {e['text']}")
        elif kind == "gathered":
            lines.append("  all threads wait at their start line")
        elif kind == "step":
            where = e.get("reached", "?")
            text = f"  step {e['step']}: {e['thread']} ran to {e['wanted']}"
            if "function" in e:
                text += f", stopped in {where} ({e['function']})"
            elif where != e["wanted"]:
                text += f", reached {where}"
            lines.append(text)
            if "map" in e:
                lines.append(f"          map: {e['map']}, {e['entries']} entries readable")
            if e.get("bucket"):
                b = e["bucket"]
                lines.append(f"          {b['array']} bucket {b['index']}: {' '.join(b['tophash'])}")
        elif kind == "snapshot":
            where = ", ".join(f"{t['thread']} in {t.get('role', 'no map role')}" for t in e["threads"])
            lines.append(f"  snapshot: {where}")
        elif kind == "watch":
            lines.append(f"  oldbuckets {e['change']} by {e['role']} in {e['thread']}")
        elif kind == "fatal":
            text = f"  fatal error: {e['message']} detected by {e['thread']} in {e['role']}"
            lines.append(text)
            for o in e["others"]:
                lines.append(f"          meanwhile {o['thread']} was in {o['role']}")
        elif kind == "output":
            lines.append(f"  program said: {e['line']}")
        elif kind == "exit":
            lines.append(f"  exit status: {e['status']}")
        elif kind == "outcome":
            verdict = "PASS" if e["result"] == "pass" else "FAIL: " + "; ".join(e["failures"])
            lines.append(f"outcome: {verdict}")
    return "\n".join(lines)
