"""Decoding Swiss-table maps from real memory (Go 1.26, captured by tools/capture_swiss_images.py)
against the program's own truth, and the moments between states, built from those images the
way the runtime builds them: a directory entry repointed at a grown copy of its table, half of a
split installed, a doubled directory before dirLen is stored, a small map between its group and
its first table. Also headers and tables that are not plausible."""

import base64
import gzip
import json

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from mapscope_core import swiss
from mapscope_core.errors import MapscopeError
from mapscope_core.profile import Profile
from mapscope_core.values import Renderer
from mutants import mutated


class SwissImage:
    """A map's memory at one checkpoint, readable like a live process; new regions can be added."""

    def __init__(self, checkpoint):
        with gzip.open(DATA / f"swiss-{checkpoint}.json.gz", "rt") as f:
            raw = json.load(f)
        self.label, self.view, self.header = raw["label"], raw["view"], raw["header"]
        self.truth = {int(k): v for k, v in raw["truth"].items()}
        self.regions = {int(a): bytearray(base64.b64decode(b)) for a, b in raw["regions"].items()}
        with open(DATA / raw["profile"]) as f:
            self.profile = Profile(json.load(f), raw["profile"])
        self.map_type = self.profile.map_type(raw["type"])
        self.next_free = 1 << 44  # where constructed objects go (no real heap address is there)

    def read(self, address, size):
        for start, data in self.regions.items():
            if start <= address and address + size <= start + len(data):
                return bytes(data[address - start : address - start + size])
        raise MapscopeError(f"cannot read {size} bytes at 0x{address:x}")

    def write(self, address, data):
        for start, region in self.regions.items():
            if start <= address and address + len(data) <= start + len(region):
                region[address - start : address - start + len(data)] = data
                return
        raise AssertionError(f"0x{address:x} is not in the image")

    def add(self, data):
        """Places ``data`` at a fresh address and returns it."""
        address = self.next_free
        self.regions[address] = bytearray(data)
        self.next_free += (len(data) + 0xFFF) & ~0xFFF
        return address

    def field(self, fields, name, base, value):
        f = fields[name]
        self.write(base + f.offset, value.to_bytes(f.size, "little"))

    def decode(self):
        h = swiss.read_header(self.read, self.header, self.map_type)
        return h, swiss.live_entries(self.read, h)

    def entries(self):
        _, found = self.decode()
        r = Renderer(self.read)
        mt = self.map_type
        pairs = [(int(r.render(mt.key_type, e.key)), int(r.render(mt.elem_type, e.elem))) for e in found]
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), "an entry is listed twice"
        return dict(pairs)


@pytest.mark.parametrize("checkpoint", (1, 2, 4, 5))
def test_live_entries_equal_the_programs_truth(checkpoint):
    image = SwissImage(checkpoint)
    h, _ = image.decode()
    assert image.entries() == image.truth
    assert h.used == image.view["used"] == len(image.truth)
    assert h.dirLen == image.view["dirLen"]
    if h.dirLen:
        directory = swiss.read_directory(image.read, h)
        assert len(directory.tables) == image.view["tables"]
        tombstones = sum(swiss.table_slots(image.read, t, image.map_type)["deleted"] for t in directory.tables)
        assert tombstones == image.view["tombstones"]


def test_the_images_cover_the_states():
    assert SwissImage(1).decode()[0].dirPtr == 0
    small, _ = SwissImage(2).decode()
    assert small.small and small.dirPtr and small.summary() == "used=5 small (one group) writing=0"
    shared = SwissImage(4)
    h, _ = shared.decode()
    directory = swiss.read_directory(shared.read, h)
    assert len(directory.entries) > len(directory.tables), "no directory entry is shared"
    for t in directory.tables:
        assert t.entries == 1 << (h.globalDepth - t.localDepth)
        assert t.first % t.entries == 0
    assert SwissImage(5).view["tombstones"] > 0


