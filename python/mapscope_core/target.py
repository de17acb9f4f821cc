"""The target service: one debugged program seen through an adapter and its profile.

Both the ``hmap`` commands (:mod:`commands`) and the replay engine (:mod:`replay`) work through a
:class:`Target`. It owns what is true of the program rather than of a command:

- the profile (loaded or built on first use) and the load bias that relates the running
  process's pcs to the profile's link-time addresses;
- which role function a pc, a frame or a thread is in, and reading a role frame's ``h``;
- reading and decoding maps (header, entries, the entry a stopped evacuate holds in flight);
- breakpoint sites for roles and probes, with their conditions;
- the oldbuckets watchpoints and the fatal catchpoints, and what a stop at one of them means.

It returns data (dataclasses and dicts), never text: formatting is the commands' job, and the
replay engine turns the same data into transcript events.
"""

import os
import re
from dataclasses import dataclass

from . import conditions, decode, elf, inspector, places, profile_cache, recognize, swiss, typenames
from .adapter import Site
from .errors import MapscopeError
from .profile import Profile
from .values import Renderer

#: x86-64 has four debug registers; a fifth watchpoint is accepted and fails on resume.
HW_WATCHPOINTS = 4
#: evacuate's local holding the bucket of the old chain it is walking (Go's runtime and gomap
#: both call it b).
EVACUATE_WALKS = "b"


@dataclass
class Watch:
    """An oldbuckets watchpoint (or, on a Swiss map, a directory one: ``what`` says which): on
    which map, and the value last seen."""

    number: int
    header: int
    map_type: object
    value: int
    what: str = "oldbuckets"
    address: int = 0  # what is watched (Swiss: dirPtr's or a directory entry's address)
    state: object = None  # Swiss: what the watched pointer points at (swiss.WATCH_STATES)


@dataclass
class WatchHit:
    """A write to a watched oldbuckets: who made it, and what it means for the grow."""

    number: int
    old: int
    new: int
    role: object  # the innermost map role of the writing thread, or None
    thread: str
    thread_number: int
    what: str = "oldbuckets"
    note: object = None  # what the write means, when not an oldbuckets transition

    @property
    def meaning(self):
        if self.note:
            return self.note
        if self.old == 0 and self.new != 0:
            return "grow started"
        return "grow finished" if self.new == 0 else "changed"

    @property
    def change(self):
        """The transition without addresses: ``nil -> set``."""
        return f"{'set' if self.old else 'nil'} -> {'set' if self.new else 'nil'}"


