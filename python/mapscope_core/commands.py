"""The ``hmap`` commands: one table, thin handlers, text out.

:data:`COMMANDS` is the only list of subcommands: ``hmap help``, the "unknown command" error and
every front-end's registration are made from it. A handler parses its arguments, asks the
:class:`~mapscope_core.target.Target` and formats the answer; nothing here calls a debugger.
:meth:`Commands.on_stop` says what a stop means (a watchpoint or a fatal catchpoint of ours), and
:meth:`Commands.batch_replay` is the batch entry point's logic, exit status included.
"""

import argparse
import json
import shlex
from dataclasses import dataclass

from . import printer, swiss, swiss_text, typenames
from .errors import BadInput, MapscopeError, guarded, one_line
from .target import Target


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


def _bucket(text):
    n = _int(text)
    if n < 0:
        raise argparse.ArgumentTypeError(f"a bucket index is never negative: {n}")
    return n


def _map_type_name(text):
    if typenames.key_elem_of(text) is None:
        raise argparse.ArgumentTypeError(f"not a map type: {text!r} (Go: 'map[int64]int64', gomap: 'Map<i64, i64>')")
    return text


_MAP = (("map",), {"nargs": "+", "help": "a debugger expression or a header address"})
_TYPE = (("--type",), {"dest": "type_name", "type": _map_type_name, "help": "the map type, as map[K]V"})


@dataclass(frozen=True)
class Command:
    """One ``hmap`` subcommand."""

    name: str
    usage: str  # the arguments, after "hmap NAME"
    summary: str  # one line, for help
    arguments: tuple  # (names, argparse options) pairs

    def parser(self):
        p = _Parser(prog=f"hmap {self.name}", add_help=False)
        for names, options in self.arguments:
            p.add_argument(*names, **options)
        return p


COMMANDS = (
    Command(
        "profile",
        "[FILE] [--rebuild]",
        "load a profile, or build one with 'mapscope profile'",
        ((("file",), {"nargs": "?"}), (("--rebuild",), {"action": "store_true"})),
    ),
    Command("show", "MAP [--type T]", "the header: count, B, flags, growth progress", (_MAP, _TYPE)),
    Command(
        "buckets",
        "MAP [--old] [--bucket N] [--table N] [--type T]",
        "buckets with tophash states, keys, elems, overflow chains (Swiss maps: tables and groups)",
        (
            _MAP,
            (("--old",), {"action": "store_true"}),
            (("--bucket",), {"type": _bucket}),
            (("--table",), {"type": _bucket}),
            _TYPE,
        ),
    ),
    Command(
        "print",
        "MAP [--all] [--type T]",
        "the live entries, as the printer shows them",
        (_MAP, (("--all",), {"action": "store_true"}), _TYPE),
    ),
    Command(
        "break",
        "ROLE [--map MAP] [--bucket N] [--growing] [--probe NAME]",
        "stop in every function of a role (or at a probe point)",
        (
            (("role",), {}),
            (("--map",), {}),
            (("--bucket",), {"type": _bucket}),
            (("--growing",), {"action": "store_true"}),
            (("--probe",), {}),
            _TYPE,
        ),
    ),
    Command(
        "watch",
        "oldbuckets|directory MAP [--entry N]",
        "hardware watchpoint: who starts and who finishes a grow (Swiss maps: who moves the directory)",
        ((("what",), {"choices": ["oldbuckets", "directory"]}), _MAP, (("--entry",), {"type": _bucket}), _TYPE),
    ),
    Command(
        "snapshot",
        "[--map MAP] [--json FILE]",
        "every thread's backtrace and registers, and the maps",
        ((("--map",), {}), (("--json",), {"dest": "json_file"}), _TYPE),
    ),
    Command(
        "catch",
        "fatal",
        "stop where the program reports a concurrent-misuse error",
        ((("what",), {"choices": ["fatal"]}),),
    ),
    Command(
        "replay",
        "SCENARIO [--transcript FILE] [--bless]",
        "run a scenario's interleaving and check what it must show",
        ((("scenario",), {}), (("--transcript",), {}), (("--bless",), {"action": "store_true"})),
    ),
    Command("help", "[COMMAND]", "this list, or one command's usage", ((("command",), {"nargs": "?"}),)),
)
_BY_NAME = {c.name: c for c in COMMANDS}


