"""mapscope's gdb front-end: the gdb adapter, and the registration of the core's commands,
printer and stop reports.

Imported (once) by gdb-scripts/mapscope.py; being a module keeps its names out of the namespace
that every script gdb sources shares. Only gdb calls live here; everything else is the core's
(python/mapscope_core).
"""

import functools
import os
import queue
import shlex
import signal
import sys
import threading

import gdb

_CORE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")
if _CORE not in sys.path:
    sys.path.insert(0, _CORE)

from mapscope_core import MapscopeError  # noqa: E402
from mapscope_core.adapter import C_WORDS, Adapter, Frame, Stop, ThreadInfo, Type, Value  # noqa: E402
from mapscope_core.commands import COMMANDS, Commands  # noqa: E402
from mapscope_core.errors import one_line  # noqa: E402
from mapscope_core.printer import MapPrinter  # noqa: E402
from mapscope_core.typenames import printer_wants  # noqa: E402

_REGISTERS = ("rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi") + tuple(f"r{i}" for i in range(8, 16))
_MAX_FRAMES = 64
_WATCHPOINT_TYPES = (gdb.BP_WATCHPOINT, gdb.BP_HARDWARE_WATCHPOINT, gdb.BP_READ_WATCHPOINT, gdb.BP_ACCESS_WATCHPOINT)
#: The register that holds a system call's first argument at its entry, by gdb's name of the
#: architecture: exit_group's status (see GdbAdapter._end_at_exit).
_SYSCALL_ARG0 = {"i386:x86-64": "rdi", "aarch64": "x0"}
_KINDS = {
    gdb.TYPE_CODE_INT: "int",
    gdb.TYPE_CODE_PTR: "pointer",
    gdb.TYPE_CODE_STRUCT: "struct",
    gdb.TYPE_CODE_REF: "reference",
}


def _on_gdb(function, *args, **kwargs):
    """Calls ``function`` on gdb's own thread: at once when already there, else through gdb's
    event queue, waiting for the result (gdb's API is not thread-safe)."""
    if threading.current_thread() is threading.main_thread():
        return function(*args, **kwargs)
    done, box = threading.Event(), {}

    def call():
        try:
            box["value"] = function(*args, **kwargs)
        except BaseException as e:  # noqa: BLE001 - handed to the calling thread
            box["error"] = e
        finally:
            done.set()

    gdb.post_event(call)
    done.wait()
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _gdb_thread(method):
    """A method whose gdb calls must run on gdb's thread (see _on_gdb)."""

    @functools.wraps(method)
    def call(*args, **kwargs):
        return _on_gdb(method, *args, **kwargs)

    return call


class GdbType(Type):
    def __init__(self, t):
        self.t = t

    @property
    @_gdb_thread
    def name(self):
        return str(self.t)

    @_gdb_thread
    def field(self, name):
        t = self.t.strip_typedefs()
        if t.code != gdb.TYPE_CODE_STRUCT:
            return None
        return next((GdbType(f.type) for f in t.fields() if f.name == name), None)

    @_gdb_thread
    def target(self):
        t = self.t.strip_typedefs()
        if t.code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_ARRAY, gdb.TYPE_CODE_REF):
            return GdbType(t.target())
        return None


class GdbValue(Value):
    def __init__(self, v):
        self.v = v

    @property
    @_gdb_thread
    def type(self):
        return GdbType(self.v.type)

    @property
    @_gdb_thread
    def native(self):
        return self.v

    @property
    @_gdb_thread
    def kind(self):
        return _KINDS.get(self.v.type.strip_typedefs().code, "other")

    @property
    @_gdb_thread
    def type_name(self):
        return str(self.v.type)

    @property
    @_gdb_thread
    def size(self):
        return self.v.type.sizeof

    @property
    @_gdb_thread
    def address(self):
        return None if self.v.address is None else int(self.v.address)

    @_gdb_thread
    def as_int(self):
        try:
            return int(self.v) & (2**64 - 1)
        except gdb.error as e:
            raise MapscopeError(f"cannot read the value: {e}") from None

    @_gdb_thread
    def field_names(self):
        t = self.v.type.strip_typedefs()
        return [f.name for f in t.fields()] if t.code == gdb.TYPE_CODE_STRUCT else []

    @_gdb_thread
    def field(self, name):
        return GdbValue(self.v[name]) if name in self.field_names() else None

    @_gdb_thread
    def dereference(self):
        if self.v.type.strip_typedefs().code == gdb.TYPE_CODE_REF:
            return GdbValue(self.v.referenced_value())
        return GdbValue(self.v.dereference())


