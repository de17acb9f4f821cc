"""Decoding a map from raw memory: header, buckets, tophash states, live entries.

All reads go through a ``read(address, size) -> bytes`` callable, so the same code decodes a live
process under gdb or lldb and a memory image in a test.

Which slots hold the map's entries, at any moment of a grow:

- every live slot (tophash >= minTopHash) of the new array, and
- every live slot of the old array: ``evacuate`` marks a slot (evacuatedX/Y/Empty) *before* it
  copies the entry, so a slot still carrying a hash byte has not been copied anywhere yet, even in
  a bucket whose first slot already says "evacuated".

A marked slot is not listed: its entry is at its destination, or was deleted there later, or is
*in flight*: a thread stopped inside ``evacuate`` between marking the old slot and finishing the
copy. evacuate moves one entry at a time, in slot order: it marks the old slot (evacuatedX or
evacuatedY says which destination), writes the destination slot's tophash, copies the key, then
the elem. Until the copy is complete the old slot still holds the key and the elem (an old bucket
is cleared only after all of it has moved), so the entry in flight is read from there:

- which old buckets are being evacuated: those a caller knows a stopped thread works on
  (``in_flight_old``, from the threads' evacuate frames), and any old bucket that is marked only
  in part (no other state of a bucket has both marked and live slots);
- the entry: the last marked slot (X or Y) of that bucket's chain;
- whether its destination slot exists yet: while a bucket is being evacuated its destination
  holds exactly the entries already moved from it (writers insert there only after evacuating
  it), so a destination with as many live slots as slots marked for it has a slot for the entry
  in flight, the last one, whose key or elem may not be copied yet: it is skipped, and the old
  slot listed instead; with one fewer, the entry has no destination slot yet and the old slot is
  listed. Any other count (a racing writer) lists the map as it reads.
"""

from dataclasses import dataclass

from .errors import MapscopeError

_CHAIN_LIMIT = 1 << 16


def read_uint(read, address, size):
    return int.from_bytes(read(address, size), "little")


@dataclass
class Header:
    """A map header, decoded."""

    address: int
    map_type: object
    count: int
    flags: int
    B: int
    noverflow: int
    hash0: int
    buckets: int
    oldbuckets: int
    nevacuate: int
    extra: int

    @property
    def growing(self):
        return self.oldbuckets != 0

    @property
    def same_size_grow(self):
        return bool(self.flags & self.map_type.constants.flags["sameSizeGrow"])

    @property
    def nbuckets(self):
        return 1 << self.B

    @property
    def noldbuckets(self):
        """Buckets in the old array (0 when not growing)."""
        if not self.growing:
            return 0
        return self.nbuckets if self.same_size_grow or self.B == 0 else self.nbuckets >> 1

    @property
    def flag_names(self):
        return self.map_type.constants.flag_names(self.flags)

    def summary(self):
        """A one-line, address-free description (used in transcripts too)."""
        text = f"count={self.count} B={self.B} buckets={self.nbuckets}"
        text += f" flags={'|'.join(self.flag_names) or '0'}"
        if self.growing:
            kind = "same-size" if self.same_size_grow else "doubling"
            text += f" growing({kind}) evacuated={self.nevacuate}/{self.noldbuckets}"
        else:
            text += " not-growing"
        return text


#: The largest bucket array a 64-bit process can hold (x86-64 user space is 2^47 bytes).
_ADDRESS_SPACE = 1 << 47


def read_header(read, address, map_type):
    """Decodes the header at ``address`` and checks that it is plausible, so that a wrong
    address is reported as such instead of being printed as a map."""
    if address == 0:
        raise MapscopeError("the map is nil (header address 0)")
    if not 0 < address < 1 << 64:
        raise MapscopeError(f"{address:#x} is not an address")
    raw = read(address, map_type.header_size)
    values = {}
    for name, fld in map_type.header.items():
        values[name] = int.from_bytes(raw[fld.offset : fld.offset + fld.size], "little")
    header = Header(address=address, map_type=map_type, **values)
    problem = _implausible(read, header)
    if problem:
        raise MapscopeError(f"0x{address:x} does not look like a map header: {problem}")
    return header


