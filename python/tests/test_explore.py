"""The explore search without a debugger: model programs (python/tests/model.py) whose outcome
depends on the interleaving, run by the real executor and search through a fake adapter."""

import pytest
from mapscope_core import explore, scenario, transcript
from mapscope_core.errors import BadInput
from mapscope_core.explore import EVERYTHING, Footprint, Label, footprint, independent
from mapscope_core.replay import Engine
from model import ModelAdapter, entry, probe, target_of

ASSIGN, WEC, WSW = entry("assign"), probe("writer-entry-checked", "assign"), probe("writer-set-writing", "assign")
ITER, IEC = entry("iterate"), probe("iter-entry-checked")
GROW, EVAC = entry("grow_work"), entry("evacuate")
MARKED, COPIED = probe("evacuate-marked"), probe("evacuate-copied")


def at(pc, **variables):
    return {"pcs": [pc], "vars": variables}


def insert(w):
    """One map write with Go's entry check, the hashWriting toggle and the end check."""
    yield [ASSIGN]
    if w.state["writing"]:
        yield from w.fatal("concurrent map writes", ASSIGN)
    yield [WEC]
    w.state["writing"] = not w.state["writing"]
    yield [WSW]
    if not w.state["writing"]:
        yield from w.fatal("concurrent map writes", ASSIGN)
    w.state["writing"] = False


def writers(n=2, writes=1):
    def writer(w):
        for _ in range(writes):
            yield from insert(w)

    return {f"writer-{i}": writer for i in range(1, n + 1)}, {"writing": False}


def ghost():
    """A reader looks up a key in old bucket 0 (slot 1) until the writer is done; the writer's
    one insert evacuates old buckets 5 and 0, marking each slot before copying it."""

    def writer(w):
        yield [ASSIGN]
        if w.state["writing"]:
            yield from w.fatal("concurrent map writes", ASSIGN)
        yield [WEC]
        w.state["writing"] = True
        yield [WSW]
        yield at(GROW, bucket=13)
        for b in (5, 0):
            yield at(EVAC, oldbucket=b)
            for _ in range(2):
                w.state["marked"][b] += 1
                yield at(MARKED, oldbucket=b)
                w.state["copied"][b] += 1
                yield at(COPIED, oldbucket=b)
        w.state["writing"] = False
        w.state["done"] = True

    def reader(w):
        while True:
            done = w.state["done"]
            yield [ITER]
            if w.state["writing"]:
                yield from w.fatal("concurrent map iteration and map write", ITER)
            yield [IEC]
            if w.state["marked"][0] >= 1 and w.state["copied"][0] < 2:
                w.say("ghost read: key 1 is missing")
                w.exit(3)
            if done:
                w.say("reader done")
                return

    state = {"writing": False, "done": False, "marked": {5: 0, 0: 0}, "copied": {5: 0, 0: 0}}
    return {"reader": reader, "writer": writer}, state


def setup(threads, state, **explore_table):
    adapter = ModelAdapter(threads, state)
    data = {"fixture": "model", "threads": list(threads), "time_limit": 10}
    if explore_table:
        data["explore"] = explore_table
    scen = scenario.parse(data)
    target = target_of(adapter)
    executor = explore.DebuggerExecutor(target, scen, block_seconds=0.05)
    return adapter, target, scen, executor


class Recorder:
    """The executor, remembering the choices of every schedule it ran."""

    def __init__(self, executor):
        self.executor, self.ran = executor, []

    def __call__(self, policy):
        self.ran.append(tuple(sorted(getattr(policy, "choices", {}).items())))
        return self.executor(policy)


def search(model, prune=True, **kwargs):
    threads, state = model
    adapter, target, scen, executor = setup(threads, state)
    recorder = Recorder(executor)
    s = explore.Search(recorder, scen.threads, prune=prune, **kwargs)
    return s, recorder, executor


def kinds(s):
    return sorted((f.outcome.kind, f.outcome.summary) for f in s.found())


# -- the model of a step ----------------------------------------------------------------------------