class GdbAdapter(Adapter):
    """The core's view of gdb."""

    name = "gdb"
    #: (number, register) of the exit_group catchpoint of a program launched free, or None.
    _exit_catch = None

    @_gdb_thread
    def executable(self):
        return gdb.current_progspace().filename or ""

    @_gdb_thread
    def load_program(self, path):
        gdb.execute(f"file {shlex.quote(path)}", to_string=True)

    @_gdb_thread
    def pid(self):
        inferior = gdb.selected_inferior()
        return inferior.pid if inferior else 0

    @_gdb_thread
    def read_memory(self, address, size):
        try:
            return gdb.selected_inferior().read_memory(address, size).tobytes()
        except (gdb.MemoryError, gdb.error, OverflowError, ValueError):
            raise MapscopeError(f"cannot read {size} bytes at 0x{address:x}") from None

    @_gdb_thread
    def evaluate(self, expression):
        try:
            return GdbValue(gdb.parse_and_eval(expression))
        except gdb.error as e:
            raise MapscopeError(f"cannot evaluate {expression!r}: {e}") from None

    @_gdb_thread
    def frame_variable(self, thread_number, frame_index, name):
        with _SelectionKept():
            frame = _frame(thread_number, frame_index)
            if frame is None:
                return None
            try:
                value = frame.read_var(name)
                value.fetch_lazy()
            except (ValueError, gdb.error):
                return None
            return GdbValue(value)

    @_gdb_thread
    def frame_registers(self, thread_number, frame_index, names):
        with _SelectionKept():
            frame = _frame(thread_number, frame_index)
            if frame is None:
                raise MapscopeError(f"no frame {frame_index} in thread {thread_number}")
            try:
                return {name: int(frame.read_register(name)) & (2**64 - 1) for name in names}
            except (ValueError, gdb.error) as e:
                raise MapscopeError(f"cannot read registers {', '.join(names)}: {e}") from None

    @_gdb_thread
    def value_at(self, address, type_):
        return GdbValue(gdb.Value(address).cast(type_.t.pointer()).dereference())

    @_gdb_thread
    def element_limit(self):
        limit = gdb.parameter("print elements")
        return limit or None  # 0 or None: unlimited

    @_gdb_thread
    def threads(self, with_frames=False, with_registers=False):
        inferior = gdb.selected_inferior()
        result = []
        with _SelectionKept():
            for thread in sorted(inferior.threads(), key=lambda t: t.num):
                info = ThreadInfo(number=thread.num, name=thread.name or "", lwp=thread.ptid[1])
                if (with_frames or with_registers) and thread.is_stopped():  # non-stop: some run
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

    @_gdb_thread
    def selected_thread(self):
        thread = _selected()
        return thread.num if thread else 0

    @_gdb_thread
    def selected_frame(self):
        thread = _selected()
        if thread is None:
            return 0, 0
        try:
            return thread.num, gdb.selected_frame().level()
        except gdb.error:
            return thread.num, 0

    @_gdb_thread
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
                    bp.condition = str(condition)
                except gdb.error as e:
                    bp.delete()
                    raise MapscopeError(f"gdb rejected the condition {condition!r}: {e}") from None
        return bp.number

    @_gdb_thread
    def set_watchpoint(self, address, size):
        word = C_WORDS.get(size)
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

    @_gdb_thread
    def hardware_watchpoints_in_use(self):
        kinds = (gdb.BP_HARDWARE_WATCHPOINT, gdb.BP_READ_WATCHPOINT, gdb.BP_ACCESS_WATCHPOINT)
        return sum(1 for bp in gdb.breakpoints() if bp.type in kinds and bp.enabled)

    @_gdb_thread
    def delete_watchpoint(self, number):
        self.delete_breakpoints([number])  # gdb numbers both alike

    @_gdb_thread
    def enable_breakpoint(self, number, enabled):
        for bp in gdb.breakpoints():
            if bp.number == number:
                bp.enabled = enabled

    @_gdb_thread
    def delete_breakpoints(self, numbers):
        wanted = set(numbers)
        for bp in gdb.breakpoints():
            if bp.number in wanted:
                bp.delete()

    # -- running -------------------------------------------------------------------------------

    #
    # Two ways to run the program. All-stop (gomap): the core resumes one thread with
    # scheduler-locking, or all, and each command returns at the next stop. Non-stop (a program
    # launched ``free``: Go, whose runtime threads must keep running while the scenario's
    # threads are held): every thread runs or stops on its own. Waiting for the next stop then
    # needs gdb's event loop running, so the core runs on a thread of its own (a *driver*,
    # see run_driven) and its calls come to gdb's thread through gdb.post_event.

    def launch(self, args, env, stdout_path, free=False):
        for key, value in env.items():
            _on_gdb(gdb.execute, f"set environment {key}={value}", to_string=True)
        command = f"run {' '.join(shlex.quote(a) for a in args)} > {shlex.quote(stdout_path)}"
        if not free:
            return _on_gdb(_STOPS.run, command)
        if threading.current_thread() is threading.main_thread():
            raise MapscopeError(
                "a Go program replays in gdb's non-stop mode, from the batch front door (mapscope replay)"
            )
        _STOPS.start_driven()
        _on_gdb(gdb.execute, "set non-stop on", to_string=True)
        _on_gdb(self._catch_exit)
        _on_gdb(gdb.execute, command + " &", to_string=True)
        return self._driven(_STOPS.next())

    # gdb 13 in non-stop mode now and then dies of its own internal error ("linux-nat.c: wait
    # returned unexpected status 0x200") when a multi-threaded program exits by itself: 3 of
    # about 1,200 gdb replays of the Go 1.26 scenarios. So a program launched free never exits
    # under gdb: the thread that calls exit_group stops at the system call's entry (a
    # catchpoint), its status is read from the call's argument, and gdb kills the program,
    # which it handles well.

    def _catch_exit(self):
        self._exit_catch = None
        register = _SYSCALL_ARG0.get(gdb.selected_inferior().architecture().name())
        if register is None:
            return  # an architecture not listed: the program exits by itself
        before = {b.number for b in gdb.breakpoints()}
        try:
            gdb.execute("catch syscall exit_group", to_string=True)
        except gdb.error:
            return  # no system call catchpoints here: the program exits by itself
        added = [b.number for b in gdb.breakpoints() if b.number not in before]
        if added:
            self._exit_catch = (added[0], register)

    def _driven(self, stop):
        """A stop of the non-stop mode, with the program's exit_group made its exit."""
        catch = self._exit_catch
        if catch is not None and stop.kind == "breakpoint" and catch[0] in stop.breakpoints:
            return _on_gdb(self._end_at_exit, stop.thread, catch[1])
        return stop

    def _end_at_exit(self, thread_number, register):
        _switch(thread_number)
        status = int(gdb.parse_and_eval(f"${register}")) & 0xFF
        gdb.execute("kill", to_string=True)
        return Stop("exited", exit_status=status)

    def resume(self, thread_number):
        if _STOPS.driven:
            return self._go_on(thread_number, runs=[thread_number])
        return _on_gdb(self._resume_alone, thread_number)

    def _resume_alone(self, thread_number):
        _switch(thread_number)
        gdb.execute("set scheduler-locking on", to_string=True)
        return _STOPS.run("continue")

    def resume_all(self):
        if _STOPS.driven:
            return self._go_on(None, held=())
        return _on_gdb(self._resume_all)

    def _resume_all(self):
        gdb.execute("set scheduler-locking off", to_string=True)
        return _STOPS.run("continue")

    def resume_except(self, held):
        if not _STOPS.driven:
            raise MapscopeError("gdb holds threads while others run in non-stop mode only")
        return self._go_on(None, held=held)

    def finish(self, thread_number, frame_index, held=None):
        if _STOPS.driven:
            return self._go_on(thread_number, held=held or (), finish_frame=frame_index)
        return _on_gdb(self._finish_alone, thread_number, frame_index)

    def _finish_alone(self, thread_number, frame_index):
        _switch(thread_number)
        gdb.execute("set scheduler-locking on", to_string=True)
        gdb.execute(f"frame {frame_index}", to_string=True)
        return _STOPS.run("finish")

    def _go_on(self, thread_number, runs=None, held=(), finish_frame=None):
        """Non-stop: the next stop of a thread, after a stop already waiting, or after resuming
        the threads in ``runs`` (else every stopped thread not in ``held``); with
        ``finish_frame``, ``thread_number`` finishes that frame instead of continuing."""
        waiting = _STOPS.waiting()
        if waiting is not None:
            return self._driven(waiting)

        def resume():
            # A stop that gdb reported after the driver looked (it runs on gdb's thread, as
            # this does) is taken first, and its thread stays stopped: resuming it here would
            # let a thread the core believes at its gate run on (seen as a gathered writer that
            # ran its writes and ended before its step: about 1 gdb replay in 400).
            if not _STOPS.stops.empty():
                return
            for thread in gdb.selected_inferior().threads():
                number = thread.num
                if not thread.is_valid() or not thread.is_stopped() or number in held:
                    continue
                if runs is not None and number not in runs:
                    continue
                thread.switch()
                if number == thread_number and finish_frame is not None:
                    gdb.execute(f"frame {finish_frame}", to_string=True)
                    gdb.execute("finish &", to_string=True)
                else:
                    gdb.execute("continue &", to_string=True)

        _on_gdb(resume)
        return self._driven(_STOPS.next())

    def interrupt(self):
        if _STOPS.driven:
            gdb.post_event(lambda: gdb.execute("interrupt -a", to_string=True))
            return
        # gdb stops the inferior at a SIGINT (and does not pass it on); sending it is safe from
        # any thread, unlike gdb's own API.
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGINT)

    def kill(self):
        _on_gdb(self._kill)
        _STOPS.stop_driven()

    def _kill(self):
        if gdb.selected_inferior().pid:
            if not _STOPS.driven:
                gdb.execute("set scheduler-locking off", to_string=True)
            gdb.execute("kill", to_string=True)
        catch, self._exit_catch = self._exit_catch, None
        if catch is not None:
            for b in gdb.breakpoints():
                if b.number == catch[0]:
                    b.delete()


