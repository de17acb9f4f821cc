"""The hmap commands in the core, with no debugger: a fake adapter serves a memory image."""

import re

import fake
import pytest
from images import Image
from mapscope_core.commands import Commands
from mapscope_core.errors import MapscopeError


def session(name):
    """Commands over a fake stopped at the image's checkpoint; 'map' evaluates to the map."""
    image = Image(name)
    s = Commands(fake.at_checkpoint(image))
    s.target.profile = image.profile
    return s, image


def test_show_mid_doubling():
    s, _ = session("grow-2.json")
    out = s.run("show", "map")
    assert "map[i64]i64 at 0x" in out
    assert "  count       106" in out
    assert "  B           5 (32 buckets)" in out
    assert "  flags       iterator|oldIterator (0x03)" in out
    assert "  growing     yes, doubling from 16 buckets: 2/16 old buckets below the evacuation mark" in out


def test_buckets_show_states_and_entries():
    s, image = session("grow-2.json")
    old = s.run("buckets", "map --old --bucket 0")
    assert "bucket 0 evacuated" in old
    assert "evacuatedX  (was [" in old or "evacuatedY  (was [" in old
    new = s.run("buckets", "map")
    listed = {int(k) for k in re.findall(r"\[(\d+)\] = ", new)}
    # The new array holds exactly the entries that are not in unevacuated old buckets.
    assert listed < set(image.truth) and listed


def test_print_lists_exactly_the_live_entries():
    s, image = session("grow-6.json")  # mid same-size grow
    text = s.run("print", "map --all")
    pairs = dict(map(int, p.split("] = ")) for p in text.split("= {", 1)[1].rstrip("}")[1:].split(", ["))
    assert pairs == image.truth


def test_bad_arguments_are_one_line_errors():
    s, _ = session("grow-1.json")
    for command, arguments, message in [
        ("show", "", "the following arguments are required: map"),
        ("buckets", "map --bucket x", "argument --bucket: not a number: 'x'"),
        ("buckets", "map --old --bucket 16", "bucket 16 out of range: the old array has 16"),
        ("show", "nothing", "cannot evaluate 'nothing'"),
        ("watch", "newbuckets map", "invalid choice: 'newbuckets'"),
        ("frobnicate", "", "unknown command 'hmap frobnicate'"),
    ]:
        with pytest.raises(MapscopeError) as e:
            s.run(command, arguments)
        assert message in str(e.value) and "\n" not in str(e.value), (command, str(e.value))