class Target:
    """The program under the debugger, with its profile."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.profile = None
        #: watchpoint number -> Watch
        self.watches = {}
        #: breakpoint numbers of 'hmap catch fatal'
        self.fatal_breakpoints = set()
        self._bias = (0, 0)  # (pid, load bias) of the process last asked about
        #: True while the replay engine drives the program: it reads every stop itself.
        self.replaying = False
        self._inspector = None

    # -- the profile ---------------------------------------------------------------------------

    def load_profile(self, file=None, rebuild=False):
        """Loads the profile in ``file``, or builds the program's (from the cache unless
        ``rebuild``); refuses one that describes another binary."""
        binary = self.adapter.executable()
        if file:
            loaded = Profile.load(file)
        elif not binary:
            raise MapscopeError("no program loaded: 'file PROGRAM' first, or give a profile FILE")
        else:
            loaded = profile_cache.build(binary, rebuild=rebuild)
        if binary:
            loaded.check_binary(binary)
        self.profile = loaded
        return loaded

    def prefetch_profile(self):
        """Starts building the loaded program's profile in the background (see
        :func:`profile_cache.prefetch`), unless one is loaded; front-ends call it when the
        program is known."""
        binary = self.adapter.executable()
        if self.profile is None and binary:
            profile_cache.prefetch(binary)

    def require_profile(self):
        """The profile, loaded (or built) on first use."""
        if self.profile is None:
            self.load_profile()
        return self.profile

    # -- where the program is ------------------------------------------------------------------

    def load_bias(self):
        """Runtime minus link-time address of the executable, for the running process."""
        pid = self.adapter.pid()
        if pid != self._bias[0]:
            self._bias = (pid, elf.load_bias(self.adapter.executable(), pid) if pid else 0)
        return self._bias[1]

    def role_function_at(self, pc):
        """The role function containing the runtime ``pc``, or None."""
        return self.require_profile().role_function_containing(pc - self.load_bias())

    def role_frame(self, thread, include_fatal=False):
        """``(frame index, RoleFunction)`` of the innermost map role function's own frame in a
        thread's backtrace, or None. Frames of helpers inlined into that function come first and
        share its code addresses: its own frame is the last of that run."""
        found = None
        for index, frame in enumerate(thread.frames):
            fn = self.role_function_at(frame.pc)
            if found is not None:
                if fn is not found[1]:
                    break
                found = (index, fn)
            elif fn is not None and (include_fatal or fn.role != "fatal"):
                found = (index, fn)
        return found

    def roles_of(self, thread):
        """The roles of a thread's frames, innermost first (a role repeated per inlined frame)."""
        return [fn.role for fn in map(self.role_function_at, (f.pc for f in thread.frames)) if fn]

    def innermost_role(self, thread):
        """The innermost map role a thread is in, or None."""
        roles = self.roles_of(thread)
        return roles[0] if roles else None

    def thread(self, number, frames=True):
        """The ThreadInfo of a debugger thread number."""
        for t in self.adapter.threads(with_frames=frames):
            if t.number == number:
                return t
        raise MapscopeError(f"no thread {number}")

    # -- reading a role frame's parameters ------------------------------------------------------
    #
    # A parameter is read where DWARF says it is at the frame's pc (the profile's places by pc:
    # a register, a stack slot, a slot relative to the canonical frame address, or pieces), with
    # the frame's own registers: the same way in every debugger, for Go's register ABI as for
    # gomap, and in optimised code as long as DWARF knows the place.

    def link_pc(self, thread, index):
        """The link-time pc to look places up at, for frame ``index`` of a thread: a caller's pc
        is a return address, so its call lies one byte before (frames of inlined calls share
        their caller's pc, which is no return address)."""
        pc = thread.frames[index].pc
        if index > 0 and thread.frames[index - 1].pc != pc:
            pc -= 1
        return pc - self.load_bias()

    def frame_param(self, thread, index, *names):
        """The bytes of the first parameter named in ``names`` of the role function that frame
        ``index`` is in, or None (no such parameter, no known place at that pc)."""
        link = self.link_pc(thread, index)
        fn = self.require_profile().role_function_containing(link)
        param = fn.param(*names) if fn is not None else None
        if param is None:
            return None
        if not param.locations and param.location is None:
            return self._debugger_variable(thread.number, index, param.name)
        place = param.place_at(link)
        if place is None:
            return None  # optimised out here
        if index > 0:
            kept = places.CALLER_KEEPS_GO if self.require_profile().runtime else places.CALLER_KEEPS_C
            if places.lost_in_caller(place, kept):
                return None
        registers = self._registers(thread.number, index)
        try:
            return places.read(place, param.size, registers, self.read, fn.cfa_at(link), self.load_bias())
        except MapscopeError:
            # Where the place cannot be read (a register the debugger does not give), the
            # debugger's own reading of the variable, if it has one.
            return self._debugger_variable(thread.number, index, param.name)

    def frame_uint(self, thread, index, *names):
        """:meth:`frame_param` as an unsigned integer, or None."""
        raw = self.frame_param(thread, index, *names)
        return int.from_bytes(raw, "little") if raw else None

    def _registers(self, thread_number, index):
        """The register values of a frame, read from the debugger as they are asked for."""
        cache = {}

        def value(name):
            if name not in cache:
                cache[name] = self.adapter.frame_registers(thread_number, index, [name])[name]
            return cache[name]

        return value

    def _debugger_variable(self, thread_number, index, name):
        """The bytes of a frame variable as the debugger reads it (profiles without places)."""
        value = self.adapter.frame_variable(thread_number, index, name)
        if value is None:
            return None
        try:
            if value.address is not None:
                return self.read(value.address, value.size)
            return value.as_int().to_bytes(8, "little")[: value.size]
        except MapscopeError:
            return None

    def _params(self, what):
        """The names of the parameter that holds the map (``what="map"``) or the map type
        (``"type"``) in this family's role functions."""
        if self.require_profile().family == swiss.FAMILY:
            return swiss.PARAMS[what]
        return {"map": ("h",), "type": ("t",)}[what]

    def frame_map(self, thread, index):
        """``(header address, MapType)`` a role frame works on (its ``h``), or None."""
        header = self.frame_uint(thread, index, *self._params("map"))
        if not header:
            return None
        map_type = self._map_type_in_frame(thread, index)
        return (header, map_type) if map_type is not None else None

    def _map_type_in_frame(self, thread, index):
        """The map type a role frame works on: the only one; for Go, the one whose descriptor
        is the ``t`` argument; for gomap, the one the function copy was made for."""
        prof = self.require_profile()
        if len(prof.map_types) == 1:
            return prof.map_types[0]
        descriptor = self.frame_uint(thread, index, *self._params("type"))
        for mt in prof.map_types:
            if mt.descriptor is not None and descriptor is not None and mt.descriptor + self.load_bias() == descriptor:
                return mt
        fn = prof.role_function_containing(self.link_pc(thread, index))
        try:
            return prof.map_type(fn.dwarf_name) if fn is not None and fn.dwarf_name else None
        except MapscopeError:
            return None  # a map type the profile cannot tell apart

    # -- maps ----------------------------------------------------------------------------------

    def read(self, address, size):
        return self.adapter.read_memory(address, size)

    def resolve_map(self, expression, type_name=None):
        """``(header address, MapType)`` of a MAP argument: a debugger expression, or a header
        address (then ``type_name``, or the program's only map type)."""
        prof = self.require_profile()
        text = expression.strip()
        address = recognize.parse_address(text)
        if address is None:
            try:
                value = self.adapter.evaluate(text)
            except MapscopeError as unknown:
                if not text.isidentifier():
                    raise
                # The debugger does not know the variable (lldb has no Go support): DWARF may.
                try:
                    address, found = self.variable_map(text)
                except inspector.NotInScope:
                    raise unknown from None
            else:
                address, found = recognize.header_of(value, prof, text)
            type_name = type_name or found
        if type_name is None or typenames.key_elem_of(type_name) is None:
            # A bare address, or the runtime's untyped header (Go's *runtime.hmap): a role frame
            # working on this header knows its map type.
            in_frame = self._map_type_of_header(address)
            if in_frame is not None:
                return address, in_frame
        return address, prof.map_type(type_name)

    def _map_type_of_header(self, address):
        """The map type of the header at ``address`` as the innermost role frame of the
        selected thread that works on it sees it (its ``t``), or None."""
        if not self.adapter.pid() or len(self.require_profile().map_types) < 2:
            return None
        selected = self.adapter.selected_thread()
        thread = next((t for t in self.adapter.threads(with_frames=True) if t.number == selected), None)
        found = self.role_frame(thread) if thread is not None else None
        if found is None or self.frame_uint(thread, found[0], *self._params("map")) != address:
            return None
        return self._map_type_in_frame(thread, found[0])

    def header(self, address, map_type):
        if swiss.is_swiss(map_type):
            return swiss.read_header(self.read, address, map_type)
        return decode.read_header(self.read, address, map_type)

    def bucket_chain(self, array, index, map_type):
        """Bucket ``index`` of a bucket array and its overflow buckets."""
        return decode.read_chain(self.read, decode.bucket_address(array, index, map_type), map_type)

    def renderer(self):
        return Renderer(self.read, self.require_profile().types)

    def iter_entries(self, header):
        """The map's live entries (decode.Entry), correct at any moment of growth, including an
        entry a stopped thread has marked evacuated but not copied yet; lazily. (Swiss maps:
        :func:`swiss.iter_live_entries`.)"""
        if swiss.is_swiss(header.map_type):
            return swiss.iter_live_entries(self.read, header)
        return decode.iter_live_entries(self.read, header, self.evacuating(header))

    def entries(self, address, map_type):
        """The header and ``[(key text, elem text)]`` of every live entry."""
        header = self.header(address, map_type)
        render = self.render_entry
        return header, [render(map_type, e) for e in self.iter_entries(header)]

    def render_entry(self, map_type, entry):
        r, mt = self.renderer(), map_type
        return r.render(mt.key_type, entry.key, mt.key_indirect), r.render(mt.elem_type, entry.elem, mt.elem_indirect)

    def evacuating(self, header):
        """Old buckets of this map that stopped threads are in the middle of evacuating: the
        ``oldbucket`` of every evacuate frame whose ``h`` is this header.

        Optimised code keeps ``oldbucket`` only until evacuate has used it (Go's register
        arguments are not spilled), but the bucket evacuate is walking, its local ``b``, lives
        in the frame throughout: the old bucket whose chain holds ``b`` is the one, and ``b``
        being in this map's old array says whose it is when ``h`` is gone too."""
        if not header.growing or not self.adapter.pid():
            return set()
        found = set()
        for t in self.adapter.threads(with_frames=True):
            for index, frame in enumerate(t.frames):
                fn = self.role_function_at(frame.pc)
                if fn is None or fn.role != "evacuate":
                    continue
                h = self.frame_uint(t, index, "h")
                bucket = self.frame_uint(t, index, "oldbucket")
                if bucket is None and h in (header.address, None):
                    walking = self._local_uint(t, index, EVACUATE_WALKS)
                    bucket = decode.old_bucket_holding(self.read, header, walking) if walking else None
                    h = header.address if bucket is not None else h
                if h == header.address and bucket is not None:
                    found.add(bucket)
                    break
        return found

    def _local_uint(self, thread, index, name):
        """A local variable of frame ``index`` as an unsigned integer, or None where DWARF
        does not know it."""
        try:
            raw, _ = self.variable(thread, index, name)
        except MapscopeError:  # NotInScope is one
            return None
        return int.from_bytes(raw, "little")

    # -- variables the debugger cannot see -----------------------------------------------------

    def inspector(self):
        """The DWARF inspector's variable service for the loaded program."""
        binary = self.adapter.executable()
        if self._inspector is None or self._inspector.binary != binary:
            if self._inspector is not None:
                self._inspector.close()
            self._inspector = inspector.Inspector(binary)
        return self._inspector

    def variable(self, thread, index, name):
        """``(bytes, type name)`` of the variable ``name`` in scope in frame ``index`` of a
        thread, read where DWARF says it is at that pc."""
        link = self.link_pc(thread, index)
        found = self.inspector().find(link, name)
        if found is None:
            function = self.inspector().variables(link).get("function") or "this frame"
            raise inspector.NotInScope(f"no variable {name} in scope in {function}")
        variable, cfa = found
        place = places.check(variable.get("location")) if variable.get("location") else None
        size = variable.get("size")
        if place is None or not isinstance(size, int) or not 0 < size <= 1 << 16:
            raise MapscopeError(f"{name} is optimised out here")
        registers = self._registers(thread.number, index)
        return places.read(place, size, registers, self.read, cfa, self.load_bias()), str(variable.get("type") or "")

    def variable_map(self, name):
        """``(header address, type name)`` of a map variable of the selected frame, by DWARF."""
        number, index = self.adapter.selected_frame()
        if not number:
            raise inspector.NotInScope(f"cannot evaluate {name!r}: the program is not running")
        raw, type_name = self.variable(self.thread(number), index, name)
        return self._header_in(raw, type_name, name), type_name

    def _header_in(self, raw, type_name, name):
        """The header address a map variable's bytes hold: Go's map is the header pointer;
        gomap's ``Map`` holds it at the handle's member, and ``&Map`` points at a ``Map``."""
        prof = self.require_profile()
        bare = typenames.strip_pointers(type_name)
        if bare.startswith("map[") or prof.map_handle_offset is None:
            return int.from_bytes(raw[:8], "little")
        if bare != type_name.strip():  # a pointer or reference to the handle
            handle = int.from_bytes(raw[:8], "little")
            return decode.read_uint(self.read, handle + prof.map_handle_offset, 8)
        if len(raw) < prof.map_handle_offset + 8:
            raise MapscopeError(f"{name} ({type_name}) is not a map")
        return int.from_bytes(raw[prof.map_handle_offset : prof.map_handle_offset + 8], "little")

    # -- breakpoint sites ----------------------------------------------------------------------

    def role_sites(self, role):
        """``(Site, RoleFunction, None)`` for each function of ``role``, after its prologue."""
        return [
            (Site(fn.stop_address, fn.name, fn.address, at_entry=True), fn, None)
            for fn in self.require_profile().role_functions(role)
        ]

    def probe_sites(self, probe, role=None):
        """``(Site, RoleFunction, ProbeSite)`` for each address of ``probe`` (optionally within
        ``role``)."""
        prof = self.require_profile()
        found = prof.probe_sites(probe)
        if role is not None:
            within = [s for s in found if s.role == role]
            if not within:
                roles = sorted({s.role for s in found})
                raise MapscopeError(f"probe {probe} is not in role {role} (it is in: {', '.join(roles)})")
            found = within
        return [(Site(s.address, s.function.name, s.function.address, s.file, s.line), s.function, s) for s in found]

    def conditional_sites(
        self, role, probe=None, map_address=None, bucket=None, growing=False, map_type=None, unplaced=None
    ):
        """``(Site, condition or None)`` for every place to stop in ``role`` (or at ``probe``,
        within ``role`` when given), filtered to one header, one bucket, growing maps, or one map
        type (Go: the ``t`` argument is that type's descriptor; gomap: only the function copies
        made for that type).

        A site where the filter cannot be read (a parameter optimised out there) is an error;
        given the list ``unplaced``, it gets ``(Site, reason)`` instead, unless no site is left."""
        prof = self.require_profile()
        if role is not None:
            prof.role_functions(role)  # an unknown role is an error even with a probe
        if prof.family == swiss.FAMILY:
            if bucket is not None:
                raise MapscopeError("--bucket is for classic maps: a Swiss map has tables and groups, not buckets")
            if growing:
                raise MapscopeError(
                    "--growing is for classic maps: a Swiss map grows within one write (hmap break grow, or split)"
                )
        terms = []
        if map_address is not None:
            terms.append(conditions.Term("map", map_address))
        if bucket is not None:
            terms.append(conditions.Term("bucket", int(bucket)))
        if growing:
            terms.append(conditions.Term("growing"))
        sites = self.probe_sites(probe, role) if probe else self.role_sites(role)
        if map_type is not None:
            if map_type.descriptor is not None:
                terms.append(conditions.Term("type", map_type.descriptor + self.load_bias()))
            else:
                sites = [s for s in sites if self._serves(s[1], map_type)]
                if not sites:
                    raise MapscopeError(f"no {role or probe} function serves {map_type.description}")
        if prof.family == swiss.FAMILY:
            offset, names = 0, swiss.PARAMS
        else:
            offset, names = (prof.map_types[0].header["oldbuckets"].offset if prof.map_types else 0), None
        # Conditions differ per function copy: each has its own stack frame layout.
        placed, failed = [], []
        for site, function, probe_site in sites:
            try:
                placed.append((site, conditions.render(function, terms, offset, site.address, probe_site, names)))
            except MapscopeError as e:
                failed.append((site, e))
        if failed and (unplaced is None or not placed):
            if len(failed) > 1 and not placed:
                raise MapscopeError(f"{failed[0][1]} (nor at any of the other {len(failed) - 1} sites)")
            raise failed[0][1]
        if unplaced is not None:
            unplaced.extend((site, str(e)) for site, e in failed)
        return placed

    def _serves(self, function, map_type):
        """Whether a gomap role function copy is made for ``map_type`` (its generic arguments);
        a function without them (fatal, advance_evacuation_mark) serves every map."""
        kv = typenames.key_elem_of(function.dwarf_name) if function.dwarf_name else None
        if kv is None:
            return True
        return typenames.same_type(kv[0], map_type.key_type) and typenames.same_type(kv[1], map_type.elem_type)

    # -- watchpoints ---------------------------------------------------------------------------

    def watch_oldbuckets(self, address, map_type):
        """A hardware watchpoint on the header's oldbuckets; refuses a fifth debug register."""
        for w in self.watches.values():
            if w.header == address:
                raise MapscopeError(f"oldbuckets of 0x{address:x} is watched already (watchpoint #{w.number})")
        active = self.adapter.hardware_watchpoints_in_use()
        if active >= HW_WATCHPOINTS:
            raise MapscopeError(
                f"no debug register left: x86-64 has {HW_WATCHPOINTS}, {active} in use; delete a watchpoint first"
            )
        self.header(address, map_type)  # refuses what is not a map before a register is spent
        field = map_type.header["oldbuckets"]
        current = decode.read_uint(self.read, address + field.offset, field.size)
        number = self.adapter.set_watchpoint(address + field.offset, field.size)
        watch = Watch(number, address, map_type, current)
        self.watches[number] = watch
        return watch

    def watch_directory(self, address, map_type, entry=None):
        """A hardware watchpoint on a Swiss map's ``dirPtr`` (what moves when a small map gets
        its group or its first table, and when the directory doubles), or with ``entry``, on
        directory entry ``entry`` (what moves when that table grows or splits)."""
        if not swiss.is_swiss(map_type):
            raise MapscopeError("hmap watch directory is for Swiss maps; a classic map: hmap watch oldbuckets MAP")
        h = self.header(address, map_type)
        where, value, state = swiss.watch_target(self.read, h, entry)
        for w in self.watches.values():
            if w.address == where:
                raise MapscopeError(
                    f"{swiss.watch_name(entry)} of 0x{address:x} is watched already (watchpoint #{w.number})"
                )
        active = self.adapter.hardware_watchpoints_in_use()
        if active >= HW_WATCHPOINTS:
            raise MapscopeError(
                f"no debug register left: x86-64 has {HW_WATCHPOINTS}, {active} in use; delete a watchpoint first"
            )
        number = self.adapter.set_watchpoint(where, map_type.pointer_size)
        watch = Watch(number, address, map_type, value, swiss.watch_name(entry), where, state)
        self.watches[number] = watch
        return watch

    def watch_hit(self, number, thread_number, names=None):
        """What a stop at watchpoint ``number`` shows (a WatchHit), or None if not ours; the
        thread is named from ``names`` (thread number -> name, a replay's names) or by
        :meth:`thread_name`."""
        watch = self.watches.get(number)
        if watch is None:
            return None
        if watch.what != "oldbuckets":
            new = decode.read_uint(self.read, watch.address, watch.map_type.pointer_size)
            note, watch.state = swiss.watch_change(self.read, watch.map_type, watch.state, watch.value, new)
            old, watch.value = watch.value, new
            thread = self.thread(thread_number)
            name = (names or {}).get(thread.number) or self.thread_name(thread)
            return WatchHit(number, old, new, self.innermost_role(thread), name, thread.number, watch.what, note)
        field = watch.map_type.header["oldbuckets"]
        new = decode.read_uint(self.read, watch.header + field.offset, field.size)
        old, watch.value = watch.value, new
        thread = self.thread(thread_number)
        name = (names or {}).get(thread.number) or self.thread_name(thread)
        return WatchHit(number, old, new, self.innermost_role(thread), name, thread.number)

    def forget(self, numbers):
        """Drops bookkeeping of deleted breakpoints and watchpoints."""
        for n in numbers:
            self.watches.pop(n, None)
            self.fatal_breakpoints.discard(n)

    # -- fatal errors --------------------------------------------------------------------------

    def catch_fatal(self):
        """Breakpoints on the fatal role; returns their sites."""
        sites = self.role_sites("fatal")
        for site, _, _ in sites:
            self.fatal_breakpoints.add(self.adapter.set_breakpoint(site))
        return [site for site, _, _ in sites]

    def fatal_report(self, thread_number, names=None):
        """The misuse a thread stopped at the fatal role reports: ``{message, thread, role,
        others}``, where ``role`` is the role that detected it and ``others`` lists every other
        thread inside a map role (``{thread, role, in_fatal}``), by name: ``names`` (thread
        number -> name, a replay's names) or :meth:`thread_name`."""
        report = {"message": self.fatal_message(thread_number), "thread": None, "role": None, "others": []}
        threads = self.adapter.threads(with_frames=True)
        names = names or {t.number: self.thread_name(t) for t in threads}
        for t in threads:
            roles = self.roles_of(t)
            below = next((r for r in roles if r != "fatal"), None)
            name = names.get(t.number, t.name)
            if t.number == thread_number:
                report.update(thread=name, role=below, **self.whereabouts(t))
            elif roles:
                other = {"thread": name, "role": below or "fatal", "in_fatal": "fatal" in roles}
                report["others"].append(dict(other, **self.whereabouts(t)))
        report["others"].sort(key=lambda o: o["thread"])
        return report

    # -- goroutines ----------------------------------------------------------------------------
    #
    # In a Go program a thread (an M) runs goroutines, and every thread carries the program's
    # name: a thread is named by its goroutine instead ("goroutine 7"), unless the program named
    # the thread itself (a goroutine locked to a thread, as the Go fixtures do).

    def thread_name(self, thread):
        """A thread's name for reports: its own name, or for Go a thread that has none of its
        own, ``goroutine N``."""
        runtime = self.require_profile().runtime
        if runtime is None or thread.name and thread.name != self._program_name():
            return thread.name
        g = self.goroutine(thread)
        return f"goroutine {g['goroutine']}" if g else thread.name

    def goroutine_names(self, threads):
        """The names a Go replay knows threads by, in order: a thread's own name when the
        program gave it one; else the function its goroutine started in (the frame below
        runtime.goexit), ``main.worker``; goroutines that started in the same function are
        told apart by the order of their goroutine ids, ``main.worker#2``."""
        names = []
        for t in threads:
            if t.name and t.name != self._program_name():
                names.append(t.name)
                continue
            start = _start_function(t)
            names.append(start or t.name)
        counts = {}
        for name in names:
            counts[name] = counts.get(name, 0) + 1
        repeated = {n for n, c in counts.items() if c > 1 and "." in n}
        if repeated:
            ids = {t.number: (self.goroutine(t) or {}).get("goroutine", 0) for t in threads}
            for name in repeated:
                same = sorted((ids[t.number], i) for i, t in enumerate(threads) if names[i] == name)
                for rank, (_, i) in enumerate(same, start=1):
                    names[i] = f"{name}#{rank}"
        return names

    def _program_name(self):
        return os.path.basename(self.adapter.executable())[:15]  # the kernel keeps 15 bytes

    def whereabouts(self, thread):
        """Where a Go thread is, beyond its map role: ``{goroutine, lwp, frame}`` with its
        goroutine id, kernel thread id and innermost frame of user code ({} for gomap)."""
        if self.require_profile().runtime is None:
            return {}
        found = {"lwp": thread.lwp, "frame": _user_frame(thread)}
        g = self.goroutine(thread)
        if g:
            found["goroutine"] = g["goroutine"]
        return found

    def goroutine(self, thread):
        """``{goroutine: id}`` of the goroutine a Go thread runs, or None. The current g is in the
        register ABIInternal keeps it in, or in the thread-local slot; a candidate counts only
        if its M is this very thread (m.procid is the thread's LWP), and a thread on its
        scheduler stack (g0) is named by the goroutine it runs (m.curg)."""
        runtime = self.require_profile().runtime
        for g in self._g_candidates(thread, runtime):
            try:
                m = self._field(g, runtime.g["m"])
                if not m or self._field(m, runtime.m["procid"]) != thread.lwp:
                    continue
                goid = self._field(g, runtime.g["goid"])
                if goid == 0 and "curg" in runtime.m:  # g0: the scheduler's own stack
                    curg = self._field(m, runtime.m["curg"])
                    goid = self._field(curg, runtime.g["goid"]) if curg else 0
                return {"goroutine": goid} if goid else None
            except MapscopeError:
                continue
        return None

    def _g_candidates(self, thread, runtime):
        if runtime.g_tls is not None:
            try:
                base = self.adapter.frame_registers(thread.number, 0, [runtime.g_tls["register"]])
                yield decode.read_uint(self.read, base[runtime.g_tls["register"]] + runtime.g_tls["offset"], 8)
            except MapscopeError:
                pass  # lldb reads no fs_base
        if runtime.g_register is not None:
            try:
                yield self.adapter.frame_registers(thread.number, 0, [runtime.g_register])[runtime.g_register]
            except MapscopeError:
                pass

    def _field(self, address, field):
        return decode.read_uint(self.read, address + field.offset, field.size)

    def fatal_message(self, thread_number):
        """The message passed to the fatal function (parameter ``msg`` in gomap, ``s`` in Go,
        where it arrives in two registers), rendered with the profile's layout of its string
        type."""
        thread = self.thread(thread_number)
        found = self.role_frame(thread, include_fatal=True)
        raw = self.frame_param(thread, found[0], "msg", "s") if found else None
        if raw is None:
            return "<message not readable>"
        types = self.require_profile().types
        for type_name in ("&str", "string"):
            if type_name in types:
                return self.renderer().render(type_name, raw).strip('"')
        return "<message not readable: the profile has no layout for its string type>"

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot(self, maps=None):
        """Every thread (number, name, role, frames, registers) and the state of ``maps``
        (``{header address: MapType}``; by default the maps the threads' role frames work on)."""
        self.require_profile()
        if not self.adapter.pid():
            raise MapscopeError("the program is not running: nothing to snapshot")
        threads = self.adapter.threads(with_frames=True, with_registers=True)
        found = dict(maps or {})
        snap = {"threads": [], "maps": []}
        for t in threads:
            role = self.innermost_role(t)
            found_frame = self.role_frame(t) if role else None
            # The bucket the role works on (evacuate's oldbucket, grow work's bucket), when known.
            bucket = self.frame_uint(t, found_frame[0], *conditions.BUCKET_PARAMS) if found_frame else None
            if maps is None:
                if role:
                    found.update(self._maps_in_frames(t))
                found.update(self.maps_in_scope(t))
            snap["threads"].append(
                {
                    "number": t.number,
                    "name": self.thread_name(t),
                    "lwp": t.lwp,
                    "role": role,
                    **({"bucket": bucket} if bucket is not None else {}),
                    **({"goroutine": g["goroutine"]} if (g := self._goroutine_if_go(t)) else {}),
                    "frames": [{"pc": f.pc, "function": f.function, "file": f.file, "line": f.line} for f in t.frames],
                    "registers": t.registers,
                }
            )
        for address, mt in found.items():
            h = self.header(address, mt)
            if swiss.is_swiss(mt):
                snap["maps"].append(swiss.snapshot_entry(h))
                continue
            snap["maps"].append(
                {
                    "address": address,
                    "type": mt.description,
                    "summary": h.summary(),
                    "count": h.count,
                    "B": h.B,
                    "flags": h.flag_names,
                    "growing": h.growing,
                    "nevacuate": h.nevacuate,
                }
            )
        return snap

    def _goroutine_if_go(self, thread):
        return self.goroutine(thread) if self.require_profile().runtime is not None else None

    #: How many frames of each thread a snapshot searches for map variables.
    SCOPE_FRAMES = 16

    def maps_in_scope(self, thread):
        """``{header address: MapType}`` of the map variables (locals and arguments) of a
        thread's innermost frames, found by DWARF (the debugger may not see them: lldb on Go)."""
        found = {}
        prof = self.require_profile()
        for index in range(min(len(thread.frames), self.SCOPE_FRAMES)):
            try:
                answer = self.inspector().variables(self.link_pc(thread, index))
            except MapscopeError:
                continue  # not the program's code (a library, the vdso)
            names = {v.get("name") for f in answer.get("frames") or [] for v in f.get("variables") or []}
            for name in sorted(n for n in names if isinstance(n, str)):
                try:
                    raw, type_name = self.variable(thread, index, name)
                    if typenames.key_elem_of(type_name) is None or not self._is_map_type(type_name):
                        continue
                    header = self._header_in(raw, type_name, name)
                    if header:
                        map_type = prof.map_type(type_name)
                        self.header(header, map_type)  # a variable not yet set holds no map
                        found[header] = map_type
                except MapscopeError:
                    continue  # optimised out, unreadable, or a type the profile cannot tell apart
        return found

    def _is_map_type(self, type_name):
        bare = typenames.strip_pointers(type_name)
        return bare.startswith("map[") or typenames.printer_wants("struct", bare)

    def _maps_in_frames(self, thread):
        """Headers that a thread's map-role frames work on (their ``h`` parameter)."""
        found = {}
        for index, frame in enumerate(thread.frames):
            if self.role_function_at(frame.pc) is None:
                continue
            hit = self.frame_map(thread, index)
            if hit:
                found[hit[0]] = hit[1]
        return found


