"""Swiss-table maps (Go 1.24 to 1.26): their layouts, from a ``go-swiss`` profile, and decoding
them from raw memory through the same ``read(address, size) -> bytes`` callable as
:mod:`decode`, so that a live process and a memory image decode alike.

What is where (every offset from the profile, which mapscope reads from DWARF):

- A map value points at the header, ``internal/runtime/maps.Map``: ``used`` (the entries),
  ``dirPtr`` and ``dirLen``, ``globalDepth``, ``writing`` (toggled around every write), ...
- A map that never held more than a group's slots is *small*: ``dirLen`` is 0 and ``dirPtr``
  points at one group (or is nil before the first insert).
- Otherwise ``dirPtr`` is an array of ``dirLen`` = 2^globalDepth table pointers, the directory.
  A table of local depth d covers 2^(globalDepth - d) consecutive entries: several entries may
  point at one table, which holds its entries once.
- A table (``internal/runtime/maps.table``): ``used``, ``capacity``, ``growthLeft``,
  ``localDepth``, ``index`` and ``groups``, a reference to ``lengthMask + 1`` groups.
- A group (``noalg.map.group[K]V``): a control word, one byte per slot (empty, deleted, or
  full: then the low 7 bits of the key's hash, "h2"), then the slots, each a key and an elem
  (pointers to them when they are stored indirectly).

The live entries are the full slots of the small group, or of each table once. That is exact
at any moment a thread can be stopped, because a table is never changed in place by a grow:

- a table grows by building a complete replacement and then pointing its directory entries at
  it one by one; a full table splits into two complete halves first, then the directory entries
  are repointed (the directory doubles first when it must, built complete before ``dirPtr``
  moves). While entries are being repointed, the directory holds the old table and the new
  one(s) side by side, with the same entries: each block of directory entries is owned by the
  shallowest table found in it (an old table of depth d owns its whole block even where its
  halves, depth d + 1, are already installed), and a table is listed once;
- between the stores of a new directory's ``dirPtr`` and ``dirLen``, a directory read at the
  old length shows tables more often than their depth allows: it is read again at the length
  ``globalDepth`` says;
- a small map turning into a table stores ``dirPtr`` before ``dirLen``: a full small map
  whose "group" starts with a pointer to a table of local depth 0 holding as many entries is
  read as the one-entry directory it then is (a real group's control word, 8 hashes of 7
  random bits, is no such pointer).
"""

from dataclasses import dataclass

from .errors import MapscopeError
from .layout import Field

FAMILY = "go-swiss"
#: Parameters that hold the map and the map type in the role functions (the table methods'
#: receiver is ``t``: ``typ`` comes first).
PARAMS = {"map": ("m",), "type": ("typ", "t")}

HEADER_FIELDS = ("used", "seed", "dirPtr", "dirLen", "globalDepth", "globalShift", "writing")
HEADER_OPTIONAL = ("tombstonePossible", "clearSeq")
TABLE_FIELDS = ("used", "capacity", "growthLeft", "localDepth", "index", "groups")
GROUPS_FIELDS = ("data", "lengthMask")

#: The largest directory and group array this decoder walks (2^20 tables, 2^20 groups).
_LIMIT = 1 << 20
_ADDRESS_SPACE = 1 << 47


def is_swiss(map_type):
    """Whether a map type (from :func:`map_types` or :func:`layout.map_types`) is a Swiss map's."""
    return getattr(map_type, "family", None) == FAMILY


@dataclass(frozen=True)
class Constants:
    """The constants the decoder needs, from the profile."""

    slots_per_group: int
    ctrl_empty: int
    ctrl_deleted: int
    max_table_capacity: object  # int, or None when the binary lacks it
    max_avg_group_load: object

    def ctrl_state(self, byte):
        """``full``, ``empty``, ``deleted``, or None for a byte that is none of them."""
        if byte == self.ctrl_empty:
            return "empty"
        if byte == self.ctrl_deleted:
            return "deleted"
        if byte & self.ctrl_empty == 0:
            return "full"
        return None


