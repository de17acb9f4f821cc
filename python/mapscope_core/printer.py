"""The map printer, debugger-neutral: a summary and lazily produced children.

gdb's pretty-printer and lldb's summary and synthetic-children providers are thin wrappers around
:class:`MapPrinter`. The summary reads the header only (``map[i64]i64 with 105 entries``); the
children are the live entries, produced one at a time as the debugger asks for them, so that a
stop, a ``bt`` or an ``info args`` with a map of millions in scope costs a header read, and a print
costs as many entries as the debugger's element limit lets it show.

A child is named ``[key]`` (the key rendered by the core) and holds the elem as the debugger's own
value at its address, so nested types print the debugger's way. Where the debugger knows no type
for the elem (Go in lldb) the core's text stands in.
"""

from . import recognize, swiss
from .values import format_map


class MapPrinter:
    """Prints one map value, correct at any moment of growth."""

    def __init__(self, target, value, expression="value"):
        self.target = target
        profile = target.require_profile()
        self.address, type_name = recognize.header_of(value, profile, expression)
        self.map_type = profile.map_type(type_name)
        self.value = value
        if swiss.is_swiss(self.map_type):
            self._elem_type = swiss.elem_debugger_type(value)
        else:
            self._elem_type = _slot_type(value, profile, self.map_type, "elems")

    def header(self):
        return self.target.header(self.address, self.map_type)

    def summary(self):
        """The one line that needs no walk of the buckets."""
        return summarize(self.map_type, self.header())

    def children(self):
        """``(name, Value or text)`` for each live entry, lazily."""
        mt = self.map_type
        render = self.target.renderer().render
        for entry in self.target.iter_entries(self.header()):
            name = f"[{render(mt.key_type, entry.key, mt.key_indirect)}]"
            if self._elem_type is not None:
                yield name, self.target.adapter.value_at(entry.elem_address, self._elem_type)
            else:
                yield name, render(mt.elem_type, entry.elem, mt.elem_indirect)


def summarize(map_type, header):
    return f"{map_type.description} with {header.count} entries"


def print_map(target, address, map_type, limit):
    """``hmap print``: ``map[K]V with N entries = {[k] = v, ...}``, at most ``limit`` entries
    (None: all), rendered by the core so that every debugger prints the same text."""
    header = target.header(address, map_type)
    pairs, more = [], False
    for entry in target.iter_entries(header):
        if limit is not None and len(pairs) >= limit:
            more = True
            break
        pairs.append(target.render_entry(map_type, entry))
    text = format_map(pairs)
    if more:
        text = text[:-1] + ", ...}"
    return f"{summarize(map_type, header)} = {text}"


def _slot_type(value, profile, map_type, canonical):
    """The debugger's Type of one ``keys``/``elems`` slot of this map's buckets, found from the
    printed value's own type: (pointer ->) handle -> header pointer -> header -> buckets pointer
    -> bucket -> slot array -> element. None when the debugger has no such types."""
    buckets = profile.header_field_name("buckets")
    handle = profile.map_handle_field
    t = value.type
    for _ in range(4):  # pointer, handle, header pointer, header: no deeper
        if t is None or t.field(buckets) is not None:
            break
        inner = t.field(handle) if handle else None
        t = inner if inner is not None else t.target()
    else:
        return None
    if t is None:
        return None
    pointer = t.field(buckets)
    bucket = pointer.target() if pointer is not None else None
    array = bucket.field(map_type.bucket_members[canonical]) if bucket is not None else None
    return array.target() if array is not None else None