def _implausible(read, h):
    """Why ``h`` cannot be a live map header, or None. Checks what a real header always obeys:
    its bucket arrays fit in the address space and are readable, its count fits in them (the load
    factor keeps it below the slot count even mid-grow), it has no unknown flag bits, and the
    evacuation mark lies within the old array."""
    mt = h.map_type
    slots = mt.constants.bucket_count
    if h.B > 63 or (1 << h.B) * mt.bucket_size >= _ADDRESS_SPACE:
        return f"B = {h.B}, a bucket array larger than the address space"
    count_bits = mt.header["count"].size * 8
    if h.count >= 1 << (count_bits - 1):
        return f"count = {h.count - (1 << count_bits)} is negative"
    if h.count > 2 * slots * h.nbuckets:
        return f"count = {h.count} does not fit in {h.nbuckets} buckets of {slots} slots"
    unknown = h.flags & ~sum(mt.constants.flags.values())
    if unknown:
        return f"flags = {h.flags:#x} has unknown bits {unknown:#x}"
    if h.nevacuate > h.nbuckets:
        return f"nevacuate = {h.nevacuate} is beyond its {h.nbuckets} buckets"
    if h.count and not h.buckets:
        return f"count = {h.count} but no bucket array"
    for name in ("buckets", "oldbuckets"):
        array = getattr(h, name)
        if not array:
            continue
        if array % mt.pointer_size:
            return f"{name} = {array:#x} is not aligned"
        try:
            read(array, mt.bucket_size)
        except MapscopeError:
            return f"{name} = {array:#x} is not readable"
    return None


@dataclass
class Slot:
    """One of a bucket's 8 slots."""

    index: int
    tophash: int
    state: object  # tophash state name, or None for a live slot
    key: bytes
    elem: bytes
    key_address: int
    elem_address: int

    @property
    def live(self):
        return self.state is None


@dataclass
class Bucket:
    """A bucket (one link of a chain)."""

    address: int
    slots: list
    overflow: int

    def evacuated(self, constants):
        """Go's test: the first slot holds evacuatedX, evacuatedY or evacuatedEmpty."""
        first = self.slots[0].tophash
        return constants.tophash["emptyOne"] < first < constants.tophash["minTopHash"]


def read_bucket(read, address, map_type):
    """Decodes the bucket at ``address`` with one memory read."""
    mt = map_type
    raw = read(address, mt.bucket_size)
    top = mt.bucket["tophash"].offset
    overflow = mt.bucket["overflow"]
    slots = []
    for i in range(mt.constants.bucket_count):
        ko, eo = mt.key_offset(i), mt.elem_offset(i)
        tophash = raw[top + i]
        slots.append(
            Slot(
                index=i,
                tophash=tophash,
                state=mt.constants.state_name(tophash),
                key=raw[ko : ko + mt.key_size],
                elem=raw[eo : eo + mt.elem_size],
                key_address=address + ko,
                elem_address=address + eo,
            )
        )
    next_address = int.from_bytes(raw[overflow.offset : overflow.offset + overflow.size], "little")
    return Bucket(address=address, slots=slots, overflow=next_address)


def read_chain(read, address, map_type):
    """The bucket at ``address`` and its overflow buckets."""
    chain, seen = [], set()
    while address:
        if address in seen or len(chain) >= _CHAIN_LIMIT:
            raise MapscopeError(f"overflow chain from 0x{chain[0].address:x} loops: the map is corrupt")
        seen.add(address)
        bucket = read_bucket(read, address, map_type)
        chain.append(bucket)
        address = bucket.overflow
    return chain


def bucket_address(array, index, map_type):
    return array + index * map_type.bucket_size


