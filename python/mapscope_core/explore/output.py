"""What a search says: each failure's schedule written as a scenario that replays
(:func:`write_failures`), the readable account and the JSON result."""

import json
from pathlib import Path

from .. import scenario as scenarios
from .. import transcript
from ..errors import MapscopeError
from ..replay import Engine
from .search import fatal_expectations

# -- writing what failed --------------------------------------------------------------------------


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def scenario_text(scen, steps, expect, description):
    """A scenario file for ``steps`` of the explore input ``scen``."""
    lines = ['description = """', description.strip(), '"""']
    lines.append(f"fixture = {_toml(scen.fixture)}")
    lines.append(f"args = {_toml(scen.args)}")
    lines.append(f"threads = {_toml(scen.threads)}")
    if scen.gate:
        lines.append(f"gate = {_toml(scen.gate)}")
    lines.append(
        f"time_limit = {_toml(scen.time_limit if scen.time_limit != int(scen.time_limit) else int(scen.time_limit))}"
    )
    if scen.env:
        lines.append(f"env = {_toml(scen.env)}")
    map_type = scen.explore.get("type")
    for step in steps:
        if map_type and step["until"].split(" ")[0] in ("role", "probe"):
            step = {**step, "type": map_type}  # the points of the search were on this type only
        lines += ["", "[[step]]"] + [f"{k} = {_toml(v)}" for k, v in step.items()]
    if expect:
        lines += ["", "[expect]"] + [f"{k} = {_toml(v)}" for k, v in expect.items()]
    return "\n".join(lines) + "\n"


def _snapshot_steps(run, steps):
    """Marks the steps after which the schedule preempts a thread: a snapshot there shows
    where every thread was."""
    # Steps follow stretches; a stretch ends at a point where the next thread was chosen: the
    # point after as many events as the stretch's last one is numbered.
    preempted = {p.events for p in run.points if p.preemptive and p.chosen != p.current}
    ends, count = [], 0
    stretch_thread = None
    for event in run.events:
        if stretch_thread is not None and event.thread != stretch_thread:
            ends.append(count)
        stretch_thread = event.thread
        count = event.index
    ends.append(count)
    out, i = [], 0
    for step_list in _group(steps):
        end = ends[i] if i < len(ends) else None
        if end in preempted:
            step_list[-1]["snapshot"] = True
        out += step_list
        i += 1
    return out


def _group(steps):
    """Steps grouped by stretch (consecutive steps of one thread)."""
    groups = []
    for step in steps:
        if groups and groups[-1][-1]["thread"] == step["thread"]:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def write_failures(target, scen, failures, directory, verify=True):
    """Writes each failure's shortest schedule as ``DIR/<name>-<n>.toml`` with its expected
    transcript, after replaying it once here; returns ``[(failure, path or None, note)]``."""
    out = []
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MapscopeError(f"cannot create {directory}: {e.strerror}") from None
    for n, failure in enumerate(failures, start=1):
        if failure.outcome.kind == "hang":
            out.append((failure, None, "a hang is not written as a scenario (a replay would only time out)"))
            continue
        run = failure.run
        steps = _snapshot_steps(run, run.steps())
        description = (
            f"Found by mapscope explore ({failure.strategy} search, schedule {failure.first_schedule}), "
            f"{failure.preemptions} preemption{'' if failure.preemptions == 1 else 's'}:\n{failure.outcome.summary}"
        )
        text = scenario_text(scen, steps, fatal_expectations(run), description)
        path = directory / f"{scen.name}-{n}.toml"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            raise MapscopeError(f"cannot write {path}: {e.strerror}") from None
        if not verify:
            out.append((failure, path, "not replayed"))
            continue
        written = scenarios.load(path)
        try:
            events = Engine(target).run(written)
        except MapscopeError as e:
            path.unlink()
            out.append((failure, None, f"its schedule did not replay: {e}"))
            continue
        if events[-1]["result"] != "pass":
            path.unlink()
            out.append((failure, None, "its schedule did not replay: " + "; ".join(events[-1]["failures"])))
            continue
        transcript.write(transcript.expected_path(path), events)
        out.append((failure, path, "replayed"))
    return out


