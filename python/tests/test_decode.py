"""Decoding real memory of the `grow` fixture at each of its checkpoints."""

import pytest
from images import Image, grow_images
from mapscope_core import decode
from mapscope_core.values import Renderer


def ints(image, entries):
    mt = image.map_type
    r = Renderer(image.read)
    return [(int(r.render(mt.key_type, e.key)), int(r.render(mt.elem_type, e.elem))) for e in entries]


@pytest.mark.parametrize("name", grow_images())
def test_live_entries_equal_the_fixtures_truth(name):
    image = Image(name)
    header = decode.read_header(image.read, image.header, image.map_type)
    pairs = ints(image, decode.live_entries(image.read, header))
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "an entry is listed twice"
    assert dict(pairs) == image.truth
    assert header.count == len(image.truth)


def test_images_cover_the_interesting_states():
    states = {}
    for name in grow_images():
        image = Image(name)
        h = decode.read_header(image.read, image.header, image.map_type)
        states[image.label] = h
    assert states["mid-doubling"].growing and not states["mid-doubling"].same_size_grow
    assert 0 < states["mid-doubling"].nevacuate < states["mid-doubling"].noldbuckets
    assert states["same-size-mid"].growing and states["same-size-mid"].same_size_grow
    assert states["after-deletes"].noverflow > 0, "no overflow chain in the after-deletes image"


def test_header_fields_and_flag_names():
    image = Image("grow-2.json")
    h = decode.read_header(image.read, image.header, image.map_type)
    assert (h.count, h.B, h.nbuckets, h.noldbuckets) == (106, 5, 32, 16)
    assert h.flag_names == ["iterator", "oldIterator"]
    assert h.summary() == ("count=106 B=5 buckets=32 flags=iterator|oldIterator growing(doubling) evacuated=2/16")


def test_deleted_slots_are_not_entries():
    image = Image("grow-4.json")  # after deleting every key divisible by 3
    mt = image.map_type
    h = decode.read_header(image.read, image.header, mt)
    states = [
        s.state
        for i in range(h.nbuckets)
        for b in decode.read_chain(image.read, decode.bucket_address(h.buckets, i, mt), mt)
        for s in b.slots
    ]
    assert states.count("emptyOne") > 0
    assert all(k % 3 for k, _ in ints(image, decode.live_entries(image.read, h)))


def test_evacuated_old_buckets_are_marked_and_skipped():
    image = Image("grow-2.json")
    mt = image.map_type
    h = decode.read_header(image.read, image.header, mt)
    first = decode.read_chain(image.read, decode.bucket_address(h.oldbuckets, 0, mt), mt)
    assert first[0].evacuated(mt.constants)
    assert {s.state for s in first[0].slots} <= {"evacuatedX", "evacuatedY", "evacuatedEmpty"}
    old_entries = [e for e in decode.live_entries(image.read, h) if e.array == "old"]
    assert old_entries and all(e.bucket >= h.nevacuate for e in old_entries)


def _mid_evacuation(image, stage):
    """The image of grow-2 with the first entry of a not yet evacuated old bucket caught by
    evacuate at ``stage``: "marked" (the old slot says evacuatedX), "tophash" (its destination
    slot's tophash written too), "key" (the key copied as well, the elem not yet). Returns the
    header, the old bucket index and the entry's key."""
    mt = image.map_type
    h = decode.read_header(image.read, image.header, mt)
    index = h.noldbuckets - 1  # not yet evacuated at this checkpoint
    chain = decode.read_chain(image.read, decode.bucket_address(h.oldbuckets, index, mt), mt)
    slot = chain[0].slots[0]
    assert slot.live
    tophash = mt.bucket["tophash"].offset
    image.write(chain[0].address + tophash, bytes([mt.constants.tophash["evacuatedX"]]))
    destination = decode.bucket_address(h.buckets, index, mt)
    assert not any(s.live for s in decode.read_bucket(image.read, destination, mt).slots)
    if stage in ("tophash", "key"):
        image.write(destination + tophash, bytes([slot.tophash]))
    if stage == "key":
        image.write(destination + mt.key_offset(0), slot.key)
    key = ints(image, [decode.Entry(slot.key, slot.elem, 0, 0, "old", index, 0)])[0][0]
    return h, index, key