def old_bucket_holding(read, header, address):
    """The index of the old bucket whose chain holds the bucket at ``address`` (the bucket
    itself, or one of its overflow buckets), or None."""
    if not header.growing:
        return None
    size = header.map_type.bucket_size
    offset = address - header.oldbuckets
    if 0 <= offset < header.noldbuckets * size:
        return offset // size if offset % size == 0 else None
    for i in range(header.noldbuckets):  # an overflow bucket: walk the chains
        chain = read_chain(read, bucket_address(header.oldbuckets, i, header.map_type), header.map_type)
        if any(b.address == address for b in chain[1:]):
            return i
    return None


@dataclass
class Entry:
    """A live entry and where it sits."""

    key: bytes
    elem: bytes
    key_address: int
    elem_address: int
    array: str  # "new" or "old"
    bucket: int
    slot: int  # slot number counted along the chain (8 per bucket)
    in_flight: bool = False


def live_entries(read, header, in_flight_old=()):
    """The map's entries, in bucket order (old bucket j listed with new bucket j)."""
    return list(iter_live_entries(read, header, in_flight_old))


def iter_live_entries(read, header, in_flight_old=()):
    """:func:`live_entries` one at a time, reading only as far as the caller takes them (a
    printer shows the first few entries of a map of millions)."""
    mt = header.map_type
    nold = header.noldbuckets
    skipped = set()  # destination slots (key addresses) whose entry is listed from its old slot
    for i in range(header.nbuckets):
        if header.growing and i < nold:
            chain = read_chain(read, bucket_address(header.oldbuckets, i, mt), mt)
            yield from _chain_entries(chain, "old", i)
            if i in in_flight_old or _partly_marked(chain, mt):
                entry, destination_slot = _in_flight(read, header, i, chain)
                if entry is not None:
                    yield entry
                if destination_slot is not None:
                    skipped.add(destination_slot)
        if header.buckets:
            chain = read_chain(read, bucket_address(header.buckets, i, mt), mt)
            yield from (e for e in _chain_entries(chain, "new", i) if e.key_address not in skipped)


def _chain_entries(chain, array, index):
    found = []
    for n, bucket in enumerate(chain):
        for s in bucket.slots:
            if s.live:
                found.append(
                    Entry(s.key, s.elem, s.key_address, s.elem_address, array, index, n * len(bucket.slots) + s.index)
                )
    return found


def _partly_marked(chain, mt):
    """Whether an old bucket's chain has both evacuation marks and live slots."""
    states = {s.state for b in chain for s in b.slots}
    marks = {"evacuatedX", "evacuatedY", "evacuatedEmpty"}
    return None in states and bool(states & marks)


def _in_flight(read, header, index, chain):
    """``(entry, destination slot)`` of the entry evacuate is moving out of old bucket ``index``
    (see the module's description): the entry read from its old slot, or None; and the key
    address of its destination slot when that slot exists and must not be listed, or None."""
    mt = header.map_type
    x, y = mt.constants.tophash["evacuatedX"], mt.constants.tophash["evacuatedY"]
    slots = [(n, s) for n, b in enumerate(chain) for s in b.slots]
    marked = [(n, s) for n, s in slots if s.tophash in (x, y)]
    if not marked or not header.buckets:
        return None, None
    n, last = marked[-1]
    moved = sum(1 for _, s in marked if s.tophash == last.tophash)
    to_y = last.tophash == y and not header.same_size_grow
    destination = index + header.noldbuckets if to_y else index
    dest_chain = read_chain(read, bucket_address(header.buckets, destination, mt), mt)
    dest_live = [s for b in dest_chain for s in b.slots if s.live]
    number = n * mt.constants.bucket_count + last.index
    entry = Entry(last.key, last.elem, last.key_address, last.elem_address, "old", index, number, in_flight=True)
    if len(dest_live) == moved:
        return entry, dest_live[-1].key_address
    if len(dest_live) == moved - 1:
        return entry, None
    return None, None
