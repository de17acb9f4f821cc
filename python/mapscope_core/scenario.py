"""Replay scenarios: which thread runs to which point, in which order, and what must be seen.

A scenario is a TOML file (docs/scenarios.md). This module reads and checks one; the engine in
:mod:`mapscope_core.replay` runs it.
"""

from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from .errors import MapscopeError

#: What a step can run a thread to.
TARGET_KINDS = ("role", "probe", "return", "fatal", "end")


@dataclass
class Target:
    """Where a step stops: a role's functions, a probe point, the return from the current role,
    the fatal report, or the end of the program."""

    kind: str
    name: str = ""

    def describe(self):
        return f"{self.kind} {self.name}".strip()


@dataclass
class Step:
    """One step of the schedule: ``thread`` alone runs until it reaches ``target``."""

    thread: str
    target: Target
    bucket: object = None  # only stop where the role's bucket/oldbucket is this
    growing: bool = False  # only stop while the map is growing
    show_bucket: object = None  # record the tophash states of this old bucket at the stop
    old: bool = True  # show_bucket refers to the old array (else the new one)
    snapshot: bool = False  # record where every thread is at the stop


@dataclass
class Scenario:
    """A parsed scenario file."""

    name: str
    path: str
    description: str
    fixture: str
    args: list
    threads: list
    gate: str
    time_limit: float
    steps: list
    expect: dict
    watch_oldbuckets: bool = False
    env: dict = field(default_factory=dict)


def load(path):
    """Reads and checks the scenario at ``path``."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise MapscopeError(f"cannot read scenario {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise MapscopeError(f"scenario {path} is not valid TOML: {e}") from None
    return parse(data, p)


def parse(data, path=Path("<scenario>")):
    where = f"scenario {path}"
    unknown = set(data) - {
        "description",
        "fixture",
        "args",
        "threads",
        "gate",
        "time_limit",
        "step",
        "expect",
        "watch_oldbuckets",
        "env",
    }
    if unknown:
        raise MapscopeError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("fixture", "threads", "step"):
        if key not in data:
            raise MapscopeError(f"{where}: missing '{key}'")
    threads = _list_of_str(data["threads"], where, "threads")
    steps = [_step(s, i + 1, threads, where) for i, s in enumerate(data["step"])]
    expect = data.get("expect", {})
    if not isinstance(expect, dict):
        raise MapscopeError(f"{where}: 'expect' must be a table")
    unknown = set(expect) - {"exit", "fatal", "fatal_thread", "output", "watch", "map", "threads_in_roles"}
    if unknown:
        raise MapscopeError(f"{where}: unknown expectation(s) {', '.join(sorted(unknown))}")
    return Scenario(
        name=path.stem,
        path=str(path),
        description=str(data.get("description", "")),
        fixture=str(data["fixture"]),
        args=_list_of_str(data.get("args", []), where, "args"),
        threads=threads,
        gate=str(data.get("gate", "fixtures::StartLine::wait")),
        time_limit=float(data.get("time_limit", 30)),
        steps=steps,
        expect=expect,
        watch_oldbuckets=bool(data.get("watch_oldbuckets", False)),
        env={str(k): str(v) for k, v in data.get("env", {}).items()},
    )


def _list_of_str(value, where, key):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MapscopeError(f"{where}: '{key}' must be a list of strings")
    return value


def _step(raw, number, threads, where):
    here = f"{where}, step {number}"
    if not isinstance(raw, dict):
        raise MapscopeError(f"{here}: a step is a table")
    unknown = set(raw) - {"thread", "until", "bucket", "growing", "show_bucket", "show_new_bucket", "snapshot"}
    if unknown:
        raise MapscopeError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}")
    thread = raw.get("thread")
    if thread not in threads:
        raise MapscopeError(f"{here}: thread {thread!r} is not one of {', '.join(threads)}")
    until = str(raw.get("until", ""))
    kind, _, name = until.partition(" ")
    if kind not in TARGET_KINDS or (kind in ("role", "probe") and not name):
        raise MapscopeError(
            f"{here}: 'until' must be 'role NAME', 'probe NAME', 'return', 'fatal' or 'end', not {until!r}"
        )
    show_old, show_new = raw.get("show_bucket"), raw.get("show_new_bucket")
    return Step(
        thread=thread,
        target=Target(kind, name.strip()),
        bucket=raw.get("bucket"),
        growing=bool(raw.get("growing", False)),
        show_bucket=show_old if show_old is not None else show_new,
        old=show_new is None,
        snapshot=bool(raw.get("snapshot", False)),
    )