def _switch(thread_number):
    for thread in gdb.selected_inferior().threads():
        if thread.num == thread_number:
            thread.switch()
            return
    raise MapscopeError(f"no thread {thread_number}")


class _StopRecorder:
    """Remembers why the inferior last stopped, for execution commands run from Python; in
    non-stop mode, queues every stop for the driver thread."""

    def __init__(self):
        self.last = None
        self.driven = False
        self.stops = queue.Queue()
        gdb.events.stop.connect(self._on_stop)
        gdb.events.exited.connect(self._on_exit)

    def _on_stop(self, event):
        self.last = _stop_of(event)
        if self.driven:
            self.stops.put(self.last)

    def _on_exit(self, event):
        status = event.exit_code if hasattr(event, "exit_code") else None
        self.last = Stop("exited", exit_status=status)
        if self.driven:
            self.stops.put(self.last)

    def start_driven(self):
        self.stops = queue.Queue()
        self.driven = True

    def stop_driven(self):
        self.driven = False

    def waiting(self):
        """A stop already queued, or None."""
        try:
            return self.stops.get_nowait()
        except queue.Empty:
            return None

    def next(self):
        """The next stop (the driver thread waits; gdb's thread queues it)."""
        return self.stops.get()

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


def _selected():
    """The selected thread, or None (also when it has just exited: gdb then raises)."""
    try:
        return gdb.selected_thread()
    except SystemError:
        return None