@dataclass(frozen=True)
class SwissMapType:
    """Everything needed to decode Swiss maps of one key/elem type."""

    header_name: str
    header: dict  # canonical field name -> Field (HEADER_FIELDS, and HEADER_OPTIONAL when present)
    header_size: int
    table_name: str
    table: dict  # TABLE_FIELDS -> Field
    table_size: int
    groups: dict  # GROUPS_FIELDS -> Field, relative to the groups reference
    group_name: str
    group_size: int
    ctrl: Field
    slots_offset: int
    slot_size: int
    key_offset: int
    elem_offset: int
    key_type: str
    elem_type: str
    key_size: int
    elem_size: int
    key_indirect: bool
    elem_indirect: bool
    pointer_size: int
    constants: Constants
    header_members: dict
    go_type: object = None
    descriptor: object = None
    elem_slot_type: str = ""

    family = FAMILY

    @property
    def description(self):
        return f"map[{self.key_type}]{self.elem_type}"

    @property
    def bucket_name(self):  # what classic code calls the per-type storage layout
        return self.group_name

    def key_offset_in_group(self, slot):
        return self.slots_offset + slot * self.slot_size + self.key_offset

    def elem_offset_in_group(self, slot):
        return self.slots_offset + slot * self.slot_size + self.elem_offset


# -- from the profile ------------------------------------------------------------------------------


def _get(obj, key, kind, what):
    value = obj.get(key) if isinstance(obj, dict) else None
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise MapscopeError(f"profile: {what}: '{key}' is not a {kind.__name__}")
    return value


def _fields(layout, names, what, optional=()):
    fields = _get(layout, "fields", dict, what)
    missing = [n for n in names if n not in fields]
    if missing:
        raise MapscopeError(f"profile: {what} {layout.get('name')} lacks field(s) {', '.join(missing)}")
    return {
        n: Field(_get(fields[n], "offset", int, f"{what} field {n}"), _get(fields[n], "size", int, f"{what} field {n}"))
        for n in (*names, *(o for o in optional if o in fields))
    }


def constants(data):
    """The decoder's :class:`Constants` from a profile's ``constants``; refuses a profile that
    lacks the ones no Swiss map can be read without."""
    c = data.get("constants")
    ctrl = c.get("ctrl") if isinstance(c, dict) else None
    found = {
        "slots_per_group": c.get("slots_per_group") if isinstance(c, dict) else None,
        "ctrl.empty": ctrl.get("empty") if isinstance(ctrl, dict) else None,
        "ctrl.deleted": ctrl.get("deleted") if isinstance(ctrl, dict) else None,
    }
    missing = [k for k, v in found.items() if not (isinstance(v, int) and not isinstance(v, bool))]
    if missing:
        raise MapscopeError(
            f"profile: constants {', '.join(missing)} are unknown (not in the binary's DWARF): Swiss maps "
            "cannot be decoded"
        )
    optional = {k: c.get(k) for k in ("max_table_capacity", "max_avg_group_load")}
    optional = {k: v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None for k, v in optional.items()}
    return Constants(found["slots_per_group"], found["ctrl.empty"], found["ctrl.deleted"], **optional)


