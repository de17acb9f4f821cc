"""The ``hmap`` commands' text for Swiss-table maps: ``hmap show`` (the header, the directory and
each table once) and ``hmap buckets`` (tables, groups, control bytes by name). The commands
module dispatches here for a Swiss map; decoding is :mod:`swiss`'s."""

from . import swiss
from .errors import MapscopeError


def show(target, address, mt):
    """``hmap show`` of a Swiss map."""
    read = target.read
    h = target.header(address, mt)
    lines = [
        f"{mt.description} at 0x{address:x} ({mt.header_name})",
        f"  used               {h.used}",
    ]
    tables = []
    if h.dirLen == 0:
        found = swiss.small_group(read, h)
        if found is None:
            lines.append("  small              yes, no group yet (dirPtr nil)")
        elif isinstance(found, swiss.Group):
            full = sum(1 for s in found.slots if s.live)
            slots = f"{full} of {len(found.slots)} slots full"
            lines.append(f"  small              yes: one group at 0x{h.dirPtr:x}, {slots} (dirLen 0)")
        else:
            lines.append("  small              becoming a table: dirPtr is its directory, dirLen not yet set")
            tables = found.tables
    else:
        directory = swiss.read_directory(read, h)
        tables = directory.tables
        shared = len(directory.entries) - len(tables)
        lines.append(
            f"  directory          {len(directory.entries)} entries at 0x{h.dirPtr:x}, globalDepth {h.globalDepth} "
            f"(globalShift {h.globalShift})"
        )
        note = f", {shared} entries share a table" if shared else ""
        lines.append(f"  tables             {len(tables)}{note}")
        if len(directory.entries) != h.dirLen:
            lines.append(f"  (directory doubling: read at {len(directory.entries)} entries, dirLen says {h.dirLen})")
        if directory.stale:
            lines.append(f"  (mid-change: {len(directory.stale)} replaced table(s) still in the directory)")
    lines.append(f"  writing            {h.writing}")
    if h.tombstonePossible is not None:
        lines.append(f"  tombstonePossible  {'true' if h.tombstonePossible else 'false'}")
    lines.append(f"  seed               {h.seed:#x}")
    if h.clearSeq is not None:
        lines.append(f"  clearSeq           {h.clearSeq}")
    for n, t in enumerate(tables):
        counts = swiss.table_slots(read, t, mt)
        last = t.first + max(t.entries, 1) - 1
        where = f"entry {t.first}" if last == t.first else f"entries {t.first}-{last}"
        lines.append(
            f"  table {n} @0x{t.address:x} ({where}): used {t.used} capacity {t.capacity} growthLeft {t.growthLeft} "
            f"localDepth {t.localDepth} tombstones {counts['deleted']}"
        )
    return "\n".join(lines)


def buckets(target, address, mt, table=None, group=None, old=False):
    """``hmap buckets`` of a Swiss map: every table once, its groups, each slot's control byte by
    name; ``table`` and ``group`` select one."""
    if old:
        raise MapscopeError("Swiss maps have no old buckets: a table grows within one write")
    read = target.read
    h = target.header(address, mt)
    render = target.renderer().render
    out = [f"groups of {mt.description} at 0x{address:x} ({h.summary()})"]
    if h.dirLen == 0:
        found = swiss.small_group(read, h)
        if found is None:
            return f"{mt.description} at 0x{address:x}: no group allocated yet"
        if isinstance(found, swiss.Group):
            if table not in (None, 0) or group not in (None, 0):
                raise MapscopeError("a small map has one group and no table")
            out.append(f"small map: one group @0x{found.address:x}")
            out += _slot_lines(found, mt, render)
            return "\n".join(out)
        tables = found.tables
    else:
        tables = swiss.read_directory(read, h).tables
    chosen = list(enumerate(tables))
    if table is not None:
        if table >= len(tables):
            raise MapscopeError(f"table {table} out of range: the map has {len(tables)}")
        chosen = [(table, tables[table])]
    for n, t in chosen:
        out.append(
            f"table {n} @0x{t.address:x}: used {t.used} capacity {t.capacity} growthLeft {t.growthLeft} "
            f"localDepth {t.localDepth}, {t.ngroups} groups at 0x{t.groups:x}"
        )
        if group is not None and group >= t.ngroups:
            raise MapscopeError(f"group {group} out of range: table {n} has {t.ngroups}")
        for g, grp in swiss.iter_groups(read, t, mt):
            if group is not None and g != group:
                continue
            out.append(f"group {g} @0x{grp.address:x}")
            out += _slot_lines(grp, mt, render)
    return "\n".join(out)


def _slot_lines(group, mt, render):
    lines, run = [], None
    for s in list(group.slots) + [None]:
        if s is not None and s.state == "empty":
            run = (run[0], s.index) if run else (s.index, s.index)
            continue
        if run:
            first, last = run
            lines.append(f"  slot {first}  empty" if first == last else f"  slots {first}-{last}  empty")
            run = None
        if s is None:
            break
        if s.live:
            key = render(mt.key_type, s.key, mt.key_indirect)
            elem = render(mt.elem_type, s.elem, mt.elem_indirect)
            lines.append(f"  slot {s.index}  full h2 {s.ctrl:#04x}  [{key}] = {elem}")
        elif s.state == "deleted":
            lines.append(f"  slot {s.index}  deleted")
        else:
            lines.append(f"  slot {s.index}  ctrl {s.ctrl:#04x} (neither empty, deleted nor full)")
    return lines