@pytest.mark.parametrize("stage", ["marked", "tophash", "key"])
def test_an_entry_in_the_middle_of_its_move_is_listed_once_and_right(stage):
    """Construct each moment of evacuate's move of one entry from a real image: the old slot
    marked; then the destination's tophash written; then the key copied but not the elem. Go's
    readers lose the entry or read a zero key or elem there; the decoder lists it once, from its
    old slot, which keeps key and elem until the whole bucket has moved."""
    image = Image("grow-2.json")
    h, index, key = _mid_evacuation(image, stage)
    entries = decode.live_entries(image.read, h)
    pairs = ints(image, entries)
    assert len(pairs) == len(image.truth), "an entry is lost or listed twice"
    assert dict(pairs) == image.truth
    assert [e.in_flight for e in entries].count(True) == 1
    # Told which bucket a thread is evacuating, the answer is the same.
    assert dict(ints(image, decode.live_entries(image.read, h, in_flight_old={index}))) == image.truth


def test_a_bucket_whose_last_entry_is_in_flight_needs_the_thread():
    """When evacuate has marked every slot of a bucket and not finished the last copy, the marks
    alone cannot tell: only the stopped thread can (in_flight_old)."""
    image = Image("grow-2.json")
    mt = image.map_type
    h = decode.read_header(image.read, image.header, mt)
    index = h.noldbuckets - 1
    chain = decode.read_chain(image.read, decode.bucket_address(h.oldbuckets, index, mt), mt)
    assert len(chain) == 1, "the constructed moment needs a bucket without overflow"
    x, empty = mt.constants.tophash["evacuatedX"], mt.constants.tophash["evacuatedEmpty"]
    destination = decode.bucket_address(h.buckets, index, mt)
    tophash = mt.bucket["tophash"].offset
    live = [s for s in chain[0].slots if s.live]
    for n, s in enumerate(live[:-1]):  # every entry but the last fully moved to X
        image.write(destination + tophash + n, bytes([s.tophash]))
        image.write(destination + mt.key_offset(n), s.key)
        image.write(destination + mt.elem_offset(n), s.elem)
    image.write(destination + tophash + len(live) - 1, bytes([live[-1].tophash]))  # the last: tophash only
    marks = bytes(x if s.live else empty for s in chain[0].slots)
    image.write(chain[0].address + tophash, marks)
    assert dict(ints(image, decode.live_entries(image.read, h))) != image.truth
    assert dict(ints(image, decode.live_entries(image.read, h, in_flight_old={index}))) == image.truth


def test_unreadable_memory_is_a_clear_error():
    image = Image("grow-1.json")
    with pytest.raises(decode.MapscopeError, match="not in the image"):
        decode.read_header(image.read, 0x10, image.map_type)
    with pytest.raises(decode.MapscopeError, match="nil"):
        decode.read_header(image.read, 0, image.map_type)


def _damaged(field, value):
    """grow-2 (mid-doubling) with one header field overwritten, where the profile puts it."""
    image = Image("grow-2.json")
    fld = image.map_type.header[field]
    image.write(image.header + fld.offset, value.to_bytes(fld.size, "little", signed=value < 0))
    return image


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("B", 64, "B = 64, a bucket array larger than the address space"),
        ("B", 45, "a bucket array larger than the address space"),
        ("count", -1, "count = -1 is negative"),
        ("count", 10_000, "count = 10000 does not fit in 32 buckets of 8 slots"),
        ("flags", 0x40, "has unknown bits 0x40"),
        ("nevacuate", 33, "nevacuate = 33 is beyond its 32 buckets"),
        ("buckets", 0x10, "buckets = 0x10 is not readable"),
        ("oldbuckets", 0x10, "oldbuckets = 0x10 is not readable"),
    ],
)
def test_implausible_headers_are_refused(field, value, message):
    image = _damaged(field, value)
    with pytest.raises(decode.MapscopeError) as e:
        decode.read_header(image.read, image.header, image.map_type)
    text = str(e.value)
    assert text.startswith(f"0x{image.header:x} does not look like a map header: "), text
    assert message in text and "\n" not in text, text


def test_a_pointer_into_a_header_is_not_a_map():
    # Found by hand: 16 bytes into a real header once printed "doubling from 1099511627776 buckets".
    image = Image("grow-2.json")
    for offset in range(8, image.map_type.header_size, 8):
        with pytest.raises(decode.MapscopeError, match="does not look like a map header|not in the image"):
            decode.read_header(image.read, image.header + offset, image.map_type)