def map_types(data):
    """Every map type a ``go-swiss`` profile describes: one per group layout."""
    layouts = data["layouts"]
    pointer_size = data.get("pointer_size", 8)
    headers = layouts.get("header")
    if not isinstance(headers, list) or len(headers) != 1:
        raise MapscopeError("profile: a go-swiss profile has one header layout")
    header = headers[0]
    table = layouts.get("table")
    groups_ref = layouts.get("groups_reference")
    if not isinstance(table, dict) or not isinstance(groups_ref, dict):
        raise MapscopeError("profile: the go-swiss profile has no table or groups_reference layout")
    consts = constants(data)
    header_fields = _fields(header, HEADER_FIELDS, "header", HEADER_OPTIONAL)
    table_fields = _fields(table, TABLE_FIELDS, "table")
    groups_fields = _fields(groups_ref, GROUPS_FIELDS, "groups_reference")
    members = {k: (f.get("name", k) if isinstance(f, dict) else k) for k, f in header["fields"].items()}
    result = []
    for g in _get(layouts, "groups", list, "layouts"):
        what = f"group {g.get('name') if isinstance(g, dict) else g!r}"
        _fields(g, ("ctrl", "slots"), what)
        result.append(
            SwissMapType(
                header_name=_get(header, "name", str, "header"),
                header=header_fields,
                header_size=_get(header, "size", int, "header"),
                table_name=_get(table, "name", str, "table"),
                table=table_fields,
                table_size=_get(table, "size", int, "table"),
                groups=groups_fields,
                group_name=_get(g, "name", str, what),
                group_size=_get(g, "size", int, what),
                ctrl=Field(_get(g, "ctrl_offset", int, what), _get(g, "ctrl_size", int, what)),
                slots_offset=_get(g, "slots_offset", int, what),
                slot_size=_get(g, "slot_size", int, what),
                key_offset=_get(g, "key_offset", int, what),
                elem_offset=_get(g, "elem_offset", int, what),
                key_type=_get(g, "key_type", str, what),
                elem_type=_get(g, "elem_type", str, what),
                key_size=_get(g, "key_size", int, what),
                elem_size=_get(g, "elem_size", int, what),
                key_indirect=_get(g, "key_indirect", bool, what),
                elem_indirect=_get(g, "elem_indirect", bool, what),
                pointer_size=pointer_size,
                constants=consts,
                header_members=members,
                go_type=g.get("map_type") if isinstance(g.get("map_type"), str) else None,
                descriptor=g.get("type_descriptor") if isinstance(g.get("type_descriptor"), int) else None,
                elem_slot_type=str(g.get("elem_slot_type") or ""),
            )
        )
    _check_structs(result, header_fields, table_fields, groups_fields, data, table, groups_ref)
    return result


def _check_structs(types, header, table, groups, data, table_layout, groups_layout):
    """Every field inside its struct, every slot inside its group: a damaged profile is refused
    with one line, never decoded with a wrong number."""
    ptr = data.get("pointer_size", 8)

    def require(ok, what):
        if not ok:
            raise MapscopeError(f"profile: {what}; rebuild it with 'hmap profile --rebuild'")

    def inside(fields, size, name):
        for n, f in fields.items():
            require(0 <= f.offset and 0 < f.size <= size and f.offset + f.size <= size, f"{name}: {n} lies outside it")

    if not types:
        return
    mt = types[0]
    require(0 < mt.header_size < 1 << 16 and 0 < mt.table_size < 1 << 16, "bad header or table size")
    inside(header, mt.header_size, mt.header_name)
    inside(table, mt.table_size, mt.table_name)
    require(header["dirPtr"].size == ptr, "header: dirPtr is not a pointer")
    groups_size = groups_layout.get("size") if isinstance(groups_layout.get("size"), int) else 0
    inside(groups, groups_size, "groups_reference")
    require(groups["data"].size == ptr, "groups_reference: data is not a pointer")
    require(table["groups"].offset + groups_size <= mt.table_size, "table: groups lies outside it")
    for name in ("used", "dirLen", "globalDepth", "globalShift", "writing"):
        require(1 <= header[name].size <= 8, f"header: {name} is not a scalar")
    n = mt.constants.slots_per_group
    require(0 < n <= 64, f"slots_per_group = {n}")
    for t in types:
        require(0 < t.group_size < 1 << 24, f"group {t.group_name} has size {t.group_size}")
        offsets = (t.ctrl.offset, t.slots_offset, t.slot_size, t.key_offset, t.elem_offset, t.key_size, t.elem_size)
        require(all(0 <= o < 1 << 24 for o in offsets), f"group {t.group_name}: a negative or huge offset or size")
        require(
            0 < t.ctrl.size <= 8 and t.ctrl.size >= n and t.ctrl.offset + t.ctrl.size <= t.group_size,
            f"group {t.group_name}: bad control word",
        )
        require(t.slots_offset + n * t.slot_size <= t.group_size, f"group {t.group_name}: {n} slots do not fit")
        require(
            t.key_offset + t.key_size <= t.slot_size and t.elem_offset + t.elem_size <= t.slot_size and t.key_size > 0,
            f"group {t.group_name}: key or elem lies outside its slot",
        )


# -- decoding --------------------------------------------------------------------------------------