def _stop_of(event):
    # In non-stop mode the event names its thread; gdb does not switch to it.
    thread = getattr(event, "inferior_thread", None) or _selected()
    number = thread.num if thread else 0
    if isinstance(event, gdb.BreakpointEvent):
        watches = [b.number for b in event.breakpoints if b.type in _WATCHPOINT_TYPES]
        others = [b.number for b in event.breakpoints if b.type not in _WATCHPOINT_TYPES]
        return Stop("breakpoint", number, others, watches)
    if isinstance(event, gdb.SignalEvent):
        return Stop("signal", number, signal=event.stop_signal)
    return Stop("other", number)


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
        self.thread = _selected()
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


# -- registration: commands, printer, stop reports -------------------------------------------------


COMMANDS_OF_SESSION = Commands(GdbAdapter())
_STOPS = None  # the _StopRecorder, made by _install


def _invoke(name, argument):
    try:
        output = COMMANDS_OF_SESSION.run(name, argument)
    except MapscopeError as e:
        if e.output:
            print(e.output)
        raise gdb.GdbError(str(e)) from None
    if output:
        print(output)


class HmapCommand(gdb.Command):
    """Inspect and stop on Go-style hash maps. 'hmap help' lists the subcommands."""

    def __init__(self):
        super().__init__("hmap", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)

    def invoke(self, argument, from_tty):
        name, _, rest = argument.strip().partition(" ")
        _invoke(name or "help", rest)


class HmapSubcommand(gdb.Command):
    def __init__(self, command):
        self.__doc__ = f"hmap {command.name} {command.usage}\n{command.summary}."
        super().__init__(f"hmap {command.name}", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)
        self.name = command.name

    def invoke(self, argument, from_tty):
        _invoke(self.name, argument)