# -- the account --------------------------------------------------------------------------------


def strategy_text(o):
    if o.strategy == "bounded":
        return f"iterative preemption bounding up to {o.bound} preemption{'' if o.bound == 1 else 's'}"
    if o.strategy == "pct":
        return f"PCT, depth {o.depth}, seed {o.seed}"
    return f"random scheduling, seed {o.seed}"


def account(scen, options, search, written, debugger):
    """The readable account of a search."""
    lines = [
        f"explore of {scen.fixture} {' '.join(scen.args)}: threads {', '.join(scen.threads)} ({debugger})".replace(
            "  ", " "
        ),
        f"  strategy: {strategy_text(options)}",
    ]
    if search.per_bound:
        per = ", ".join(
            f"{b}: {run}" + (f" (+{pruned} pruned)" if pruned else "") for b, (run, pruned) in search.per_bound.items()
        )
        lines.append(f"  schedules by preemptions: {per}")
    rate = search.schedules / search.elapsed() if search.elapsed() > 0 else 0
    end = "search complete" if search.complete else (search.stopped or "stopped")
    lines.append(
        f"  {search.schedules} schedules run, {search.pruned} pruned, in {search.elapsed():.1f} s "
        f"({rate:.1f}/s), up to {search.longest} points each; {end}"
    )
    if search.errors:
        lines.append(f"  warning: the debugger failed on {len(search.errors)} schedules: {search.errors[0]}")
    if search.diverged:
        lines.append(
            f"  warning: {search.diverged} runs did not follow their schedule (the program is not deterministic)"
        )
    found = search.found()
    notes = {id(f): (path, note) for f, path, note in written}
    if not found:
        lines.append("no failure found")
    else:
        lines.append(f"failures: {len(found)}")
    for n, f in enumerate(found, start=1):
        lines.append(f"  {n}. {f.outcome.summary}")
        lines.append(
            f"     first found by schedule {f.first_schedule} after {f.first_seconds:.1f} s; seen {f.count} "
            f"time{'' if f.count == 1 else 's'}"
        )
        if f.outcome.kind != "hang":
            steps = f.run.steps()
            text = schedule_text(steps)
            lines.append(
                f"     shortest schedule: {f.preemptions} preemption{'' if f.preemptions == 1 else 's'}, "
                f"{len(steps)} steps: {text}"
            )
        if id(f) in notes:
            path, note = notes[id(f)]
            lines.append(f"     written: {path} ({note})" if path else f"     not written: {note}")
    return "\n".join(lines)


def schedule_text(steps):
    """Steps as the account shows them, a run of the same step once with its count:
    ``reader until role access (x45), writer until probe evacuate-marked (0), ...``."""
    shown = []
    for s in steps:
        text = f"{s['thread']} until {s['until']}" + (f" ({s['bucket']})" if "bucket" in s else "")
        if shown and shown[-1][0] == text:
            shown[-1][1] += 1
        else:
            shown.append([text, 1])
    return ", ".join(text if n == 1 else f"{text} (x{n})" for text, n in shown)


def result_json(scen, options, search, written):
    notes = {id(f): (path, note) for f, path, note in written}
    return {
        "scenario": scen.path,
        "strategy": options.strategy,
        "bound": options.bound if options.strategy == "bounded" else None,
        "depth": options.depth if options.strategy == "pct" else None,
        "seed": options.seed if options.strategy != "bounded" else None,
        "schedules": search.schedules,
        "pruned": search.pruned,
        "seconds": round(search.elapsed(), 3),
        "complete": search.complete,
        "stopped": search.stopped,
        "longest": search.longest,
        "per_bound": {str(b): {"run": r, "pruned": p} for b, (r, p) in search.per_bound.items()},
        "failures": [
            {
                "kind": f.outcome.kind,
                "summary": f.outcome.summary,
                "first_schedule": f.first_schedule,
                "first_seconds": round(f.first_seconds, 3),
                "count": f.count,
                "preemptions": f.preemptions,
                "steps": f.steps,
                "scenario": str(notes[id(f)][0]) if id(f) in notes and notes[id(f)][0] else None,
            }
            for f in search.found()
        ],
    }