def _uint(raw, field):
    return int.from_bytes(raw[field.offset : field.offset + field.size], "little")


def _sint(raw, field):
    return int.from_bytes(raw[field.offset : field.offset + field.size], "little", signed=True)


@dataclass
class Header:
    """A Swiss map's header, decoded."""

    address: int
    map_type: object
    used: int
    seed: int
    dirPtr: int
    dirLen: int
    globalDepth: int
    globalShift: int
    writing: int
    tombstonePossible: object = None  # None: not in this version
    clearSeq: object = None

    @property
    def count(self):
        return self.used

    @property
    def small(self):
        return self.dirLen == 0

    @property
    def growing(self):
        """Swiss maps grow within one write: there is no incremental growth state."""
        return False

    def summary(self):
        """One line without addresses."""
        if self.dirLen == 0:
            shape = "small (one group)" if self.dirPtr else "no group yet"
        else:
            shape = f"directory={self.dirLen} globalDepth={self.globalDepth}"
        return f"used={self.used} {shape} writing={self.writing}"


def read_header(read, address, map_type):
    """Decodes the header at ``address`` and checks that it is plausible, so that a wrong address
    is reported as such instead of being printed as a map."""
    if address == 0:
        raise MapscopeError("the map is nil (header address 0)")
    if not 0 < address < 1 << 64:
        raise MapscopeError(f"{address:#x} is not an address")
    mt = map_type
    raw = read(address, mt.header_size)
    values = {name: _uint(raw, fld) for name, fld in mt.header.items()}
    values["dirLen"] = _sint(raw, mt.header["dirLen"])
    header = Header(address=address, map_type=mt, **values)
    problem = _implausible(read, header)
    if problem:
        raise MapscopeError(f"0x{address:x} does not look like a map header: {problem}")
    return header


def _implausible(read, h):
    mt = h.map_type
    c = mt.constants
    bits = mt.pointer_size * 8
    if h.used >= 1 << 48:
        return f"used = {h.used}, more entries than memory holds"
    if h.dirLen < 0:
        return f"dirLen = {h.dirLen} is negative"
    if h.writing > 1:
        return f"writing = {h.writing}, a flag that is only ever 0 or 1"
    if h.tombstonePossible is not None and h.tombstonePossible > 1:
        return f"tombstonePossible = {h.tombstonePossible} is not a bool"
    if h.dirPtr % mt.pointer_size or h.dirPtr >= 1 << 64:
        return f"dirPtr = {h.dirPtr:#x} is not aligned"
    if h.dirLen == 0:
        if h.used > c.slots_per_group:
            return f"used = {h.used} in a small map of {c.slots_per_group} slots"
        if h.used and not h.dirPtr:
            return f"used = {h.used} but no group"
        if h.dirPtr:
            try:
                read(h.dirPtr, mt.group_size)
            except MapscopeError:
                return f"dirPtr = {h.dirPtr:#x} is not readable"
        return None
    if h.dirLen & (h.dirLen - 1) or h.dirLen > _LIMIT:
        return f"dirLen = {h.dirLen} is not a power of two"
    if h.globalDepth >= bits or h.dirLen not in (1 << h.globalDepth, 1 << max(h.globalDepth - 1, 0)):
        return f"dirLen = {h.dirLen} does not go with globalDepth = {h.globalDepth}"
    if h.dirLen > 1 and h.globalShift not in (bits - h.globalDepth, bits - h.globalDepth + 1):
        return f"globalShift = {h.globalShift} does not go with globalDepth = {h.globalDepth}"
    if c.max_table_capacity and h.used > h.dirLen * c.max_table_capacity:
        return f"used = {h.used} does not fit in {h.dirLen} tables"
    if not h.dirPtr:
        return "a directory but no dirPtr"
    try:
        read(h.dirPtr, h.dirLen * mt.pointer_size)
    except MapscopeError:
        return f"dirPtr = {h.dirPtr:#x} is not readable"
    return None