def test_footprints_say_what_commutes():
    marked5 = Label("probe", "evacuate-marked", "evacuate", 5)
    copied5 = Label("probe", "evacuate-copied", "evacuate", 5)
    marked0 = Label("probe", "evacuate-marked", "evacuate", 0)
    copied0 = Label("probe", "evacuate-copied", "evacuate", 0)
    entry_check = footprint(Label("role", "iterate", "iterate"), Label("probe", "iter-entry-checked", "iterate"))
    assert entry_check == Footprint(frozenset({"flags", "header"}), frozenset())
    # Evacuating old bucket 5 commutes with a reader's entry check and with work on bucket 0 ...
    step5 = footprint(marked5, copied5)
    assert independent(step5, entry_check)
    assert independent(step5, footprint(copied0, marked0))
    # ... but not with other work on bucket 5, nor with what is not known.
    assert not independent(step5, footprint(copied5, marked5))
    assert not independent(step5, EVERYTHING)
    # Toggling hashWriting conflicts with an entry check; a step of unknown extent with anything.
    toggle = footprint(Label("probe", "writer-entry-checked", "assign"), Label("probe", "writer-set-writing", "assign"))
    assert not independent(toggle, entry_check)
    assert footprint(Label("probe", "writer-set-writing", "assign"), Label("role", "assign", "assign")) == EVERYTHING
    # Not every point watched: a thread may pass calls unseen, nothing is known.
    assert footprint(marked5, copied5, precise=False) == EVERYTHING


# -- iterative preemption bounding --------------------------------------------------------------------


def test_bounding_enumerates_every_schedule_up_to_the_bound():
    def one(w):
        yield [ASSIGN]

    s, rec, _ = search(({"a": one, "b": one}, {}), prune=False)
    s.bounded(3)
    assert s.complete
    # Bound 0: each thread first, then the other; bound 1: one switch right after the first
    # thread's point; bound 2: and back before the second ends. Nothing has 3 preemptions.
    assert rec.ran == [
        ((0, "a"),),
        ((0, "b"),),
        ((0, "a"), (1, "b")),
        ((0, "b"), (1, "a")),
        ((0, "a"), (1, "b"), (2, "a")),
        ((0, "b"), (1, "a"), (2, "b")),
    ]
    assert {b: run for b, (run, _) in s.per_bound.items()} == {0: 2, 1: 2, 2: 2, 3: 0}
    assert kinds(s) == []


def test_two_writers_need_one_preemption():
    s, _, _ = search(writers())
    s.bounded(0)
    assert s.complete and not s.failures
    s, _, _ = search(writers())
    s.bounded(1)
    found = s.found()
    assert found and all(f.outcome.kind == "fatal" for f in found)
    f = found[0]
    assert f.preemptions == 1
    assert f.outcome.summary.startswith("fatal error: <message not readable>, detected by writer-2 in assign")
    # The shortest schedule: writer-1 stops with hashWriting set, writer-2's entry check dies.
    assert f.run.steps() == [
        {"thread": "writer-1", "until": "probe writer-set-writing"},
        {"thread": "writer-2", "until": "fatal"},
    ]


def test_the_ghost_read_needs_two_preemptions_and_is_found_with_its_shortest_schedule():
    s, _, _ = search(ghost())
    s.bounded(1)
    assert s.complete
    # With one preemption only the iterator's entry check fails (the writer in assign,
    # grow_work or evacuate), never the ghost read.
    assert {k for k, _ in kinds(s)} == {"fatal"} and len(kinds(s)) == 3
    s, _, _ = search(ghost())
    s.bounded(2)
    wrong = [f for f in s.found() if f.outcome.kind == "wrong"]
    assert len(wrong) == 1
    ghost_read = wrong[0]
    assert ghost_read.outcome.summary == "wrong result: exit status 3: ghost read: key 1 is missing"
    assert ghost_read.preemptions == 2
    assert ghost_read.run.steps() == [
        {"thread": "reader", "until": "probe iter-entry-checked"},
        {"thread": "writer", "until": "probe evacuate-marked", "bucket": 0, "show_bucket": 0},
        {"thread": "reader", "until": "exit"},
    ]