#: Functions of Go's runtime and its internals: a report names the innermost frame that is not one.
_RUNTIME_PREFIXES = ("runtime.", "runtime/", "internal/", "sync.", "sync/", "syscall.")


#: Functions the Go compiler makes for ``go f(args)`` (``main.main.func1``; ``gowrap1`` since
#: Go 1.21) and for closures: a goroutine is named by the first named function it runs.
_CLOSURE = re.compile(r"\.(func|gowrap)\d+(\.\d+)*$")


def _start_function(thread):
    """The first named function a Go thread's goroutine runs: going up from runtime.goexit,
    past the wrappers and closures that ``go`` statements compile to."""
    names = [f.function for f in thread.frames]
    bottom = next((i for i, name in enumerate(names) if name.startswith("runtime.goexit")), None)
    if not bottom:
        return None
    for name in reversed(names[:bottom]):
        if not _CLOSURE.search(name):
            return name
    return names[bottom - 1]


def _user_frame(thread):
    """``function at file:line`` of a Go thread's innermost frame of user code, or None."""
    for frame in thread.frames:
        if frame.function and not frame.function.startswith(_RUNTIME_PREFIXES) and frame.function != "??":
            where = f" at {os.path.basename(frame.file)}:{frame.line}" if frame.file else ""
            return f"{frame.function}{where}"
    return None
