"""The hmap commands in the core, with no debugger: a fake adapter serves a memory image."""

import re

import pytest
from images import Image
from mapscope_core.adapter import Adapter
from mapscope_core.commands import Session
from mapscope_core.errors import MapscopeError


class ImageAdapter(Adapter):
    """Reads a captured image; evaluates nothing but the word 'map' (the image's header)."""

    name = "image"

    def __init__(self, image):
        self.image = image

    def read_memory(self, address, size):
        return self.image.read(address, size)

    def executable(self):
        return ""

    def threads(self, with_frames=False, with_registers=False):
        return []  # an image has no threads (so nothing is in flight)

    def evaluate_map(self, expression):
        if expression != "map":
            raise MapscopeError(f"cannot evaluate {expression!r}")
        return self.image.header, self.image.type_name


def session(name):
    image = Image(name)
    s = Session(ImageAdapter(image))
    s.profile = image.profile
    return s, image


def test_show_mid_doubling():
    s, _ = session("grow-2.json")
    out = s.run("show", "map")
    assert "map[i64]i64 at 0x" in out
    assert "  count       106" in out
    assert "  B           5 (32 buckets)" in out
    assert "  flags       iterator|oldIterator (0x03)" in out
    assert "  growing     yes, doubling from 16 buckets: 4/16 old buckets below the evacuation mark" in out


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
    text = s.format_print(image.header, image.type_name)
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
