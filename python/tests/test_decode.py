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


def test_an_entry_between_mark_and_copy_is_in_flight():
    """Construct the ghost-read moment from a real image: mark an old slot evacuatedX without
    copying it, as evacuate does just before its copy. The plain listing loses the entry (as Go's
    readers do); told which old bucket is being evacuated, the decoder finds it."""
    image = Image("grow-2.json")
    mt = image.map_type
    h = decode.read_header(image.read, image.header, mt)
    index = h.noldbuckets - 1  # not yet evacuated at this checkpoint
    chain = decode.read_chain(image.read, decode.bucket_address(h.oldbuckets, index, mt), mt)
    slot = chain[0].slots[0]
    assert slot.live
    evacuated_x = mt.constants.tophash["evacuatedX"]
    image.write(chain[0].address + mt.bucket["tophash"].offset, bytes([evacuated_x]))
    key = ints(image, [decode.Entry(slot.key, slot.elem, 0, 0, "old", index, 0)])[0][0]

    plain = dict(ints(image, decode.live_entries(image.read, h)))
    assert key not in plain and len(plain) == len(image.truth) - 1
    told = decode.live_entries(image.read, h, in_flight_old={index})
    assert dict(ints(image, told)) == image.truth
    assert [e.in_flight for e in told].count(True) == 1


def test_unreadable_memory_is_a_clear_error():
    image = Image("grow-1.json")
    with pytest.raises(decode.MapscopeError, match="not in the image"):
        decode.read_header(image.read, 0x10, image.map_type)
    with pytest.raises(decode.MapscopeError, match="nil"):
        decode.read_header(image.read, 0, image.map_type)
