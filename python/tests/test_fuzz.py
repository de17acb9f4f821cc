"""A quick property run of the Python fuzzing (bench/fuzz_python.py runs 1e5 inputs each):
damaged profiles and scenarios give MapscopeError with one line, never another exception."""

import fuzzing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mutants import mutated

QUICK = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


@QUICK
@given(st.one_of(mutated(fuzzing.GOMAP_PROFILE), mutated(fuzzing.GO_PROFILE), mutated(fuzzing.IMAGE_PROFILE)))
def test_damaged_profiles_give_one_line_errors(data):
    fuzzing.use_profile(data)


@QUICK
@given(st.sampled_from(fuzzing.SCENARIOS).flatmap(mutated))
def test_damaged_scenarios_give_one_line_errors(data):
    fuzzing.use_scenario(data)


@QUICK
@given(st.text(max_size=300))
def test_any_text_as_a_scenario(text):
    fuzzing.use_scenario_text(text)