def test_control_bytes_by_name():
    image = SwissImage(5)
    h, _ = image.decode()
    mt = image.map_type
    states = set()
    for t in swiss.read_directory(image.read, h).tables:
        for _, group in swiss.iter_groups(image.read, t, mt):
            for s in group.slots:
                states.add(s.state)
                if s.live:
                    assert s.ctrl < mt.constants.ctrl_empty and s.h2 == s.ctrl
                else:
                    assert s.ctrl in (mt.constants.ctrl_empty, mt.constants.ctrl_deleted)
    assert states == {"full", "empty", "deleted"}


def _shared_table(image):
    """``(header, directory, table)``: a table that several directory entries point at."""
    h, _ = image.decode()
    directory = swiss.read_directory(image.read, h)
    table = next(t for t in directory.tables if t.entries > 1)
    return h, directory, table


def _copy_table(image, table, keep=None):
    """A copy of ``table`` (struct and group array) at fresh addresses; ``keep(slot)`` says which
    full slots the copy keeps (the others become empty, as in one half of a split)."""
    mt = image.map_type
    groups = bytearray(image.read(table.groups, table.ngroups * mt.group_size))
    used = 0
    for g in range(table.ngroups):
        for i in range(mt.constants.slots_per_group):
            at = g * mt.group_size + mt.ctrl.offset + i
            if groups[at] & mt.constants.ctrl_empty == 0:
                if keep is None or keep(g * mt.constants.slots_per_group + i):
                    used += 1
                else:
                    groups[at] = mt.constants.ctrl_empty
    new_groups = image.add(groups)
    struct = image.add(image.read(table.address, mt.table_size))
    image.field(mt.table, "used", struct, used)
    base = struct + mt.table["groups"].offset
    image.write(base + mt.groups["data"].offset, new_groups.to_bytes(8, "little"))
    return struct


def _set_entry(image, h, index, table):
    image.write(h.dirPtr + index * image.map_type.pointer_size, table.to_bytes(8, "little"))


def test_a_directory_being_repointed_at_a_grown_table():
    """replaceTable has pointed the first entry of the block at the new table, not the rest:
    old and new tables hold the same entries, listed once."""
    image = SwissImage(4)
    h, _, table = _shared_table(image)
    _set_entry(image, h, table.first, _copy_table(image, table))
    assert image.entries() == image.truth
    directory = swiss.read_directory(image.read, h)
    assert len(directory.stale) == 1


def test_a_split_half_installed():
    """The left half of a split is installed in the first entries of the old table's block, the
    right half not yet: the old table (one level shallower) still owns the whole block."""
    image = SwissImage(4)
    h, _, table = _shared_table(image)
    left = _copy_table(image, table, keep=lambda slot: slot % 2 == 0)
    image.field(image.map_type.table, "localDepth", left, table.localDepth + 1)
    for i in range(table.first, table.first + table.entries // 2):
        _set_entry(image, h, i, left)
    assert image.entries() == image.truth
    right = _copy_table(image, table, keep=lambda slot: slot % 2 == 1)
    image.field(image.map_type.table, "localDepth", right, table.localDepth + 1)
    for i in range(table.first + table.entries // 2, table.first + table.entries):
        _set_entry(image, h, i, right)
    assert image.entries() == image.truth  # both halves in place: the old table is gone


def test_a_doubled_directory_before_dirlen_is_stored():
    """installTableSplit has stored the new directory in dirPtr and incremented globalDepth,
    but dirLen still has the old length: the directory is read at the new length."""
    image = SwissImage(4)
    h, directory, _ = _shared_table(image)
    mt = image.map_type
    doubled = b"".join(e.to_bytes(8, "little") * 2 for e in directory.entries)
    new_dir = image.add(doubled)
    image.field(mt.header, "dirPtr", image.header, new_dir)
    image.field(mt.header, "globalDepth", image.header, h.globalDepth + 1)
    image.field(mt.header, "globalShift", image.header, h.globalShift - 1)
    assert image.entries() == image.truth
    h2, _ = image.decode()
    assert len(swiss.read_directory(image.read, h2).entries) == 2 * h.dirLen


def test_a_small_map_becoming_a_table():
    """growToTable stores dirPtr (now a one-entry directory) before dirLen: a full small map
    whose first word points at a depth-0 table of as many entries is read as that directory."""
    image = SwissImage(4)
    h, _, table = _shared_table(image)
    mt = image.map_type
    kept = []

    def first_eight(slot):
        kept.append(slot)
        return len(kept) <= mt.constants.slots_per_group

    copy = _copy_table(image, table, keep=first_eight)
    image.field(mt.table, "localDepth", copy, 0)
    directory = image.add(copy.to_bytes(8, "little") + bytes(mt.group_size))
    image.field(mt.header, "dirPtr", image.header, directory)
    image.field(mt.header, "dirLen", image.header, 0)
    image.field(mt.header, "globalDepth", image.header, 0)
    image.field(mt.header, "used", image.header, mt.constants.slots_per_group)
    h2 = swiss.read_header(image.read, image.header, mt)
    found = swiss.live_entries(image.read, h2)
    copied = swiss.read_table(image.read, copy, mt)
    assert len(found) == copied.used == mt.constants.slots_per_group
    assert {e.table for e in found} == {copy}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("writing", 7, "writing = 7, a flag that is only ever 0 or 1"),
        ("dirLen", 3, "dirLen = 3 is not a power of two"),
        ("dirLen", 1 << 63, "dirLen = -9223372036854775808 is negative"),
        ("globalDepth", 9, "does not go with globalDepth = 9"),
        ("used", 1 << 40, "does not fit in 8 tables"),
        ("dirPtr", 0x10, "is not readable"),
    ],
)
def test_implausible_headers_are_refused(field, value, message):
    image = SwissImage(4)
    image.field(image.map_type.header, field, image.header, value)
    with pytest.raises(MapscopeError) as e:
        image.decode()
    assert str(e.value).startswith(f"0x{image.header:x} does not look like a map header")
    assert message in str(e.value)


