"""The ``hmap`` commands, debugger-neutral.

A :class:`Session` holds the profile and the state of watchpoints and catchpoints for one
debugger session, and implements every command as "arguments in, text out". The front-ends only
register the commands, call into the session, and forward stop events to it.
"""

import argparse
import json
import os
import shlex

from . import conditions, decode, elf, replay, scenario, transcript
from . import profile as profiles
from .adapter import Site
from .errors import MapscopeError
from .values import Renderer, format_map

#: x86-64 has four debug registers; a fifth watchpoint is accepted and fails on resume.
HW_WATCHPOINTS = 4

USAGE = """\
hmap profile [FILE]                 load a profile, or build one with 'mapscope profile'
hmap show MAP                       the header: count, B, flags, growth progress
hmap buckets MAP [--old] [--bucket N]
                                    buckets with tophash states, keys, elems, overflow chains
hmap break ROLE [--map MAP] [--bucket N] [--growing] [--probe NAME]
                                    stop in every function of a role (or at a probe point)
hmap watch oldbuckets MAP           hardware watchpoint: who starts and who finishes a grow
hmap snapshot [--map MAP] [--json FILE]
                                    every thread's backtrace and registers, and the map
hmap catch fatal                    stop where the program reports a concurrent-misuse error
hmap replay SCENARIO [--transcript FILE] [--bless]
                                    run a scenario's interleaving and check what it must show
MAP is a debugger expression (a gomap Map, a header pointer) or a header address."""


class _Parser(argparse.ArgumentParser):
    """argparse that raises MapscopeError instead of exiting."""

    def error(self, message):
        raise MapscopeError(f"{self.prog}: {message}")

    def exit(self, status=0, message=None):
        raise MapscopeError(message.strip() if message else f"{self.prog}: bad arguments")


def _int(text):
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None


def _parser(prog, *arguments):
    p = _Parser(prog=prog, add_help=False)
    for names, options in arguments:
        p.add_argument(*names, **options)
    return p


_PARSERS = {
    "profile": _parser("hmap profile", (("file",), {"nargs": "?"})),
    "show": _parser("hmap show", (("map",), {"nargs": "+"})),
    "buckets": _parser(
        "hmap buckets",
        (("map",), {"nargs": "+"}),
        (("--old",), {"action": "store_true"}),
        (("--bucket",), {"type": _int}),
    ),
    "break": _parser(
        "hmap break",
        (("role",), {}),
        (("--map",), {}),
        (("--bucket",), {"type": _int}),
        (("--growing",), {"action": "store_true"}),
        (("--probe",), {}),
    ),
    "watch": _parser("hmap watch", (("what",), {"choices": ["oldbuckets"]}), (("map",), {"nargs": "+"})),
    "snapshot": _parser("hmap snapshot", (("--map",), {}), (("--json",), {"dest": "json_file"})),
    "catch": _parser("hmap catch", (("what",), {"choices": ["fatal"]})),
    "replay": _parser(
        "hmap replay",
        (("scenario",), {}),
        (("--transcript",), {}),
        (("--bless",), {"action": "store_true"}),
    ),
}


def parse(command, argument_text):
    """Parses the arguments of ``hmap COMMAND``."""
    if command not in _PARSERS:
        raise MapscopeError(f"unknown command 'hmap {command}'; try 'hmap help'")
    try:
        argv = shlex.split(argument_text)
    except ValueError as e:
        raise MapscopeError(f"hmap {command}: {e}") from None
    return _PARSERS[command].parse_args(argv)


