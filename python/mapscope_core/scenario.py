"""Replay scenarios: which thread runs to which point, in which order, and what must be seen.

A scenario is a TOML file (docs/scenarios.md). This module reads one and checks every field (its
type, its range, that a step names a declared thread), so that a mistake is reported as one line
naming the field, before anything runs. The engine in :mod:`mapscope_core.replay` runs it.
"""

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BadInput

#: What a step can run a thread to.
TARGET_KINDS = ("role", "probe", "return", "fatal", "exit", "end")
#: The longest replay a scenario may ask for, in seconds.
MAX_TIME_LIMIT = 3600
_TOP_KEYS = (
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
    "explore",
)
_STEP_KEYS = ("thread", "until", "bucket", "growing", "type", "show_bucket", "show_new_bucket", "snapshot")
_EXPECT_KEYS = ("exit", "fatal", "fatal_thread", "output", "watch", "threads_in_roles")
_EXPLORE_KEYS = ("points", "failure_output", "clean_exit", "type")
_MAX_BUCKET = 1 << 40


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
    map_type: object = None  # only stop in maps of this type ("map[int64]int64")
    show_bucket: object = None  # record the tophash states of this bucket at the stop
    old: bool = True  # show_bucket refers to the old array (else the new one)
    snapshot: bool = False  # record where every thread is at the stop

    def describe(self):
        """What the step waits for, filters included."""
        text = self.target.describe()
        if self.bucket is not None:
            text += f" (bucket {self.bucket})"
        if self.growing:
            text += " (while growing)"
        if self.map_type:
            text += f" (in a {self.map_type})"
        return text


@dataclass
class Scenario:
    """A parsed scenario file."""

    name: str
    path: str
    description: str
    fixture: str
    args: list
    threads: list
    gate: object  # the function every thread calls first, or None (see replay.gate_functions)
    time_limit: float
    steps: list
    expect: dict
    watch_oldbuckets: bool = False
    env: dict = field(default_factory=dict)
    #: What ``mapscope explore`` reads from the [explore] table: ``points`` (targets as in
    #: ``until``), ``failure_output`` (output prefixes that mean a wrong result), ``clean_exit``.
    explore: dict = field(default_factory=dict)