@dataclass
class Table:
    """A table, as the directory has it."""

    address: int
    used: int
    capacity: int
    growthLeft: int
    localDepth: int
    index: int
    groups: int  # the group array
    lengthMask: int
    first: int = 0  # the first directory entry that points at it (its block's start)
    entries: int = 0  # how many directory entries point at it

    @property
    def ngroups(self):
        return self.lengthMask + 1


def read_table(read, address, mt):
    """Decodes the table at ``address`` and checks it."""
    if not address or address % mt.pointer_size or address >= _ADDRESS_SPACE:
        raise MapscopeError(f"directory entry 0x{address:x} is not a table pointer")
    raw = read(address, mt.table_size)
    base = mt.table["groups"].offset
    groups = {
        n: int.from_bytes(raw[base + f.offset : base + f.offset + f.size], "little") for n, f in mt.groups.items()
    }
    t = Table(
        address=address,
        used=_uint(raw, mt.table["used"]),
        capacity=_uint(raw, mt.table["capacity"]),
        growthLeft=_uint(raw, mt.table["growthLeft"]),
        localDepth=_uint(raw, mt.table["localDepth"]),
        index=_sint(raw, mt.table["index"]),
        groups=groups["data"],
        lengthMask=groups["lengthMask"],
    )
    c = mt.constants
    n = t.lengthMask + 1
    problem = None
    if n & (n - 1) or n > _LIMIT:
        problem = f"lengthMask = {t.lengthMask} is not a power of two minus one"
    elif t.capacity != n * c.slots_per_group:
        problem = f"capacity = {t.capacity} for {n} groups of {c.slots_per_group}"
    elif t.used > t.capacity:
        problem = f"used = {t.used} over capacity {t.capacity}"
    elif not t.groups or t.groups % mt.pointer_size:
        problem = f"groups = {t.groups:#x} is not a group array"
    if problem:
        raise MapscopeError(f"table 0x{address:x} is corrupt or not a table: {problem}")
    return t


@dataclass
class Slot:
    """One slot of a group."""

    index: int
    ctrl: int
    state: object  # "full", "empty", "deleted", or None (not a control byte)
    key: bytes
    elem: bytes
    key_address: int
    elem_address: int

    @property
    def live(self):
        return self.state == "full"

    @property
    def h2(self):
        return self.ctrl if self.live else None


@dataclass
class Group:
    address: int
    ctrl: int
    slots: list


def read_group(read, address, mt, raw=None):
    """Decodes the group at ``address`` with one memory read (or from its bytes ``raw``)."""
    raw = read(address, mt.group_size) if raw is None else raw
    c = mt.constants
    ctrl = _uint(raw, mt.ctrl)
    slots = []
    for i in range(c.slots_per_group):
        byte = raw[mt.ctrl.offset + i]
        ko, eo = mt.key_offset_in_group(i), mt.elem_offset_in_group(i)
        slots.append(
            Slot(
                index=i,
                ctrl=byte,
                state=c.ctrl_state(byte),
                key=raw[ko : ko + mt.key_size],
                elem=raw[eo : eo + mt.elem_size],
                key_address=address + ko,
                elem_address=address + eo,
            )
        )
    return Group(address, ctrl, slots)


def group_address(table, index, mt):
    return table.groups + index * mt.group_size


#: Bytes of a table's group array read at once.
_CHUNK = 1 << 16