def test_pruning_prunes_only_schedules_that_are_the_same_run():
    full, full_rec, _ = search(ghost(), prune=False)
    full.bounded(2)
    pruned, _, executor = search(ghost())
    pruned.bounded(2)
    # Fewer runs (a pruned schedule's own children are not generated either), the same failures.
    assert pruned.pruned > 0 and pruned.schedules + pruned.pruned < full.schedules
    assert kinds(pruned) == kinds(full)
    # Every pruned schedule ends exactly as the schedule it was taken for.
    for choices, same in pruned.pruned_log[:40]:
        a = executor(explore.Forced(dict(choices), ["reader", "writer"]))
        b = executor(explore.Forced(dict(same), ["reader", "writer"]))
        assert explore.classify(a).key == explore.classify(b).key, (choices, same)


def test_a_preemption_is_not_moved_past_a_step_that_conflicts():
    """Moving writer-1's preemption past its toggle of hashWriting changes what writer-2's
    entry check sees: those schedules are both run."""
    s, rec, _ = search(writers())
    s.bounded(1)
    assert ((0, "writer-1"), (2, "writer-2")) in rec.ran and ((0, "writer-1"), (3, "writer-2")) in rec.ran


# -- PCT and random scheduling ---------------------------------------------------------------------


def choices_of(s_runs):
    return [tuple(p.chosen for p in run.points) for run in s_runs]


@pytest.mark.parametrize("strategy", ["pct", "random"])
def test_a_seed_gives_the_same_schedules(strategy):
    def runs(seed):
        threads, state = ghost()
        adapter, target, scen, executor = setup(threads, state)
        seen = []

        def execute(policy):
            run = executor(policy)
            seen.append(tuple(p.chosen for p in run.points))
            return run

        s = explore.Search(execute, scen.threads, schedules=12)
        if strategy == "pct":
            s.pct(3, seed)
        else:
            s.random_walk(seed)
        return seen, kinds(s)

    first, second, other = runs(7), runs(7), runs(8)
    assert first == second
    assert first[0] != other[0] or first != other


def test_pct_change_points_lower_the_running_thread():
    import random

    policy = explore.PCT(["a", "b"], 3, 10, random.Random(1))
    assert sorted(policy.priority.values()) == [3, 4]
    assert sorted(policy.changes.values()) == [1, 2] and all(1 <= i <= 10 for i in policy.changes)
    high = max(policy.priority, key=policy.priority.get)
    index = min(policy.changes)
    point = explore.Point(index, high, "running", ("a", "b"))
    assert policy.choose(point) != high


# -- outcomes -------------------------------------------------------------------------------------------


def run_once(threads, state, **explore_table):
    adapter, target, scen, executor = setup(threads, state, **explore_table)
    s = explore.Search(executor, scen.threads, schedules=1, **_search_args(explore_table))
    s.bounded(0)
    return s


def _search_args(table):
    return {k: v for k, v in table.items() if k in ("clean_exit", "failure_output")}


def test_outcomes_are_classified():
    def ends(status, line=None):
        def body(w):
            yield [ASSIGN]
            if line:
                w.say(line)
            if status is not None:
                w.exit(status)

        return body

    assert [f.outcome.kind for f in run_once({"t": ends(None)}, {}).found()] == []
    assert kinds(run_once({"t": ends(3, "wrong answer")}, {})) == [
        ("wrong", "wrong result: exit status 3: wrong answer")
    ]
    # An exit status the input calls clean, and an output line it calls wrong.
    assert kinds(run_once({"t": ends(1, "x")}, {}, clean_exit=1)) == []
    lost = run_once({"t": ends(0, "2 keys lost")}, {}, failure_output=["2 keys lost"])
    assert kinds(lost) == [("wrong", "wrong result: exit status 0: 2 keys lost")]

    def crasher(w):
        yield [ASSIGN]
        yield from w.crash()

    assert kinds(run_once({"t": crasher}, {})) == [("crash", "crash: SIGSEGV in t (assign)")]

    def waits_forever(w):
        yield [ASSIGN]
        yield from w.block(lambda: False)

    assert kinds(run_once({"t": waits_forever}, {})) == [("hang", "hang: deadlock: t cannot go on")]


