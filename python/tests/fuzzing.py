"""The properties the Python fuzzing checks, shared by test_fuzz.py (quick) and
bench/fuzz_python.py (the long run): whatever a profile or a scenario holds, loading and using it
raises nothing but MapscopeError, with a one-line message."""

import json
import tomllib

from conftest import DATA, REPO
from images import Image
from mapscope_core import decode, scenario
from mapscope_core.errors import MapscopeError
from mapscope_core.profile import Profile

with open(REPO / "docs" / "examples" / "gomap-grow.profile.json") as f:
    GOMAP_PROFILE = json.load(f)
with open(REPO / "docs" / "examples" / "go-maps.profile.json") as f:
    GO_PROFILE = json.load(f)
with open(DATA / "grow-profile.json") as f:
    IMAGE_PROFILE = json.load(f)
IMAGE = Image("grow-2.json")
SCENARIOS = []
for path in sorted((REPO / "fixtures" / "scenarios").rglob("*.toml")):
    with open(path, "rb") as f:
        SCENARIOS.append(tomllib.load(f))


def _one_line(e):
    text = str(e)
    assert text and "\n" not in text, repr(text)


def use_profile(data):
    """Loads ``data`` as a profile; if it is accepted, uses everything the core reads of it,
    decoding the real memory image of the grow fixture with its layouts. True when nothing
    refused it."""
    try:
        profile = Profile(data, "fuzzed")
        profile.roles(), profile.probes()
        for role in profile.roles():
            for fn in profile.role_functions(role):
                profile.role_function_containing(fn.address)
        for name in profile.probes():
            profile.probe_sites(name)
        for mt in profile.map_types:
            assert mt.description
            header = decode.read_header(IMAGE.read, IMAGE.header, mt)
            for _ in decode.live_entries(IMAGE.read, header):
                pass
        profile.map_type("gomap::Map<i64, i64>")
        return True
    except MapscopeError as e:
        _one_line(e)
        return False


def use_scenario(data):
    """Parses ``data`` as a scenario (a TOML document already read); True when accepted."""
    try:
        scenario.parse(data)
        return True
    except MapscopeError as e:
        _one_line(e)
        return False


def use_scenario_text(text):
    """Reads ``text`` as a scenario file would be read."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return False  # the loader reports it as one line (tested in test_scenario.py)
    return use_scenario(data)