def iter_groups(read, table, mt):
    """``(index, Group)`` of every group of a table, reading the array in large pieces."""
    per_read = max(1, _CHUNK // mt.group_size)
    for first in range(0, table.ngroups, per_read):
        n = min(per_read, table.ngroups - first)
        base = group_address(table, first, mt)
        raw = read(base, n * mt.group_size)
        for k in range(n):
            chunk = raw[k * mt.group_size : (k + 1) * mt.group_size]
            yield first + k, read_group(read, base + k * mt.group_size, mt, chunk)


@dataclass
class Directory:
    """The directory as read: the tables that hold the map's entries, each once, in directory
    order; the entries read, and the depth they were read at."""

    entries: list  # table addresses, one per directory entry
    depth: int
    tables: list  # Table, each once: those that own a block of entries
    stale: list  # tables found in the directory that a shallower table supersedes mid-change


def read_directory(read, header):
    """The map's tables (see the module's description of the moments between states)."""
    mt = header.map_type
    if header.dirLen == 0:
        return None
    attempts = [header.dirLen]
    wanted = 1 << header.globalDepth
    if wanted != header.dirLen:
        attempts.append(wanted)  # the directory is doubling: dirPtr may be the new one already
    last = None
    for n in attempts:
        depth = n.bit_length() - 1
        raw = read(header.dirPtr, n * mt.pointer_size)
        entries = [int.from_bytes(raw[i * mt.pointer_size : (i + 1) * mt.pointer_size], "little") for i in range(n)]
        found, problem = _blocks(read, mt, entries, depth)
        if problem is None:
            return found
        last = problem
    raise MapscopeError(f"the directory of 0x{header.address:x} is inconsistent: {last}")


def _blocks(read, mt, entries, depth):
    """``(Directory, None)``, or ``(None, why)`` when the entries read at ``depth`` cannot be a
    directory."""
    tables = {}
    for address in entries:
        if address not in tables:
            tables[address] = read_table(read, address, mt)
    counts = {}
    for address in entries:
        counts[address] = counts.get(address, 0) + 1
    for t in tables.values():
        if t.localDepth > depth:
            return None, f"table 0x{t.address:x} has local depth {t.localDepth}, over the directory's {depth}"
        if counts[t.address] > 1 << (depth - t.localDepth):
            return (
                None,
                f"table 0x{t.address:x} fills {counts[t.address]} entries, "
                f"its depth allows {1 << (depth - t.localDepth)}",
            )
    positions = {}
    for i, address in enumerate(entries):
        positions.setdefault(address, []).append(i)
    owner = [None] * len(entries)
    # Shallowest first; among equals, the first in the directory.
    order = sorted(tables.values(), key=lambda t: (t.localDepth, positions[t.address][0]))
    for t in order:
        span = 1 << (depth - t.localDepth)
        for i in positions[t.address]:
            start = i - i % span
            if owner[start] is not None:
                continue  # a shallower (or earlier) table owns this block already
            for j in range(start, start + span):
                owner[j] = t.address
    listed, seen = [], set()
    for i, address in enumerate(owner):
        if address is None:
            return None, f"directory entry {i} belongs to no table"
        if address in seen:
            continue
        seen.add(address)
        t = tables[address]
        t.first = i
        t.entries = counts.get(address, 0)
        listed.append(t)
    stale = [t for a, t in tables.items() if a not in seen]
    return Directory(entries, depth, listed, stale), None


@dataclass
class Entry:
    """A live entry and where it sits."""

    key: bytes
    elem: bytes
    key_address: int
    elem_address: int
    table: object  # the table's address, or None in a small map
    group: int
    slot: int


def small_group(read, header):
    """The small map's group, or None (no group yet); or, when the map is between its small
    group and its first table, the one-entry directory that dirPtr then points at (see the
    module's description): a full small group (``used`` is the slot count) whose first word
    points at a table of local depth 0 holding exactly those entries."""
    mt = header.map_type
    if not header.dirPtr:
        return None
    if header.used == mt.constants.slots_per_group:
        first = int.from_bytes(read(header.dirPtr, mt.pointer_size), "little")
        try:
            table = read_table(read, first, mt) if first < _ADDRESS_SPACE else None
        except MapscopeError:
            table = None
        if table is not None and table.localDepth == 0 and table.used == header.used:
            table.entries = 1
            return Directory([first], 0, [table], [])
    group = read_group(read, header.dirPtr, mt)
    bad = next((s for s in group.slots if s.state is None), None)
    if bad is not None:
        raise MapscopeError(
            f"0x{header.address:x}: the small map's group at 0x{header.dirPtr:x} has control byte "
            f"{bad.ctrl:#04x} in slot {bad.index}, neither empty, deleted nor full: not a group"
        )
    return group


def iter_live_entries(read, header):
    """The map's entries, lazily: the small group's full slots, or each table's (once), group by
    group, in directory order."""
    mt = header.map_type
    if header.dirLen == 0:
        found = small_group(read, header)
        if found is None:
            return
        if isinstance(found, Group):
            yield from _group_entries(found, None, 0)
            return
        directory = found
    else:
        directory = read_directory(read, header)
    for table in directory.tables:
        for g, group in iter_groups(read, table, mt):
            yield from _group_entries(group, table.address, g)


def _group_entries(group, table, index):
    for s in group.slots:
        if s.live:
            yield Entry(s.key, s.elem, s.key_address, s.elem_address, table, index, s.index)


def live_entries(read, header):
    return list(iter_live_entries(read, header))


def table_slots(read, table, mt):
    """``{state: count}`` of a table's slots, from its control bytes."""
    counts = {"full": 0, "empty": 0, "deleted": 0, None: 0}
    for _, group in iter_groups(read, table, mt):
        for s in group.slots:
            counts[s.state] += 1
    return counts


def snapshot_entry(header):
    """What ``hmap snapshot`` records of a Swiss map (address-free but for the map's own)."""
    return {
        "address": header.address,
        "type": header.map_type.description,
        "summary": header.summary(),
        "used": header.used,
        "dirLen": header.dirLen,
        "globalDepth": header.globalDepth,
        "writing": header.writing,
    }


# -- the debugger's own types -----------------------------------------------------------------------


def elem_debugger_type(value):
    """The debugger's Type of a slot's elem for a printed Go map value, found from the value's
    own type: the linker's ``map<K,V>`` (what ``map[K]V`` points at) -> ``dirPtr``
    (``**table<K,V>``) -> ``groups`` -> ``data`` (``*group``) -> ``slots`` -> ``elem``. None when
    the debugger has no such types."""
    t = value.type
    for _ in range(3):  # typedef or pointer, then the struct
        if t is None or t.field("dirPtr") is not None:
            break
        t = t.target()
    directory = t.field("dirPtr") if t is not None else None
    for step in ("target", "target", "groups", "data", "target", "slots", "target", "elem"):
        if directory is None:
            return None
        directory = directory.target() if step == "target" else directory.field(step)
    return directory


# -- watchpoints -----------------------------------------------------------------------------------
#
# A Swiss map never changes a table's groups in place to grow: a grow builds a new table and
# repoints the directory entries at it, a split builds two, the directory doubles by a new array.
# So what moves is ``dirPtr`` (nil -> the small group -> the first directory -> each bigger
# directory) and, for a grow or split of one table, the directory entries that point at it.


def watch_name(entry):
    return "dirPtr" if entry is None else f"directory[{entry}]"


def watch_target(read, header, entry=None):
    """``(address to watch, its value, state)`` for watching ``dirPtr`` or directory entry
    ``entry`` of a Swiss map."""
    mt = header.map_type
    if entry is None:
        state = "nil" if not header.dirPtr else ("small" if header.dirLen == 0 else "directory")
        return header.address + mt.header["dirPtr"].offset, header.dirPtr, state
    if header.dirLen == 0:
        raise MapscopeError("a small map has no directory yet: watch its dirPtr (hmap watch directory MAP)")
    if not 0 <= entry < header.dirLen:
        raise MapscopeError(f"directory entry {entry} out of range: the directory has {header.dirLen}")
    where = header.dirPtr + entry * mt.pointer_size
    value = int.from_bytes(read(where, mt.pointer_size), "little")
    table = read_table(read, value, mt)
    return where, value, (table.capacity, table.localDepth)


def watch_change(read, mt, state, old, new):
    """``(what the write of ``new`` over ``old`` means, the new state)``."""
    if isinstance(state, tuple):  # a directory entry: its table was replaced
        try:
            table = read_table(read, new, mt)
        except MapscopeError:
            return "entry changed", state
        capacity, depth = state
        if table.localDepth > depth:
            note = f"table split: local depth {depth} -> {table.localDepth}"
        elif table.capacity > capacity:
            note = f"table grew: capacity {capacity} -> {table.capacity}"
        else:
            note = "table replaced"
        return note, (table.capacity, table.localDepth)
    if new == 0:
        return "dirPtr cleared", "nil"
    if state == "nil":
        return "small map: group allocated", "small"
    if state == "small":
        return "grew into a table: dirPtr is now the directory", "directory"
    return "directory doubled (a table split)", "directory"
