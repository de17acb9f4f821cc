"""mapscope's gdb front-end: the adapter between gdb and the debugger-neutral core, the ``hmap``
commands, the map printer, and the replay entry point.

Imported (once) by gdb-scripts/mapscope.py; being a module keeps its names out of the namespace
that every script gdb sources shares. Everything that is not a gdb call lives in the core
(python/mapscope_core).
"""

import os
import shlex
import sys

import gdb

_CORE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")
if _CORE not in sys.path:
    sys.path.insert(0, _CORE)

from mapscope_core import MapscopeError  # noqa: E402
from mapscope_core.adapter import Adapter, Frame, Stop, ThreadInfo  # noqa: E402
from mapscope_core.commands import USAGE, Session  # noqa: E402
from mapscope_core.profile import key_elem_of  # noqa: E402

#: The field of gomap's ``Map<K, V>`` that points at the header.
MAP_HANDLE_FIELD = "hmap"
_REGISTERS = ("rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi") + tuple(f"r{i}" for i in range(8, 16))
_C_WORDS = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long"}
_MAX_FRAMES = 64
_ADDRESS_SIZE = 8  # x86-64: an integer of another size cannot be a header address


class GdbAdapter(Adapter):
    """The core's view of gdb."""

    name = "gdb"

    def read_memory(self, address, size):
        try:
            return gdb.selected_inferior().read_memory(address, size).tobytes()
        except gdb.MemoryError:
            raise MapscopeError(f"cannot read {size} bytes at 0x{address:x}") from None

    def executable(self):
        return gdb.current_progspace().filename

    def evaluate_map(self, expression):
        try:
            value = gdb.parse_and_eval(expression)
        except gdb.error as e:
            raise MapscopeError(f"cannot evaluate {expression!r}: {e}") from None
        return _header_of(value, expression)

    def frame_variable(self, thread_number, frame_index, name):
        with _SelectionKept():
            frame = _frame(thread_number, frame_index)
            if frame is None:
                return None
            try:
                value = frame.read_var(name)
            except (ValueError, gdb.error):
                return None
            if value.address is None:
                return None
            return int(value.address), value.type.sizeof, str(value.type)

    def pid(self):
        inferior = gdb.selected_inferior()
        return inferior.pid if inferior else 0

    def set_breakpoint(self, site, condition=None):
        # By name, or relative to the function's symbol, so that gdb moves the breakpoint with
        # the program when it is loaded elsewhere (PIE), also when it is set before 'run'. At a
        # function's entry gdb's own linespec also reports the stop in the function rather than
        # in the helper inlined at its first line. Conditions come in C syntax; gdb remembers
        # the language a breakpoint was made in.
        if site.at_entry:
            spec = f"-function {site.function}"
        else:
            spec = f"*((char *)&'{site.function}' + {site.offset})"
        with _Language("c"):
            try:
                bp = gdb.Breakpoint(spec)
            except gdb.error as e:
                raise MapscopeError(f"gdb could not set a breakpoint at {site.describe()}: {e}") from None
            if condition:
                try:
                    bp.condition = condition
                except gdb.error as e:
                    bp.delete()
                    raise MapscopeError(f"gdb rejected the condition {condition!r}: {e}") from None
        return bp.number

    def set_watchpoint(self, address, size):
        word = _C_WORDS.get(size)
        if word is None:
            raise MapscopeError(f"cannot watch {size} bytes")
        # The expression is parsed in the current language; C's syntax is the portable one.
        with _Language("c"):
            try:
                bp = gdb.Breakpoint(f"*({word} *) {address:#x}", gdb.BP_WATCHPOINT, gdb.WP_WRITE)
            except gdb.error as e:
                raise MapscopeError(f"gdb could not set a watchpoint: {e}") from None
        if bp.type != gdb.BP_HARDWARE_WATCHPOINT:
            bp.delete()
            raise MapscopeError("gdb could only make a software watchpoint; 'set can-use-hw-watchpoints 1'")
        return bp.number

    def hardware_watchpoints_in_use(self):
        kinds = (gdb.BP_HARDWARE_WATCHPOINT, gdb.BP_READ_WATCHPOINT, gdb.BP_ACCESS_WATCHPOINT)
        return sum(1 for bp in gdb.breakpoints() if bp.type in kinds and bp.enabled)

    def threads(self, with_frames=False, with_registers=False):
        inferior = gdb.selected_inferior()
        result = []
        with _SelectionKept():
            for thread in sorted(inferior.threads(), key=lambda t: t.num):
                info = ThreadInfo(number=thread.num, name=thread.name or "")
                if with_frames or with_registers:
                    thread.switch()
                    try:
                        newest = gdb.newest_frame()
                    except gdb.error:
                        newest = None
                    if newest is not None and with_frames:
                        info.frames = _frames(newest)
                    if newest is not None and with_registers:
                        info.registers = {r: int(newest.read_register(r)) & (2**64 - 1) for r in _REGISTERS}
                result.append(info)
        return result

    # -- running -------------------------------------------------------------------------------

    def launch(self, args, env, stdout_path):
        for key, value in env.items():
            gdb.execute(f"set environment {key}={value}", to_string=True)
        command = " ".join(shlex.quote(a) for a in args)
        return _STOPS.run(f"run {command} > {shlex.quote(stdout_path)}")

    def resume(self, thread_number):
        _switch(thread_number)
        gdb.execute("set scheduler-locking on", to_string=True)
        return _STOPS.run("continue")

    def resume_all(self):
        gdb.execute("set scheduler-locking off", to_string=True)
        return _STOPS.run("continue")

    def finish(self, thread_number, frame_index):
        _switch(thread_number)
        gdb.execute("set scheduler-locking on", to_string=True)
        gdb.execute(f"frame {frame_index}", to_string=True)
        return _STOPS.run("finish")

    def enable_breakpoint(self, number, enabled):
        for bp in gdb.breakpoints():
            if bp.number == number:
                bp.enabled = enabled

    def delete_breakpoints(self, numbers):
        wanted = set(numbers)
        for bp in gdb.breakpoints():
            if bp.number in wanted:
                bp.delete()

    def kill(self):
        if gdb.selected_inferior().pid:
            gdb.execute("set scheduler-locking off", to_string=True)
            gdb.execute("kill", to_string=True)