def test_a_corrupt_table_is_named():
    image = SwissImage(4)
    h, _, table = _shared_table(image)
    image.field(image.map_type.table, "capacity", table.address, 1000)
    with pytest.raises(MapscopeError, match=r"table 0x[0-9a-f]+ is corrupt or not a table: capacity = 1000"):
        image.entries()
    assert h.used


def test_a_nil_map_and_a_small_group_that_is_no_group():
    image = SwissImage(2)
    with pytest.raises(MapscopeError, match="the map is nil"):
        swiss.read_header(image.read, 0, image.map_type)
    h, _ = image.decode()
    image.write(h.dirPtr + image.map_type.ctrl.offset, bytes([0xC3]))
    with pytest.raises(MapscopeError, match=r"control byte 0xc3 in slot 0, neither empty, deleted nor full"):
        image.decode()


def test_profiles_lacking_what_decoding_needs_are_refused():
    with open(DATA / "swiss-profile.json") as f:
        data = json.load(f)
    data["constants"]["ctrl"]["deleted"] = None
    with pytest.raises(MapscopeError, match=r"constants ctrl.deleted are unknown .*: Swiss maps cannot be decoded"):
        Profile(data)
    with open(DATA / "swiss-profile.json") as f:
        data = json.load(f)
    data["layouts"]["groups"][0]["slot_size"] = 1 << 20
    with pytest.raises(MapscopeError, match="slots do not fit"):
        Profile(data)
    del data["layouts"]["table"]
    with pytest.raises(MapscopeError, match="no table or groups_reference layout"):
        Profile(data)


with open(DATA / "swiss-profile.json") as _f:
    _SWISS_PROFILE = json.load(_f)
_IMAGE = SwissImage(4)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated(_SWISS_PROFILE))
def test_damaged_swiss_profiles_give_one_line_errors(data):
    """Whatever a go-swiss profile holds, loading it and decoding a real image with it raises
    nothing but MapscopeError, with one line."""
    try:
        profile = Profile(data, "fuzzed")
        for mt in profile.map_types:
            assert mt.description
        mt = profile.map_type("map[int64]int64")
        header = swiss.read_header(_IMAGE.read, _IMAGE.header, mt)
        for _ in swiss.iter_live_entries(_IMAGE.read, header):
            pass
    except MapscopeError as e:
        assert str(e) and "\n" not in str(e)