class _Printer:
    """gdb's face of the core's MapPrinter: the summary, then the entries as children."""

    def __init__(self, printer):
        self.printer = printer

    def to_string(self):
        try:
            return self.printer.summary()
        except Exception as e:  # noqa: BLE001 - a printer must print, never raise
            return f"<map: {one_line(e)}>"

    def children(self):
        try:
            for name, value in self.printer.children():
                yield name, value.native if isinstance(value, GdbValue) else value
        except Exception as e:  # noqa: BLE001
            yield "<error>", one_line(e)


def _lookup_printer(value):
    wrapped = GdbValue(value)
    if not printer_wants(wrapped.kind, wrapped.type_name):
        return None
    try:
        return _Printer(MapPrinter(COMMANDS_OF_SESSION.target, wrapped))
    except Exception as e:  # noqa: BLE001 - not a map we can print: say so in its place
        return _Failed(one_line(e))


class _Failed:
    def __init__(self, message):
        self.message = message

    def to_string(self):
        return f"<map: {self.message}>"


def _claim(objfile):
    printers = objfile.pretty_printers
    if _lookup_printer in printers:
        return
    printers.insert(0, _lookup_printer)
    if len(printers) > 1 and not getattr(_claim, "said", False):
        _claim.said = True
        print(
            f"mapscope: {objfile.filename} has its own printers (Go's runtime-gdb.py?); "
            "mapscope's map printer goes first"
        )


def _on_new_objfile(event):
    _claim(event.new_objfile)
    if event.new_objfile.filename == gdb.current_progspace().filename:
        COMMANDS_OF_SESSION.target.prefetch_profile()


def _on_stop(event):
    for report in COMMANDS_OF_SESSION.on_stop(_stop_of(event)):
        print(report)


def _install():
    if getattr(gdb, "_mapscope_installed", False):
        return
    gdb._mapscope_installed = True
    HmapCommand()
    for command in COMMANDS:
        HmapSubcommand(command)
    gdb.pretty_printers.append(_lookup_printer)
    # gdb asks a program's own printers before the global ones, and Go's runtime-gdb.py (which
    # gdb auto-loads for Go programs) registers a map printer that is wrong during growth: ours
    # goes first in every program's list too.
    for objfile in gdb.objfiles():
        _claim(objfile)
    gdb.events.new_objfile.connect(_on_new_objfile)
    gdb.events.stop.connect(_on_stop)
    COMMANDS_OF_SESSION.target.prefetch_profile()
    global _STOPS
    _STOPS = _StopRecorder()


_install()


def replay_main(scenario_path, transcript_file=None, bless=False):
    """Batch entry point: replays one scenario and quits gdb with its status (0 passed, 1
    failed, 2 bad input).

    gdb -nx -batch -x gdb-scripts/mapscope.py \\
        -ex 'python replay_main("fixtures/scenarios/ghost-read.toml")' target/debug/ghost-read

    A Go program replays in non-stop mode, which needs gdb's event loop: the replay then runs on
    a thread of its own and gdb must stay alive meanwhile, reading commands from a pipe that
    stays open, not in -batch mode (``mapscope replay`` starts gdb that way).
    """
    gdb.execute("set confirm off")
    gdb.execute("set pagination off")

    def replay():
        status, text = COMMANDS_OF_SESSION.batch_replay(scenario_path, transcript_file, bless)
        _on_gdb(print, text, flush=True)
        _on_gdb(gdb.execute, f"quit {status}")

    if COMMANDS_OF_SESSION.replays_free(scenario_path):
        _start_driver(replay)
    else:
        replay()


def _start_driver(function):
    """Runs ``function`` on a thread of its own while gdb's thread returns to its event loop.
    The new thread blocks every signal: gdb's thread must receive them (SIGCHLD, SIGINT)."""
    from mapscope_core.replay import start_quietly

    start_quietly(threading.Thread(target=function, name="mapscope-replay", daemon=True))


def explore_main(scenario_path, options="{}"):
    """Batch entry point of ``mapscope explore``: searches the schedules of a scenario without
    steps (options: the core's JSON, mapscope_core.explore.Options), prints progress lines and
    the account, and quits gdb with 0 (nothing failed), 1 (failures found) or 2 (bad input)."""
    from mapscope_core import explore

    gdb.execute("set confirm off")
    gdb.execute("set pagination off")
    target = COMMANDS_OF_SESSION.target

    def search():
        def say(line):
            _on_gdb(print, line, flush=True)

        status, text = explore.batch(target, scenario_path, options, "gdb", out=say)
        say(text)
        _on_gdb(gdb.execute, f"quit {status}")

    # A Go program is searched in non-stop mode, as replay_main says.
    if COMMANDS_OF_SESSION.replays_free(scenario_path):
        _start_driver(search)
    else:
        search()