def _switch(thread_number):
    for thread in gdb.selected_inferior().threads():
        if thread.num == thread_number:
            thread.switch()
            return
    raise MapscopeError(f"no thread {thread_number}")


class _StopRecorder:
    """Remembers why the inferior last stopped, for execution commands run from Python."""

    def __init__(self):
        self.last = None
        gdb.events.stop.connect(self._on_stop)
        gdb.events.exited.connect(self._on_exit)

    def _on_stop(self, event):
        thread = gdb.selected_thread()
        number = thread.num if thread else 0
        if isinstance(event, gdb.BreakpointEvent):
            self.last = Stop("breakpoint", number, [b.number for b in event.breakpoints])
        elif isinstance(event, gdb.SignalEvent):
            self.last = Stop("signal", number, signal=event.stop_signal)
        else:
            self.last = Stop("other", number)

    def _on_exit(self, event):
        status = event.exit_code if hasattr(event, "exit_code") else None
        self.last = Stop("exited", exit_status=status)

    def run(self, command):
        """Runs an execution command and returns the Stop it ended with."""
        self.last = None
        try:
            gdb.execute(command, to_string=True)
        except gdb.error as e:
            if gdb.selected_inferior().pid == 0 and self.last is None:
                # gdb 13 with scheduler-locking on loses the exit status of a thread that exits
                # the process ("No unwaited-for children left").
                return Stop("exited")
            if self.last is None:
                raise MapscopeError(f"gdb: {command}: {e}") from None
        if self.last is None:
            return Stop("exited") if gdb.selected_inferior().pid == 0 else Stop("other")
        return self.last


class _Language:
    """Parses expressions in ``language`` for the duration of a ``with`` block."""

    def __init__(self, language):
        self.language = language

    def __enter__(self):
        self.saved = gdb.parameter("language")
        gdb.execute(f"set language {self.language}", to_string=True)

    def __exit__(self, *exc):
        gdb.execute(f"set language {self.saved}", to_string=True)
        return False


class _SelectionKept:
    """Restores the selected thread and frame after walking other threads."""

    def __enter__(self):
        self.thread = gdb.selected_thread()
        try:
            self.frame = gdb.selected_frame()
        except gdb.error:
            self.frame = None

    def __exit__(self, *exc):
        if self.thread is not None and self.thread.is_valid():
            self.thread.switch()
            if self.frame is not None and self.frame.is_valid():
                self.frame.select()
        return False


def _frame(thread_number, index):
    for thread in gdb.selected_inferior().threads():
        if thread.num == thread_number:
            thread.switch()
            frame = gdb.newest_frame()
            for _ in range(index):
                frame = frame.older() if frame is not None else None
            return frame
    return None


def _frames(frame):
    frames = []
    while frame is not None and len(frames) < _MAX_FRAMES:
        sal = frame.find_sal()
        frames.append(
            Frame(
                pc=frame.pc(),
                function=frame.name() or "??",
                file=sal.symtab.filename if sal.symtab else "",
                line=sal.line,
            )
        )
        frame = frame.older()
    return frames


