"""The batch entry point of ``mapscope explore``: options, the search of one scenario file, and
the exit status."""

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from .. import scenario as scenarios
from ..errors import BadInput, MapscopeError, guarded
from .executor import DebuggerExecutor
from .output import account, result_json, write_failures
from .search import Search

#: The last line of a batch explore's output: its exit status.
EXPLORE_STATUS = "explore exit status: "
#: Lines of progress start with this (``mapscope explore`` shows them on stderr).
PROGRESS = "explore progress: "


# -- the batch entry point ------------------------------------------------------------------------


@dataclass
class Options:
    """What ``mapscope explore`` asks for (passed as JSON by the front door)."""

    strategy: str = "bounded"  # "bounded", "pct" or "random"
    bound: int = 3
    depth: int = 3
    seed: int = 1
    seconds: object = 60.0
    schedules: object = None
    write: object = None  # directory
    until: object = None  # a text, or a list of texts: stop when a failure mentions one
    json: object = None  # file for the machine-readable result

    @classmethod
    def parse(cls, text):
        try:
            data = json.loads(text) if text else {}
        except ValueError as e:
            raise BadInput(f"explore options are not JSON: {e}") from None
        if not isinstance(data, dict):
            raise BadInput("explore options must be a JSON object")
        o = cls()
        for key, value in data.items():
            if not hasattr(o, key):
                raise BadInput(f"unknown explore option {key!r}")
            setattr(o, key, value)
        if o.strategy not in ("bounded", "pct", "random"):
            raise BadInput(f"strategy must be bounded, pct or random, not {o.strategy!r}")
        for name, low in (("bound", 0), ("depth", 1), ("seed", 0)):
            value = getattr(o, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise BadInput(f"{name} must be a whole number of at least {low}, not {value!r}")
        if o.seconds is not None and (
            not isinstance(o.seconds, (int, float)) or not math.isfinite(o.seconds) or o.seconds <= 0
        ):
            raise BadInput(f"the budget must be a positive number of seconds, not {o.seconds!r}")
        if o.schedules is not None and (not isinstance(o.schedules, int) or o.schedules <= 0):
            raise BadInput(f"the budget must be a positive number of schedules, not {o.schedules!r}")
        if o.until is not None and not (
            isinstance(o.until, str) or (isinstance(o.until, list) and all(isinstance(t, str) for t in o.until))
        ):
            raise BadInput(f"until must be a text or a list of texts, not {o.until!r}")
        return o


def parse_budget(text):
    """``60s``, ``2m``, ``1.5h`` (seconds) or ``500`` (schedules): ``(seconds, schedules)``."""
    t = str(text).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)", t)
    if m:
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
        if seconds > 0:
            return seconds, None
    elif re.fullmatch(r"\d+", t) and int(t) > 0:
        return None, int(t)
    raise BadInput(f"a budget is seconds (60s, 2m) or a number of schedules (500), not {text!r}")


def explore(target, scenario_path, options, progress=None):
    """Searches the scenario at ``scenario_path``: ``(search, written, scen)``."""
    scen = scenarios.load(scenario_path)
    if scen.steps:
        raise BadInput(
            f"scenario {scen.name} has steps: explore searches schedules for a scenario without any "
            "(its fixture, args and threads); replay runs one with steps"
        )
    adapter = target.adapter
    binary = adapter.executable()
    if not binary:
        binary = scenarios.find_fixture(scen)
        adapter.load_program(binary)
    if scenarios.program_name(binary) != scen.fixture:
        raise BadInput(f"scenario {scen.name} runs {scen.fixture}, but the debugger has {binary}")
    if target.require_profile().runtime is not None and not scen.explore.get("type"):
        # Go's runtime uses maps of its own (the environment, say) from the same goroutines:
        # their points would be searched too, and a goroutine preempted inside one holds locks
        # the others wait for, which hides the races of the user's map.
        raise BadInput(
            f"scenario {scen.name}: on a Go program, name the map type to search in the scenario: "
            '[explore] type = "map[K]V"'
        )
    executor = DebuggerExecutor(target, scen)
    search = Search(
        executor,
        scen.threads,
        seconds=options.seconds,
        schedules=options.schedules,
        until=options.until,
        progress=progress,
        clean_exit=scen.explore.get("clean_exit", 0),
        failure_output=scen.explore.get("failure_output", ()),
    )
    try:
        if options.strategy == "bounded":
            search.bounded(options.bound)
        elif options.strategy == "pct":
            search.pct(options.depth, options.seed)
        else:
            search.random_walk(options.seed)
    finally:
        executor.close()
    written = []
    failures = [f for f in search.found()]
    if options.write and failures:
        written = write_failures(target, scen, failures, options.write)
    return search, written, scen


def batch(target, scenario_path, options_text="{}", debugger="", out=print):
    """The batch entry point's logic: ``(exit status, account)``; the status is 0 (the search
    ended and found nothing), 1 (it found failures) or 2 (bad input), also stated on the last
    line of the account. Progress lines go to ``out`` while it runs."""

    def progress(line):
        out(PROGRESS + line)

    try:
        options = Options.parse(options_text)
        search, written, scen = guarded(explore, target, scenario_path, options, progress)
        text = account(scen, options, search, written, debugger)
        if options.json:
            try:
                Path(options.json).write_text(json.dumps(result_json(scen, options, search, written), indent=2) + "\n")
            except OSError as e:
                raise MapscopeError(f"cannot write {options.json}: {e.strerror}") from None
        status = 1 if search.failures else 0
    except BadInput as e:
        status, text = 2, f"explore refused: {e}"
    except MapscopeError as e:
        status, text = 2, f"explore failed: {e}"
    return status, f"{text}\n{EXPLORE_STATUS}{status}"