def load(path):
    """Reads and checks the scenario at ``path``."""
    p = Path(path)
    try:
        with open(p, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise BadInput(f"cannot read scenario {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"scenario {path} is not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise BadInput(f"scenario {path} is not UTF-8 text") from None
    return parse(data, p)


class _Fields:
    """Typed access to one table of a scenario, naming the key in every complaint."""

    def __init__(self, table, where, allowed, noun="key(s)"):
        if not isinstance(table, dict):
            raise BadInput(f"{where}: must be a table")
        unknown = sorted(set(table) - set(allowed))
        if unknown:
            raise BadInput(f"{where}: unknown {noun} {', '.join(map(str, unknown))}")
        self.table, self.where = table, where

    def _bad(self, key, what):
        return BadInput(f"{self.where}: '{key}' must be {what}, not {self.table[key]!r}")

    def has(self, key):
        return key in self.table

    def string(self, key, default=None, nonempty=True):
        if key not in self.table:
            if default is None:
                raise BadInput(f"{self.where}: missing '{key}'")
            return default
        value = self.table[key]
        if not isinstance(value, str) or (nonempty and not value.strip()):
            raise self._bad(key, "a non-empty string" if nonempty else "a string")
        return value

    def strings(self, key, default=None):
        if key not in self.table:
            if default is None:
                raise BadInput(f"{self.where}: missing '{key}'")
            return default
        value = self.table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "a list of strings")
        return list(value)

    def boolean(self, key, default=False):
        value = self.table.get(key, default)
        if not isinstance(value, bool):
            raise self._bad(key, "true or false")
        return value

    def integer(self, key, low, high):
        if key not in self.table:
            return None
        value = self.table[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self._bad(key, f"an integer from {low} to {high}")
        return value


def parse(data, path=Path("<scenario>")):
    top = _Fields(data, f"scenario {path}", _TOP_KEYS)
    threads = top.strings("threads")
    if not threads or len(set(threads)) != len(threads) or not all(t.strip() for t in threads):
        raise BadInput(f"{top.where}: 'threads' must name at least one thread, each once")
    # A scenario without steps is an explore input (threads and arguments only): the engine
    # refuses to replay it, ``mapscope explore`` searches its schedules.
    steps = data.get("step", [])
    if not isinstance(steps, list):
        raise BadInput(f"{top.where}: 'step' must be [[step]] tables")
    time_limit = data.get("time_limit", 30)
    if (
        not isinstance(time_limit, (int, float))
        or isinstance(time_limit, bool)
        or not math.isfinite(time_limit)
        or not 0 < time_limit <= MAX_TIME_LIMIT
    ):
        raise BadInput(
            f"{top.where}: 'time_limit' must be seconds, above 0 and at most {MAX_TIME_LIMIT}, not {time_limit!r}"
        )
    env = data.get("env", {})
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and k.isidentifier() and isinstance(v, (str, int)) and not isinstance(v, bool)
        for k, v in env.items()
    ):
        raise BadInput(f"{top.where}: 'env' must be a table of NAME = \"value\"")
    return Scenario(
        name=path.stem,
        path=str(path),
        description=top.string("description", default="", nonempty=False),
        fixture=_fixture_name(top),
        args=top.strings("args", default=[]),
        threads=threads,
        gate=top.string("gate") if top.has("gate") else None,
        time_limit=float(time_limit),
        steps=[_step(s, i + 1, threads, top.where) for i, s in enumerate(steps)],
        expect=_expect(data.get("expect", {}), threads, top.where),
        watch_oldbuckets=top.boolean("watch_oldbuckets"),
        env={k: str(v) for k, v in env.items()},
        explore=_explore(data.get("explore", {}), top.where),
    )


def _fixture_name(top):
    name = top.string("fixture")
    if "/" in name or name in (".", ".."):
        raise BadInput(f"{top.where}: 'fixture' is a program name, not a path: {name!r}")
    return name


def _expect(raw, threads, where):
    e = _Fields(raw, f"{where}: [expect]", _EXPECT_KEYS, noun="expectation(s)")
    expect = {}
    if e.has("exit"):
        expect["exit"] = e.integer("exit", 0, 255)
    if e.has("fatal"):
        value = raw["fatal"]
        if value is not False and not (isinstance(value, str) and value):
            raise BadInput(f"{e.where}: 'fatal' must be a message or false, not {value!r}")
        expect["fatal"] = value
    if e.has("fatal_thread"):
        expect["fatal_thread"] = _declared(e.string("fatal_thread"), threads, e.where, "fatal_thread")
    if e.has("threads_in_roles"):
        expect["threads_in_roles"] = [
            _declared(t, threads, e.where, "threads_in_roles") for t in e.strings("threads_in_roles")
        ]
    if e.has("output"):
        expect["output"] = e.string("output")
    if e.has("watch"):
        expect["watch"] = e.strings("watch")
    return expect


def _explore(raw, where):
    e = _Fields(raw, f"{where}: [explore]", _EXPLORE_KEYS)
    explore = {"points": [], "failure_output": e.strings("failure_output", default=[]), "clean_exit": 0}
    for text in e.strings("points", default=[]):
        kind, _, name = text.strip().partition(" ")
        if kind not in ("role", "probe") or not name.strip():
            raise BadInput(f"{e.where}: 'points' lists 'role NAME' or 'probe NAME', not {text!r}")
        explore["points"].append(Target(kind, name.strip()))
    if e.has("clean_exit"):
        explore["clean_exit"] = e.integer("clean_exit", 0, 255)
    if e.has("type"):
        explore["type"] = e.string("type")
    return explore


def _declared(name, threads, where, key):
    if name not in threads:
        raise BadInput(f"{where}: '{key}': thread {name!r} is not one of {', '.join(threads)}")
    return name


def _step(raw, number, threads, where):
    s = _Fields(raw, f"{where}, step {number}", _STEP_KEYS)
    thread = _declared(s.string("thread"), threads, s.where, "thread")
    until = s.string("until")
    kind, _, name = until.strip().partition(" ")
    if kind not in TARGET_KINDS or (kind in ("role", "probe")) != bool(name.strip()):
        raise BadInput(
            f"{s.where}: 'until' must be 'role NAME', 'probe NAME', 'return', 'fatal', 'exit' or 'end', not {until!r}"
        )
    if s.has("show_bucket") and s.has("show_new_bucket"):
        raise BadInput(f"{s.where}: give 'show_bucket' or 'show_new_bucket', not both")
    show_old = s.integer("show_bucket", 0, _MAX_BUCKET)
    show_new = s.integer("show_new_bucket", 0, _MAX_BUCKET)
    bucket = s.integer("bucket", 0, _MAX_BUCKET)
    growing = s.boolean("growing")
    map_type = s.string("type") if s.has("type") else None
    if (bucket is not None or growing or map_type) and kind not in ("role", "probe"):
        raise BadInput(f"{s.where}: 'bucket', 'growing' and 'type' filter a role or probe, not {kind!r}")
    return Step(
        thread=thread,
        target=Target(kind, name.strip()),
        bucket=bucket,
        growing=growing,
        map_type=map_type,
        show_bucket=show_old if show_old is not None else show_new,
        old=show_new is None,
        snapshot=s.boolean("snapshot"),
    )


# -- the program a scenario runs ----------------------------------------------------------------


def program_name(binary):
    """The name a scenario's ``fixture`` gives a program: its file name."""
    return os.path.basename(binary)


def find_fixture(scen):
    """The program of a scenario: in ``$MAPSCOPE_FIXTURES``, else in ``target/debug`` of the
    checkout that holds the scenario file."""
    candidates = []
    explicit = os.environ.get("MAPSCOPE_FIXTURES")
    if explicit:
        candidates.append(Path(explicit) / scen.fixture)
    for parent in Path(scen.path).resolve().parents:
        candidates.append(parent / "target" / "debug" / scen.fixture)
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    raise BadInput(
        f"program {scen.fixture} of scenario {scen.name} not found: build it (cargo build -p fixtures) "
        "or set MAPSCOPE_FIXTURES to its directory"
    )