def _usage_line(c):
    text = f"hmap {c.name} {c.usage}"
    return text.ljust(36) + c.summary if len(text) < 36 else f"{text}\n{'':36}{c.summary}"


USAGE = "\n".join(
    [_usage_line(c) for c in COMMANDS]
    + ["MAP is a debugger expression (a gomap Map, a header pointer, a Go map) or a header address."]
)


def command(name):
    """The Command called ``name``; an unknown name is an error that says where the list is."""
    found = _BY_NAME.get(name)
    if found is None:
        raise MapscopeError(f"unknown command 'hmap {name}'; try 'hmap help'")
    return found


def parse(name, argument_text):
    """Parses the arguments of ``hmap NAME``."""
    cmd = command(name)
    try:
        argv = shlex.split(argument_text)
    except ValueError as e:
        raise MapscopeError(f"hmap {name}: {e}") from None
    return cmd.parser().parse_args(argv)


#: The last line of a batch replay's output: its exit status.
REPLAY_STATUS = "replay exit status: "


class Commands:
    """The ``hmap`` commands of one debugger session."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.target = Target(adapter)
        self._warned = None  # the profile whose warnings the user has seen

    # -- dispatch --------------------------------------------------------------------------------

    def run(self, name, argument_text=""):
        """Runs ``hmap NAME ARGS`` and returns its output. Every failure is a MapscopeError
        with a one-line message."""
        return guarded(self._run, name, argument_text)

    def run_line(self, line):
        """Runs ``hmap LINE`` (for front-ends that register one command)."""
        name, _, rest = line.strip().partition(" ")
        return self.run(name or "help", rest)

    def _run(self, name, argument_text):
        args = parse(name, argument_text)
        output = getattr(self, f"cmd_{name}")(args)
        # A profile loaded on the way (the first command builds one) shows its warnings once.
        profile = self.target.profile
        if profile is not None and profile is not self._warned:
            self._warned = profile
            if name != "profile" and profile.warnings:
                output = "\n".join([f"profile warning: {w}" for w in profile.warnings] + [output or ""])
        return output

    # -- the commands ----------------------------------------------------------------------------

    def cmd_help(self, args):
        if not args.command:
            return USAGE
        c = command(args.command)
        return f"hmap {c.name} {c.usage}\n  {c.summary}"

    def cmd_profile(self, args):
        loaded = self.target.load_profile(args.file, rebuild=args.rebuild)
        kinds = ", ".join(mt.description for mt in loaded.map_types) or "no map types"
        lines = [
            f"profile: {loaded.family} target, {len(loaded.roles())} roles, "
            f"{len(loaded.probes())} probes, {kinds} (from {loaded.source})"
        ]
        lines += [f"profile warning: {w}" for w in loaded.warnings]
        self._warned = loaded
        return "\n".join(lines)

    def _map(self, args):
        return self.target.resolve_map(" ".join(args.map), args.type_name)

    def cmd_show(self, args):
        address, mt = self._map(args)
        if swiss.is_swiss(mt):
            return swiss_text.show(self.target, address, mt)
        h = self.target.header(address, mt)
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
        address, mt = self._map(args)
        if swiss.is_swiss(mt):
            return swiss_text.buckets(self.target, address, mt, args.table, args.bucket, args.old)
        if args.table is not None:
            raise MapscopeError("--table is for Swiss maps: a classic map has buckets, not tables")
        h = self.target.header(address, mt)
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
            if args.bucket >= count:
                raise MapscopeError(f"bucket {args.bucket} out of range: the {label} array has {count}")
            indices = [args.bucket]
        out = [f"{label} buckets of {mt.description} at 0x{address:x}: {count} at 0x{array:x} ({h.summary()})"]
        render = self.target.renderer().render
        for i in indices:
            chain = self.target.bucket_chain(array, i, mt)
            evacuated = " evacuated" if chain[0].evacuated(mt.constants) else ""
            out.append(f"bucket {i}{evacuated}")
            for n, bucket in enumerate(chain):
                if n:
                    out.append(f"  overflow bucket {n} @0x{bucket.address:x}")
                out += _slot_lines(bucket, mt, render)
        return "\n".join(out)

    def cmd_print(self, args):
        address, mt = self._map(args)
        return printer.print_map(self.target, address, mt, None if args.all else self.adapter.element_limit())

    def cmd_break(self, args):
        map_address = map_type = None
        if args.map is not None:
            map_address, mt = self.target.resolve_map(args.map, args.type_name)
            self.target.header(map_address, mt)  # refuses what is not a map
        elif args.type_name is not None:
            map_type = self.target.require_profile().map_type(args.type_name)
        unplaced = []
        placed = self.target.conditional_sites(
            args.role, args.probe, map_address, args.bucket, args.growing, map_type, unplaced
        )
        if not placed:
            raise MapscopeError(f"role {args.role} has no function in this program: nothing to stop at")
        numbers = [self.adapter.set_breakpoint(site, cond) for site, cond in placed]
        where = f"probe {args.probe}" if args.probe else f"role {args.role}"
        lines = [f"hmap break: {len(numbers)} breakpoint(s) on {where}"]
        for n, (site, cond) in zip(numbers, placed, strict=True):
            lines.append(f"  #{n} {site.describe()}" + (f" if {cond}" if cond else ""))
        for site, reason in unplaced:
            lines.append(f"  not placed: {site.describe()}: {reason}")
        return "\n".join(lines)

    def cmd_watch(self, args):
        address, mt = self._map(args)
        if args.what == "directory" or swiss.is_swiss(mt):
            if args.what != "directory":
                raise MapscopeError(
                    "a Swiss map has no oldbuckets (a table grows within one write): "
                    "hmap watch directory MAP [--entry N]"
                )
            w = self.target.watch_directory(address, mt, args.entry)
            where = f"{w.what} of {mt.description} at 0x{address:x}"
            return f"hmap watch: watchpoint #{w.number} on {where} (now 0x{w.value:x})"
        if args.entry is not None:
            raise MapscopeError("--entry is for hmap watch directory (Swiss maps)")
        w = self.target.watch_oldbuckets(address, mt)
        return (
            f"hmap watch: watchpoint #{w.number} on oldbuckets of {mt.description} at 0x{address:x} (now 0x{w.value:x})"
        )

    def cmd_catch(self, args):
        sites = self.target.catch_fatal()
        return f"hmap catch fatal: {len(sites)} breakpoint(s) on {', '.join(s.function for s in sites)}"

    def cmd_snapshot(self, args):
        maps = None
        if args.map is not None:
            address, mt = self.target.resolve_map(args.map, args.type_name)
            maps = {address: mt}
        snap = self.target.snapshot(maps)
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
                f"  thread {t['number']} '{t['name']}'"
                + (f" in {t['role']}" if t["role"] else "")
                + (f" (bucket {t['bucket']})" if "bucket" in t else "")
                + f": {top}"
            )
        for m in snap["maps"]:
            lines.append(f"  map 0x{m['address']:x} {m['type']}: {m['summary']}")
        if args.json_file:
            lines.append(f"written to {args.json_file}")
        return "\n".join(lines)

    def cmd_replay(self, args):
        """Runs a scenario; raises MapscopeError (after the account) when it fails."""
        passed, text = self.replay(args.scenario, args.transcript, args.bless)
        if not passed:
            raise MapscopeError(f"replay of {args.scenario} failed", output=text)
        return text

    # -- replay ----------------------------------------------------------------------------------

    def replay(self, scenario_path, transcript_file=None, bless=False):
        """``(passed, account)`` of one replay of the scenario at ``scenario_path``."""
        from . import replay, transcript  # only replays need them: the printer starts sooner

        scen = self._scenario_program(scenario_path)
        events = replay.Engine(self.target).run(scen)
        if transcript_file:
            transcript.write(transcript_file, events)
        expected = transcript.expected_path(scenario_path)
        text = transcript.account(events)
        passed = events[-1]["result"] == "pass"
        if bless:
            transcript.write(expected, events)
            return passed, text + f"\nblessed: {expected}"
        diff = transcript.compare(events, expected)
        if diff:
            return False, text + f"\ntranscript differs from {expected}:\n{diff}"
        return passed, text + f"\ntranscript matches {expected}"

    def _scenario_program(self, scenario_path):
        """The scenario at ``scenario_path``, its program loaded (when the debugger has none)."""
        from . import scenario

        scen = scenario.load(scenario_path)
        binary = self.adapter.executable()
        if not binary:
            binary = scenario.find_fixture(scen)
            self.adapter.load_program(binary)
        if scenario.program_name(binary) != scen.fixture:
            raise BadInput(f"scenario {scen.name} runs {scen.fixture}, but the debugger has {binary}")
        return scen

    def replays_free(self, scenario_path):
        """Whether the scenario's program has threads of its own that must keep running while
        the scenario's are held (Go): the front-end then runs the replay in its non-stop way.
        False when that cannot be told (the replay itself then reports why)."""
        try:
            self._scenario_program(scenario_path)
            return self.target.require_profile().runtime is not None
        except MapscopeError:
            return False

    def batch_replay(self, scenario_path, transcript_file=None, bless=False):
        """The batch entry point's logic: ``(exit status, text)``, the status 0 (passed and the
        transcript matched), 1 (failed) or 2 (bad input), also stated on the text's last line
        (``mapscope replay`` reads it there)."""
        try:
            passed, text = guarded(self.replay, scenario_path, transcript_file, bless)
            status = 0 if passed else 1
        except BadInput as e:
            status, text = 2, f"replay refused: {e}"
        except MapscopeError as e:
            status, text = 1, f"replay failed: {e}"
        return status, f"{text}\n{REPLAY_STATUS}{status}"

    # -- stops -----------------------------------------------------------------------------------

    def on_stop(self, stop):
        """Reports for a stop at our watchpoints or fatal catchpoints (one text each). Silent
        while a replay runs: the engine records its stops in the transcript."""
        reports = []
        if self.target.replaying:
            return reports
        try:
            for number in stop.watchpoints:
                hit = self.target.watch_hit(number, stop.thread)
                if hit is not None:
                    reports.append(format_watch_hit(hit))
            if self.target.fatal_breakpoints & set(stop.breakpoints):
                reports.append(format_fatal(self.target.fatal_report(stop.thread)))
        except Exception as e:  # noqa: BLE001 - a stop report must never break the stop
            reports.append(f"hmap: {one_line(e)}")
        return reports


def format_watch_hit(hit):
    return (
        f"hmap watch #{hit.number}: {hit.what} 0x{hit.old:x} -> 0x{hit.new:x} ({hit.meaning}) by "
        f"{hit.role or 'unknown role'} in thread {hit.thread_number} '{hit.thread}'"
    )


def format_fatal(report):
    lines = [
        f"hmap catch fatal: fatal error: {report['message']}",
        f"  detected by {_who(report)} in {report['role'] or 'unknown role'}{_at(report)}",
    ]
    for other in report["others"]:
        also = " (it detected misuse too)" if other["in_fatal"] else ""
        lines.append(f"  also in a map role: {_who(other)} in {other['role']}{also}{_at(other)}")
    if not report["others"]:
        lines.append(
            "  no other thread is inside a map role now: the other offender has already left the "
            "map code (its end check or entry check came after the damage)"
        )
    return "\n".join(lines)


def _who(offender):
    """``thread 'writer-1'``, or for Go ``goroutine 7 (LWP 1234)``."""
    name = offender["thread"]
    who = name if name.startswith("goroutine ") else f"thread '{name}'"
    if "lwp" in offender:
        goroutine = (
            f"goroutine {offender['goroutine']}, "
            if "goroutine" in offender and name != f"goroutine {offender['goroutine']}"
            else ""
        )
        who += f" ({goroutine}LWP {offender['lwp']})"
    return who


def _at(offender):
    return f", at {offender['frame']}" if offender.get("frame") else ""


def _slot_lines(bucket, mt, render):
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
            key = render(mt.key_type, s.key, mt.key_indirect)
            elem = render(mt.elem_type, s.elem, mt.elem_indirect)
            lines.append(f"  slot {s.index}  tophash {s.tophash:#04x}  [{key}] = {elem}")
        elif s.state in ("evacuatedX", "evacuatedY"):
            key = render(mt.key_type, s.key, mt.key_indirect)
            lines.append(f"  slot {s.index}  {s.state}  (was [{key}])")
        else:
            lines.append(f"  slot {s.index}  {s.state}")
    if rest_from is not None:
        lines.append(_rest_line(rest_from, len(bucket.slots) - 1))
    return lines


def _rest_line(first, last):
    if first == last:
        return f"  slot {first}  emptyRest"
    return f"  slots {first}-{last}  emptyRest"