class Session:
    """State and commands of one debugger session."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.profile = None
        #: watchpoint number -> (header address, map type, last oldbuckets value)
        self.watches = {}
        #: breakpoint numbers of 'hmap catch fatal'
        self.fatal_breakpoints = set()
        #: (pid, load bias) of the process last asked about
        self._bias = (0, 0)

    # -- profile ---------------------------------------------------------------------------

    def cmd_profile(self, args):
        binary = self.adapter.executable()
        if args.file:
            loaded = profiles.Profile.load(args.file)
        else:
            if not binary:
                raise MapscopeError("no program loaded: 'file PROGRAM' first, or give a profile FILE")
            loaded = profiles.build(binary)
        if binary:
            loaded.check_binary(binary)
        self.profile = loaded
        kinds = ", ".join(mt.description for mt in loaded.map_types) or "no map types"
        return (
            f"profile: {loaded.family} target, {len(loaded.roles())} roles, "
            f"{len(loaded.probes())} probes, {kinds} (from {loaded.source})"
        )

    def require_profile(self):
        """The profile, loaded (or built) on first use."""
        if self.profile is None:
            self.cmd_profile(argparse.Namespace(file=None))
        return self.profile

    # -- reading maps ----------------------------------------------------------------------

    def read(self, address, size):
        return self.adapter.read_memory(address, size)

    def resolve_map(self, expression):
        """``(header address, MapType)`` of a MAP argument."""
        prof = self.require_profile()
        try:
            address, type_name = int(expression.strip(), 0), None  # a bare header address
        except ValueError:
            address, type_name = self.adapter.evaluate_map(expression)
        return address, prof.map_type(type_name)

    def renderer(self):
        return Renderer(self.read, self.require_profile().data.get("types"))

    def entries(self, address, map_type):
        """The header and ``[(key text, elem text)]`` of the map, correct at any moment of growth,
        including an entry a stopped thread has marked evacuated but not copied yet."""
        header = decode.read_header(self.read, address, map_type)
        r = self.renderer()
        mt = map_type
        return header, [
            (r.render(mt.key_type, e.key, mt.key_indirect), r.render(mt.elem_type, e.elem, mt.elem_indirect))
            for e in decode.live_entries(self.read, header, self.evacuating(header))
        ]

    def evacuating(self, header):
        """Old buckets of this map that stopped threads are in the middle of evacuating: the
        ``oldbucket`` of every evacuate frame whose ``h`` is this header."""
        if not header.growing:
            return set()
        found = set()
        for t in self.adapter.threads(with_frames=True):
            for index, frame in enumerate(t.frames):
                hit = self.role_at(frame.pc)
                if not hit or hit[0] != "evacuate":
                    continue
                h = self.adapter.frame_variable(t.number, index, "h")
                bucket = self.adapter.frame_variable(t.number, index, "oldbucket")
                if h and bucket and decode.read_uint(self.read, h[0], h[1]) == header.address:
                    found.add(decode.read_uint(self.read, bucket[0], bucket[1]))
                    break
        return found

    def cmd_show(self, args):
        address, mt = self.resolve_map(" ".join(args.map))
        h = decode.read_header(self.read, address, mt)
        flags = "|".join(h.flag_names) or "none"
        lines = [
            f"{mt.description} at 0x{address:x} ({mt.header_name})",
            f"  count       {h.count}",
            f"  B           {h.B} ({h.nbuckets} buckets)",
            f"  flags       {flags} ({h.flags:#04x})",
        ]
        if h.growing:
            kind = "same-size" if h.same_size_grow else f"doubling from {h.noldbuckets} buckets"
            lines.append(
                f"  growing     yes, {kind}: {h.nevacuate}/{h.noldbuckets} old buckets below the "
                f"evacuation mark (nevacuate={h.nevacuate})"
            )
        else:
            lines.append("  growing     no")
        lines += [
            f"  noverflow   {h.noverflow}",
            f"  hash0       {h.hash0:#010x}",
            f"  buckets     0x{h.buckets:x}",
            f"  oldbuckets  0x{h.oldbuckets:x}",
            f"  extra       0x{h.extra:x}",
        ]
        return "\n".join(lines)

    def cmd_buckets(self, args):
        address, mt = self.resolve_map(" ".join(args.map))
        h = decode.read_header(self.read, address, mt)
        if args.old:
            if not h.growing:
                raise MapscopeError("the map is not growing: it has no old buckets")
            array, count, label = h.oldbuckets, h.noldbuckets, "old"
        else:
            array, count, label = h.buckets, h.nbuckets, "new"
        if array == 0:
            return f"{mt.description} at 0x{address:x}: no buckets allocated yet"
        indices = range(count)
        if args.bucket is not None:
            if not 0 <= args.bucket < count:
                raise MapscopeError(f"bucket {args.bucket} out of range: the {label} array has {count}")
            indices = [args.bucket]
        out = [f"{label} buckets of {mt.description} at 0x{address:x}: {count} at 0x{array:x} ({h.summary()})"]
        r = self.renderer()
        for i in indices:
            chain = decode.read_chain(self.read, decode.bucket_address(array, i, mt), mt)
            evacuated = " evacuated" if chain[0].evacuated(mt.constants) else ""
            out.append(f"bucket {i}{evacuated}")
            for n, bucket in enumerate(chain):
                if n:
                    out.append(f"  overflow bucket {n} @0x{bucket.address:x}")
                out.append(self._slots(bucket, mt, r))
        return "\n".join(out)

    def _slots(self, bucket, mt, r):
        lines = []
        rest_from = None
        for s in bucket.slots:
            if s.state == "emptyRest":
                rest_from = s.index if rest_from is None else rest_from
                continue
            if rest_from is not None:
                lines.append(_rest_line(rest_from, s.index - 1))
                rest_from = None
            if s.live:
                key = r.render(mt.key_type, s.key, mt.key_indirect)
                elem = r.render(mt.elem_type, s.elem, mt.elem_indirect)
                lines.append(f"  slot {s.index}  tophash {s.tophash:#04x}  [{key}] = {elem}")
            elif s.state in ("evacuatedX", "evacuatedY"):
                key = r.render(mt.key_type, s.key, mt.key_indirect)
                lines.append(f"  slot {s.index}  {s.state}  (was [{key}])")
            else:
                lines.append(f"  slot {s.index}  {s.state}")
        if rest_from is not None:
            lines.append(_rest_line(rest_from, len(bucket.slots) - 1))
        return "\n".join(lines)

    def format_print(self, address, type_name):
        """What ``print`` shows for a map: its live entries, ``{[k] = v, ...}``."""
        mt = self.require_profile().map_type(type_name)
        header, pairs = self.entries(address, mt)
        return f"{mt.description} with {header.count} entries = {format_map(pairs)}"

    # -- stopping --------------------------------------------------------------------------

    def cmd_break(self, args):
        map_address = self.resolve_map(args.map)[0] if args.map is not None else None
        placed = self.conditional_sites(args.role, args.probe, map_address, args.bucket, args.growing)
        numbers = [self.adapter.set_breakpoint(site, cond) for site, cond in placed]
        where = f"probe {args.probe}" if args.probe else f"role {args.role}"
        lines = [f"hmap break: {len(numbers)} breakpoint(s) on {where}"]
        for n, (site, cond) in zip(numbers, placed):
            lines.append(f"  #{n} {site.describe()}" + (f" if {cond}" if cond else ""))
        return "\n".join(lines)

    def conditional_sites(self, role, probe=None, map_address=None, bucket=None, growing=False):
        """``(Site, condition or None)`` for every place to stop in ``role`` (or at ``probe``,
        within ``role`` when given), filtered to one header, one bucket, or growing maps."""
        prof = self.require_profile()
        if role is not None:
            prof.role_functions(role)  # an unknown role is an error even with a probe
        terms = []
        if map_address is not None:
            terms.append(conditions.Term("map", map_address))
        if bucket is not None:
            terms.append(conditions.Term("bucket", int(bucket)))
        if growing:
            terms.append(conditions.Term("growing"))
        offset = prof.map_types[0].header["oldbuckets"].offset if prof.map_types else 0
        sites = self.probe_sites(probe, role) if probe else self.role_sites(role)
        # Conditions differ per function copy: each has its own stack frame layout.
        return [(site, conditions.render(function, terms, offset)) for site, function in sites]

    def role_sites(self, role):
        """``(Site, role function)`` for each function of ``role``, after its prologue."""
        return [
            (Site(fn.get("breakpoint_address") or fn["address"], _name(fn), fn["address"], at_entry=True), fn)
            for fn in self.require_profile().role_functions(role)
        ]

    def probe_sites(self, probe, role=None):
        """``(Site, role function)`` for each address of ``probe`` (optionally within ``role``)."""
        prof = self.require_profile()
        found = prof.probe_sites(probe)
        if role is not None:
            found = [s for s in found if s.get("role") == role]
            if not found:
                roles = sorted({s.get("role") or "?" for s in prof.probe_sites(probe)})
                raise MapscopeError(f"probe {probe} is not in role {role} (it is in: {', '.join(roles)})")
        by_symbol = {fn["symbol"]: fn for fns in prof.data["roles"].values() for fn in fns}
        sites = []
        for s in found:
            fn = by_symbol.get(s["symbol"])
            if fn is None:
                raise MapscopeError(f"probe {probe} at {s['file']}:{s['line']} is in no role function")
            sites.append((Site(s["address"], _name(fn), fn["address"], s["file"], s["line"]), fn))
        return sites

    def cmd_watch(self, args):
        address, mt = self.resolve_map(" ".join(args.map))
        active = self.adapter.hardware_watchpoints_in_use()
        if active >= HW_WATCHPOINTS:
            raise MapscopeError(
                f"no debug register left: x86-64 has {HW_WATCHPOINTS}, {active} in use; delete a watchpoint first"
            )
        field = mt.header["oldbuckets"]
        current = decode.read_uint(self.read, address + field.offset, field.size)
        number = self.adapter.set_watchpoint(address + field.offset, field.size)
        self.watches[number] = (address, mt, current)
        return (
            f"hmap watch: watchpoint #{number} on oldbuckets of {mt.description} at 0x{address:x} (now 0x{current:x})"
        )

    def on_watchpoint(self, number, thread_number):
        """Report for a hit of watchpoint ``number``, or None when it is not one of ours."""
        if number not in self.watches:
            return None
        address, mt, old = self.watches[number]
        field = mt.header["oldbuckets"]
        new = decode.read_uint(self.read, address + field.offset, field.size)
        self.watches[number] = (address, mt, new)
        thread = self._thread(thread_number)
        role = self.role_of_thread(thread) or "unknown role"
        meaning = "grow started" if old == 0 and new != 0 else "grow finished" if new == 0 else "changed"
        return (
            f"hmap watch #{number}: oldbuckets 0x{old:x} -> 0x{new:x} ({meaning}) by {role} "
            f"in thread {thread.number} '{thread.name}'"
        )

    def role_at(self, pc):
        """``(role, function)`` of a runtime pc, or None."""
        return self.require_profile().role_at(pc - self.load_bias())

    def load_bias(self):
        """Runtime minus link-time address of the executable, for the running process."""
        pid = self.adapter.pid()
        if pid != self._bias[0]:
            self._bias = (pid, elf.load_bias(self.adapter.executable(), pid) if pid else 0)
        return self._bias[1]

    def role_of_thread(self, thread):
        """The innermost map role a thread is in, or None."""
        for frame in thread.frames:
            found = self.role_at(frame.pc)
            if found:
                return found[0]
        return None

    def _thread(self, number):
        for t in self.adapter.threads(with_frames=True):
            if t.number == number:
                return t
        raise MapscopeError(f"no thread {number}")

    def cmd_catch(self, args):
        sites = self.role_sites("fatal")
        for site, _ in sites:
            self.fatal_breakpoints.add(self.adapter.set_breakpoint(site))
        return f"hmap catch fatal: {len(sites)} breakpoint(s) on {', '.join(s.function for s, _ in sites)}"

    def on_fatal(self, number, thread_number):
        """Report for a stop at a fatal catchpoint: the message, the detecting thread, and every
        other thread inside a map role (the other offender). None if not ours."""
        if number not in self.fatal_breakpoints:
            return None
        report = self.fatal_report(thread_number)
        lines = [
            f"hmap catch fatal: fatal error: {report['message']}",
            f"  detected by thread '{report['thread']}' in {report['role'] or 'unknown role'}",
        ]
        for other in report["others"]:
            also = " (it detected misuse too)" if other["in_fatal"] else ""
            lines.append(f"  also in a map role: thread '{other['thread']}' in {other['role']}{also}")
        if not report["others"]:
            lines.append("  no other thread is inside a map role now")
        return "\n".join(lines)

    def fatal_report(self, thread_number):
        """The misuse a thread stopped at the fatal role reports: ``{message, thread, role,
        others}``, where ``role`` is the role that detected it and ``others`` lists every other
        thread inside a map role (``{thread, role, in_fatal}``), by name."""
        report = {"message": self.fatal_message(thread_number), "thread": None, "role": None, "others": []}
        for t in self.adapter.threads(with_frames=True):
            roles = [hit[0] for hit in map(self.role_at, (f.pc for f in t.frames)) if hit]
            below = next((r for r in roles if r != "fatal"), None)
            if t.number == thread_number:
                report.update(thread=t.name, role=below)
            elif roles:
                report["others"].append({"thread": t.name, "role": below or "fatal", "in_fatal": "fatal" in roles})
        report["others"].sort(key=lambda o: o["thread"])
        return report

    def fatal_message(self, thread_number):
        """The message passed to the fatal function (parameter ``msg`` in gomap, ``s`` in Go),
        rendered with the profile's layout of its string type."""
        types = self.require_profile().data.get("types") or {}
        for name in ("msg", "s"):
            found = self.adapter.frame_variable(thread_number, 0, name)
            if found:
                address, size, _ = found
                raw = self.read(address, size)
                for type_name in ("&str", "string"):
                    if type_name in types:
                        return Renderer(self.read, types).render(type_name, raw).strip('"')
                return "<message not readable: the profile has no layout for its string type>"
        return "<message not readable>"

    # -- snapshots -------------------------------------------------------------------------

    def cmd_snapshot(self, args):
        threads = self.adapter.threads(with_frames=True, with_registers=True)
        snap = {"threads": [], "maps": []}
        maps = {}
        if args.map is not None:
            address, mt = self.resolve_map(args.map)
            maps[address] = mt
        else:
            self.require_profile()
        for t in threads:
            role = self.role_of_thread(t)
            if role and args.map is None:
                maps.update(self._maps_in_frames(t))
            snap["threads"].append(
                {
                    "number": t.number,
                    "name": t.name,
                    "role": role,
                    "frames": [{"pc": f.pc, "function": f.function, "file": f.file, "line": f.line} for f in t.frames],
                    "registers": t.registers,
                }
            )
        for address, mt in maps.items():
            h = decode.read_header(self.read, address, mt)
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
        if args.json_file:
            try:
                with open(args.json_file, "w", encoding="utf-8") as f:
                    json.dump(snap, f, indent=1)
            except OSError as e:
                raise MapscopeError(f"cannot write {args.json_file}: {e.strerror}") from None
        lines = [f"snapshot: {len(snap['threads'])} threads"]
        for t in snap["threads"]:
            top = t["frames"][0]["function"] if t["frames"] else "?"
            lines.append(
                f"  thread {t['number']} '{t['name']}'" + (f" in {t['role']}" if t["role"] else "") + f": {top}"
            )
        for m in snap["maps"]:
            lines.append(f"  map 0x{m['address']:x} {m['type']}: {m['summary']}")
        if args.json_file:
            lines.append(f"written to {args.json_file}")
        return "\n".join(lines)

    def _maps_in_frames(self, thread):
        """Headers that a thread's map-role frames work on (their ``h`` parameter)."""
        found = {}
        for index, frame in enumerate(thread.frames):
            if not self.role_at(frame.pc):
                continue
            var = self.adapter.frame_variable(thread.number, index, "h")
            if var is None:
                continue
            address, size, type_name = var
            header = decode.read_uint(self.read, address, size)
            if header:
                try:
                    found[header] = self.profile.map_type(type_name)
                except MapscopeError:
                    pass  # a map type the profile cannot tell apart: leave it out of the snapshot
        return found

    # -- replay ----------------------------------------------------------------------------------

    def cmd_replay(self, args):
        """Runs a scenario; raises MapscopeError (after printing the account) when it fails."""
        passed, text = self.replay(args.scenario, args.transcript, args.bless)
        if not passed:
            raise MapscopeError(text)
        return text

    def replay(self, scenario_path, transcript_file=None, bless=False):
        """``(passed, account)`` of one replay of the scenario at ``scenario_path``."""
        scen = scenario.load(scenario_path)
        binary = self.adapter.executable() or ""
        if os.path.basename(binary) != scen.fixture:
            raise MapscopeError(
                f"scenario {scen.name} runs {scen.fixture}, but the debugger has {binary or 'no program'}"
            )
        events = replay.Engine(self).run(scen)
        if transcript_file:
            transcript.write(transcript_file, events)
        expected = transcript.expected_path(scenario_path)
        text = transcript.account(events)
        outcome = events[-1]
        if bless:
            transcript.write(expected, events)
            return outcome["result"] == "pass", text + f"\nblessed: {expected}"
        diff = transcript.compare(events, expected)
        if diff:
            return False, text + f"\ntranscript differs from {expected}:\n{diff}"
        return outcome["result"] == "pass", text + f"\ntranscript matches {expected}"

    # -- dispatch --------------------------------------------------------------------------

    def run(self, command, argument_text):
        """Runs ``hmap COMMAND ARGS`` and returns its output."""
        if command in ("", "help"):
            return USAGE
        args = parse(command, argument_text)
        return getattr(self, f"cmd_{command}")(args)


def _name(fn):
    """A role function's name as the debugger knows it (DWARF's, with generic arguments)."""
    return fn.get("dwarf_name") or fn["function"]


def _rest_line(first, last):
    if first == last:
        return f"  slot {first}  emptyRest"
    return f"  slots {first}-{last}  emptyRest"
