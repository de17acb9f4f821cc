"""The replay engine without a debugger: the fake adapter runs scripted threads through the
profile's role functions (addresses from the example profile of the grow fixture)."""

import json

import fake
import pytest
from conftest import REPO
from mapscope_core import scenario
from mapscope_core.errors import BadInput, MapscopeError
from mapscope_core.profile import Profile
from mapscope_core.replay import Engine
from mapscope_core.target import Target

GATE = 0x100
MAIN = 0x200


def world(exit_status=0):
    """A fake program whose threads the tests script, and a target over it."""
    with open(REPO / "docs" / "examples" / "gomap-grow.profile.json") as f:
        profile = Profile(json.load(f), "example")
    adapter = fake.FakeAdapter(
        program="/fake/grow", symbols={"fixtures::StartLine::wait": GATE}, exit_status=exit_status
    )
    target = Target(adapter)
    target.profile = profile
    return adapter, target, profile


def entry(profile, role):
    fn = profile.role_functions(role)[0]
    return fn.stop_address


def probe(profile, name):
    return profile.probe_sites(name)[0].address


def scen(steps, threads=("writer",), time_limit=30, **expect):
    data = {"fixture": "grow", "threads": list(threads), "time_limit": time_limit, "step": steps}
    if expect:
        data["expect"] = expect
    return scenario.parse(data)


def run(adapter, target, s):
    return Engine(target).run(s)


def steps_of(events):
    return [(e["thread"], e.get("reached")) for e in events if e["event"] == "step"]


def test_a_schedule_runs_each_thread_to_its_target_in_order():
    adapter, target, profile = world(exit_status=0)
    adapter.add_thread("main", [[MAIN], [MAIN + 1]])
    assign, marked = entry(profile, "assign"), probe(profile, "evacuate-marked")
    adapter.add_thread("writer", [[GATE], [assign + 0x10], [assign], [marked], [assign]])
    events = run(
        adapter,
        target,
        scen(
            [{"thread": "writer", "until": "role assign"}, {"thread": "writer", "until": "probe evacuate-marked"}],
            exit=0,
        ),
    )
    assert [e["event"] for e in events[:2]] == ["start", "gathered"]
    assert steps_of(events) == [("writer", "assign"), ("writer", "evacuate")]
    assert events[-1] == {"event": "outcome", "result": "pass", "failures": []}
    assert adapter.launched_with[1]["MAPSCOPE_REPLAY"] == "1"
    assert adapter.breakpoints == {}, "the engine deletes every breakpoint it set"


def test_a_fatal_stop_is_recorded_with_the_other_threads_in_roles():
    adapter, target, profile = world(exit_status=2)
    assign, fatal = entry(profile, "assign"), entry(profile, "fatal")
    adapter.add_thread("main", [[MAIN]])
    adapter.add_thread("writer-1", [[GATE], [assign]])
    adapter.add_thread("writer-2", [[GATE], [fatal, assign], [MAIN]])
    s = scen(
        [{"thread": "writer-1", "until": "role assign"}, {"thread": "writer-2", "until": "fatal"}],
        threads=("writer-1", "writer-2"),
        fatal_thread="writer-2",
        threads_in_roles=["writer-1"],
    )
    events = run(adapter, target, s)
    fatal_events = [e for e in events if e["event"] == "fatal"]
    assert fatal_events and fatal_events[0]["thread"] == "writer-2" and fatal_events[0]["role"] == "assign"
    assert [o["thread"] for o in fatal_events[0]["others"]] == ["writer-1"]
    assert events[-1]["result"] == "pass", events[-1]


def test_a_thread_that_never_arrives_hits_the_time_limit_through_the_watchdog():
    adapter, target, profile = world()
    adapter.add_thread("main", [[MAIN]])
    adapter.add_thread("writer", [[GATE], [MAIN + 1]], hangs=True)
    with pytest.raises(
        MapscopeError, match=r"time limit of 0.3 s exceeded while step 1: writer waited to reach role assign"
    ):
        run(adapter, target, scen([{"thread": "writer", "until": "role assign"}], time_limit=0.3))
    assert not adapter.running, "the engine kills the program"


def test_a_thread_that_ends_first_is_reported():
    adapter, target, profile = world()
    adapter.add_thread("main", [[MAIN]], hangs=True)  # it waits for the writer
    adapter.add_thread("writer", [[GATE], [MAIN + 1]])
    with pytest.raises(MapscopeError, match="step 1: writer ended before it reached role evacuate"):
        run(adapter, target, scen([{"thread": "writer", "until": "role evacuate"}]))


def test_a_target_the_program_lacks_is_bad_input():
    adapter, target, profile = world()
    with pytest.raises(BadInput, match="step 1: unknown probe 'no-such-probe'"):
        run(adapter, target, scen([{"thread": "writer", "until": "probe no-such-probe"}]))
    assert adapter.launched_with is None, "nothing runs before the scenario is checked"