def _header_of(value, expression):
    """``(header address, type name)`` for a map value, a header pointer, or a number."""
    t = value.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_REF:
        value, t = value.referenced_value(), t.target().strip_typedefs()
    if t.code == gdb.TYPE_CODE_INT and t.sizeof == _ADDRESS_SIZE:
        return int(value), None  # an address
    if t.code == gdb.TYPE_CODE_PTR:
        target = t.target().strip_typedefs()
        if target.code == gdb.TYPE_CODE_STRUCT and _has_field(target, MAP_HANDLE_FIELD):
            return _header_of(value.dereference(), expression)
        return int(value), str(value.type)
    if t.code == gdb.TYPE_CODE_STRUCT:
        if _has_field(t, MAP_HANDLE_FIELD):
            return int(value[MAP_HANDLE_FIELD]), str(value.type)
        if _has_field(t, "oldbuckets") and value.address is not None:
            return int(value.address), str(value.type)
    raise MapscopeError(f"{expression} is not a map (its type is {value.type})")


def _has_field(struct_type, name):
    return any(f.name == name for f in struct_type.fields())


# -- the session, commands and printer ---------------------------------------------------------


SESSION = Session(GdbAdapter())
_STOPS = None  # the _StopRecorder, made by _install


def _run(command, argument):
    try:
        output = SESSION.run(command, argument)
    except MapscopeError as e:
        raise gdb.GdbError(str(e)) from None
    if output:
        print(output)


class HmapCommand(gdb.Command):
    """Inspect and stop on Go-style hash maps. 'hmap help' lists the subcommands."""

    def __init__(self):
        super().__init__("hmap", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, argument, from_tty):
        if argument.strip() in ("", "help"):
            print(USAGE)
            return
        raise gdb.GdbError(f"unknown command 'hmap {argument.split()[0]}'; try 'hmap help'")


class HmapSubcommand(gdb.Command):
    def __init__(self, name, doc):
        self.__doc__ = doc
        super().__init__(f"hmap {name}", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)
        self.subcommand = name

    def invoke(self, argument, from_tty):
        _run(self.subcommand, argument)


_SUBCOMMANDS = {
    "help": "List the hmap commands.",
    "profile": "hmap profile [FILE]: load a profile, or build one by running 'mapscope profile'.",
    "show": "hmap show MAP: the header (count, B, flags by name, growth progress).",
    "buckets": "hmap buckets MAP [--old] [--bucket N]: buckets, tophash states, entries, overflow chains.",
    "break": "hmap break ROLE [--map MAP] [--bucket N] [--growing] [--probe NAME]: stop in a role.",
    "watch": "hmap watch oldbuckets MAP: hardware watchpoint on the header's oldbuckets.",
    "snapshot": "hmap snapshot [--map MAP] [--json FILE]: every thread's backtrace and registers.",
    "catch": "hmap catch fatal: stop where the program reports concurrent misuse.",
    "replay": "hmap replay SCENARIO [--transcript FILE] [--bless]: run a scenario and check it.",
}


class MapPrinter:
    """Prints a map's live entries, correct at any moment of growth."""

    def __init__(self, value):
        self.value = value

    def to_string(self):
        try:
            address, type_name = _header_of(self.value, "value")
            return SESSION.format_print(address, type_name)
        except MapscopeError as e:
            return f"<map: {e}>"


def _lookup_printer(value):
    t = value.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR and str(value.type).startswith("map["):
        return MapPrinter(value)  # a Go map: a pointer to the runtime's header
    if t.code != gdb.TYPE_CODE_STRUCT or t.tag is None:
        return None
    name = t.tag
    if (name.startswith("gomap::Map<") or name.startswith("gomap::runtime::Hmap<")) and key_elem_of(name):
        return MapPrinter(value)
    return None


def _on_stop(event):
    if not isinstance(event, gdb.BreakpointEvent):
        return
    thread = gdb.selected_thread()
    number = thread.num if thread else 0
    for bp in event.breakpoints:
        try:
            report = SESSION.on_watchpoint(bp.number, number) or SESSION.on_fatal(bp.number, number)
        except MapscopeError as e:
            report = f"hmap: {e}"
        if report:
            print(report)


def _install():
    if getattr(gdb, "_mapscope_installed", False):
        return
    gdb._mapscope_installed = True
    HmapCommand()
    for name, doc in _SUBCOMMANDS.items():
        if name != "help":
            HmapSubcommand(name, doc)
    gdb.pretty_printers.append(_lookup_printer)
    gdb.events.stop.connect(_on_stop)
    global _STOPS
    _STOPS = _StopRecorder()


_install()


def replay_main(scenario_path, transcript_file=None, bless=False):
    """Batch entry point: replays one scenario and quits gdb with 0 (pass) or 1 (fail).

    gdb -nx -batch -x gdb-scripts/mapscope.py \\
        -ex 'python replay_main("fixtures/scenarios/ghost-read.toml")' target/debug/ghost-read
    """
    try:
        passed, text = SESSION.replay(scenario_path, transcript_file, bless)
    except MapscopeError as e:
        passed, text = False, f"replay failed: {e}"
    except Exception as e:  # noqa: BLE001 - any failure must reach the caller as status 1
        passed, text = False, f"replay failed: {type(e).__name__}: {e}"
    print(text, flush=True)
    gdb.execute(f"quit {0 if passed else 1}")