def test_a_blocked_thread_lets_the_others_run_and_goes_on_after_them():
    def holder(w):
        w.state["held"] = True
        yield [ASSIGN]
        w.state["held"] = False
        yield [WEC]

    def waiter(w):
        yield from w.block(lambda: not w.state["held"])
        yield [ASSIGN]

    s, rec, _ = search(({"holder": holder, "waiter": waiter}, {"held": False}))
    s.bounded(1)
    assert s.complete and kinds(s) == []


# -- what is written ------------------------------------------------------------------------------------


def test_a_failure_is_written_as_a_scenario_that_replays(tmp_path):
    threads, state = ghost()
    adapter, target, scen, executor = setup(threads, state)
    s = explore.Search(executor, scen.threads)
    s.bounded(2)
    executor.close()
    written = explore.write_failures(target, scen, s.found(), tmp_path)
    by_kind = {f.outcome.kind: (path, note) for f, path, note in written}
    path, note = by_kind["wrong"]
    assert note == "replayed", note
    text = path.read_text()
    assert 'until = "probe evacuate-marked"\nbucket = 0\nshow_bucket = 0\nsnapshot = true' in text
    assert 'output = "ghost read: key 1 is missing"' in text and "exit = 3" in text
    # The written scenario replays, and its expected transcript is this replay's.
    again = Engine(target).run(scenario.load(path))
    assert again[-1]["result"] == "pass"
    assert transcript.compare(again, transcript.expected_path(path)) == ""
    steps = [e for e in again if e["event"] == "step"]
    assert [(e["thread"], e["wanted"], e.get("reached")) for e in steps] == [
        ("reader", "probe iter-entry-checked", "iterate"),
        ("writer", "probe evacuate-marked", "evacuate"),
        ("reader", "exit", "exit"),
    ]
    assert {"event": "exit", "status": 3} in again


def test_explore_inputs_and_options_are_checked(tmp_path):
    s = scenario.parse({"fixture": "f", "threads": ["a"]})
    assert s.steps == [] and s.explore["points"] == []
    with pytest.raises(BadInput, match="has no steps: it is an input for 'mapscope explore'"):
        Engine(target_of(ModelAdapter({}))).run(s)
    with pytest.raises(BadInput, match=r"\[explore\]: 'points' lists 'role NAME' or 'probe NAME'"):
        scenario.parse({"fixture": "f", "threads": ["a"], "explore": {"points": ["jump 3"]}})
    with pytest.raises(BadInput, match=r"\[explore\]: unknown key\(s\) colour"):
        scenario.parse({"fixture": "f", "threads": ["a"], "explore": {"colour": 1}})
    assert explore.parse_budget("60s") == (60.0, None)
    assert explore.parse_budget("2m") == (120.0, None)
    assert explore.parse_budget("500") == (None, 500)
    for bad in ("0", "-3s", "fast", "1e9", "0s"):
        with pytest.raises(BadInput, match="a budget is seconds"):
            explore.parse_budget(bad)
    with pytest.raises(BadInput, match="unknown explore option 'colour'"):
        explore.Options.parse('{"colour": 1}')
    with pytest.raises(BadInput, match="bound must be a whole number"):
        explore.Options.parse('{"bound": -1}')
    path = tmp_path / "with-steps.toml"
    path.write_text('fixture = "f"\nthreads = ["a"]\n[[step]]\nthread = "a"\nuntil = "end"\n')
    status, text = explore.batch(target_of(ModelAdapter({})), str(path))
    assert status == 2 and "explore refused: scenario with-steps has steps" in text
    assert text.endswith("explore exit status: 2")


def test_unknown_points_are_refused():
    with pytest.raises(BadInput, match=r"\[explore\] points: unknown probe 'nope'"):
        setup({"t": None}, {}, points=["probe nope"])


def test_a_schedule_is_shown_with_repeated_steps_counted():
    steps = [{"thread": "reader", "until": "role access"}] * 3 + [
        {"thread": "writer", "until": "probe evacuate-marked", "bucket": 0},
        {"thread": "reader", "until": "exit"},
    ]
    assert explore.schedule_text(steps) == (
        "reader until role access (x3), writer until probe evacuate-marked (0), reader until exit"
    )
