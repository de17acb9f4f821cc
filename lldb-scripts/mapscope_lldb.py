"""mapscope's lldb front-end: the lldb adapter, and the registration of the core's commands,
printer and stop reports.

Imported by lldb-scripts/mapscope.py (``command script import``). Only lldb calls live here;
everything else is the core's (python/mapscope_core). lldb runs synchronously while the core
drives it: every resume returns when the process has stopped again.
"""

import re
import time

import lldb
from mapscope_core import MapscopeError
from mapscope_core.adapter import C_WORDS, Adapter, Frame, Stop, ThreadInfo, Type, Value
from mapscope_core.commands import Commands
from mapscope_core.errors import one_line
from mapscope_core.printer import MapPrinter
from mapscope_core.typenames import PRINTED_STRUCTS

_REGISTERS = ("rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi") + tuple(f"r{i}" for i in range(8, 16))
_MAX_FRAMES = 64
_KINDS = {
    lldb.eTypeClassBuiltin: "int",
    lldb.eTypeClassEnumeration: "int",
    lldb.eTypeClassPointer: "pointer",
    lldb.eTypeClassStruct: "struct",
    lldb.eTypeClassClass: "struct",
    lldb.eTypeClassUnion: "struct",
    lldb.eTypeClassReference: "reference",
}
#: Where programs leave, and where the exit status is there: in a register, or in memory at a
#: register plus an offset. libc's _exit takes it as its first integer argument (rdi, the SysV
#: C ABI); Go's runtime.exit is assembly on Go's stack ABI (ABI0, the .abi0 symbol), whose
#: first argument is the word above the return address. lldb-server 16 resumes a process
#: thread by thread; a thread resumed first that exits the process kills the others before
#: they are resumed, and lldb then loses the exit status ("lost connection", -1), a few runs in
#: a hundred. The adapter stops at these functions, notes the status, and goes on; the status
#: is used only when lldb has lost its own.
_EXIT_PATHS = {"_exit": ("rdi", None), "runtime.exit.abi0": ("rsp", 8)}
#: lldb's states in which the process is gone.
_GONE = (lldb.eStateExited, lldb.eStateDetached, lldb.eStateInvalid, lldb.eStateUnloaded)


class LldbType(Type):
    def __init__(self, t):
        self.t = t

    @property
    def name(self):
        return self.t.GetName() or ""

    def field(self, name):
        t = self.t.GetCanonicalType()
        for i in range(t.GetNumberOfFields()):
            f = t.GetFieldAtIndex(i)
            if f.GetName() == name:
                return LldbType(f.GetType())
        return None

    def target(self):
        t = self.t.GetCanonicalType()
        if t.IsPointerType() or t.IsReferenceType():
            return LldbType(t.GetPointeeType())
        if t.IsArrayType():
            return LldbType(t.GetArrayElementType())
        return None


class LldbValue(Value):
    def __init__(self, v):
        self.v = v

    @property
    def type(self):
        return LldbType(self.v.GetType())

    @property
    def native(self):
        return self.v

    @property
    def kind(self):
        t = self.v.GetType().GetCanonicalType()
        if t.IsPointerType():
            return "pointer"
        if t.IsReferenceType():
            return "reference"
        return _KINDS.get(t.GetTypeClass(), "other")

    @property
    def type_name(self):
        return self.v.GetTypeName() or ""

    @property
    def size(self):
        return self.v.GetByteSize()

    @property
    def address(self):
        address = self.v.GetLoadAddress()
        return None if address == lldb.LLDB_INVALID_ADDRESS else address

    def as_int(self):
        error = lldb.SBError()
        number = self.v.GetValueAsUnsigned(error, 0)
        if error.Fail():
            raise MapscopeError(f"cannot read the value: {error.GetCString()}")
        return number

    def field_names(self):
        if self.kind != "struct":
            return []
        t = self.v.GetType().GetCanonicalType()
        return [t.GetFieldAtIndex(i).GetName() for i in range(t.GetNumberOfFields())]

    def field(self, name):
        if name not in self.field_names():
            return None
        # The members themselves, not the map entries our synthetic provider shows as children.
        return LldbValue(self.v.GetNonSyntheticValue().GetChildMemberWithName(name))

    def dereference(self):
        return LldbValue(self.v.GetNonSyntheticValue().Dereference())


class LldbAdapter(Adapter):
    """The core's view of lldb."""

    name = "lldb"

    def __init__(self, debugger):
        self.debugger = debugger
        #: Stops of threads that hit a breakpoint at the same moment as the one reported, by
        #: thread number: reported when that thread is resumed next (as gdb does), since lldb
        #: reports them all at once and the core takes one stop at a time.
        self._pending = {}
        #: Breakpoints on the program's exit paths (number -> register of the status), and the
        #: status seen there: see _EXIT_PATHS.
        self._exit_breakpoints = {}
        self._exit_code = None

    # -- the program and its memory ------------------------------------------------------------

    @property
    def _target(self):
        return self.debugger.GetSelectedTarget()

    @property
    def _process(self):
        process = self._target.GetProcess()
        if not process.IsValid() or process.GetState() in _GONE:
            return None
        return process

    def executable(self):
        target = self._target
        if not target.IsValid():
            return ""
        return target.GetExecutable().fullpath or ""

    def load_program(self, path):
        error = lldb.SBError()
        target = self.debugger.CreateTarget(path, None, None, True, error)
        if error.Fail() or not target.IsValid():
            raise MapscopeError(f"lldb cannot load {path}: {error.GetCString()}")
        self.debugger.SetSelectedTarget(target)

    def pid(self):
        process = self._process
        return process.GetProcessID() if process else 0

    def read_memory(self, address, size):
        process = self._process
        if process is None:
            raise MapscopeError(f"cannot read {size} bytes at 0x{address:x}: the program is not running")
        error = lldb.SBError()
        try:
            data = process.ReadMemory(address, size, error)
        except (OverflowError, TypeError):
            raise MapscopeError(f"cannot read {size} bytes at 0x{address:x}") from None
        if error.Fail() or data is None or len(data) != size:
            raise MapscopeError(f"cannot read {size} bytes at 0x{address:x}")
        return bytes(data)

    def _frame(self, thread_number=None, frame_index=0):
        process = self._process
        if process is None:
            return None
        thread = process.GetSelectedThread() if thread_number is None else process.GetThreadByIndexID(thread_number)
        if not thread.IsValid():
            return None
        frame = thread.GetSelectedFrame() if thread_number is None else thread.GetFrameAtIndex(frame_index)
        return frame if frame.IsValid() else None

    def evaluate(self, expression):
        frame = self._frame()
        if frame is not None:
            # A variable path needs no expression parser (lldb has none for Rust or Go).
            value = frame.GetValueForVariablePath(expression)
            if not (value.IsValid() and value.GetError().Success()):
                value = frame.EvaluateExpression(expression)
        else:
            value = self._target.EvaluateExpression(expression)
        if not value.IsValid() or value.GetError().Fail():
            why = value.GetError().GetCString() if value.IsValid() else "no such value"
            raise MapscopeError(f"cannot evaluate {expression!r}: {(why or 'no such value').strip()}")
        return LldbValue(self._fresh(value))

    def _fresh(self, value):
        """A copy of ``value`` that lldb does not cache with its frame. lldb reuses a frame's
        value objects when the program stops again at the same frame (same pc and stack), and
        their children then read as "No value"."""
        name, address = value.GetName() or "value", value.GetLoadAddress()
        if address != lldb.LLDB_INVALID_ADDRESS:
            return self._target.CreateValueFromAddress(name, lldb.SBAddress(address, self._target), value.GetType())
        return self._target.CreateValueFromData(name, value.GetData(), value.GetType())

    def frame_variable(self, thread_number, frame_index, name):
        frame = self._frame(thread_number, frame_index)
        if frame is None:
            return None
        value = frame.FindVariable(name)
        if not value.IsValid() or value.GetError().Fail():
            return None
        return LldbValue(self._fresh(value))

    def frame_registers(self, thread_number, frame_index, names):
        frame = self._frame(thread_number, frame_index)
        if frame is None:
            raise MapscopeError(f"no frame {frame_index} in thread {thread_number}")
        found = {}
        for name in names:
            register = frame.FindRegister(name)
            if not register.IsValid() or register.GetError().Fail():
                raise MapscopeError(f"lldb cannot read register {name}")
            found[name] = register.GetValueAsUnsigned()
        return found

    def value_at(self, address, type_):
        value = self._target.CreateValueFromAddress("value", lldb.SBAddress(address, self._target), type_.t)
        return LldbValue(value)

    def element_limit(self):
        found = lldb.SBDebugger.GetInternalVariableValue("target.max-children-count", self.debugger.GetInstanceName())
        try:
            limit = int(found.GetStringAtIndex(0))
        except (TypeError, ValueError):
            return 256
        return limit if limit > 0 else None

    # -- threads -------------------------------------------------------------------------------

    def threads(self, with_frames=False, with_registers=False):
        process = self._process
        if process is None:
            return []
        result = []
        for thread in process:
            info = ThreadInfo(number=thread.GetIndexID(), name=thread.GetName() or "", lwp=thread.GetThreadID())
            if with_frames:
                count = min(thread.GetNumFrames(), _MAX_FRAMES)
                info.frames = [_frame_of(thread.GetFrameAtIndex(i)) for i in range(count)]
            if with_registers:
                newest = thread.GetFrameAtIndex(0)
                info.registers = {r: newest.FindRegister(r).GetValueAsUnsigned() for r in _REGISTERS}
            result.append(info)
        return sorted(result, key=lambda t: t.number)

    def selected_thread(self):
        process = self._process
        return process.GetSelectedThread().GetIndexID() if process else 0

    def selected_frame(self):
        process = self._process
        if process is None:
            return 0, 0
        thread = process.GetSelectedThread()
        return thread.GetIndexID(), thread.GetSelectedFrame().GetFrameID()

    # -- breakpoints and watchpoints -----------------------------------------------------------

    def set_breakpoint(self, site, condition=None):
        target = self._target
        if site.address:
            # A section-relative address: lldb moves it with the program (PIE), before and
            # after the program is loaded.
            bp = target.BreakpointCreateBySBAddress(target.ResolveFileAddress(site.address))
        else:
            bp = target.BreakpointCreateByName(site.function)
        if not bp.IsValid() or bp.GetNumLocations() == 0:
            if bp.IsValid():
                target.BreakpointDelete(bp.GetID())
            raise MapscopeError(f"lldb could not set a breakpoint at {site.describe()}")
        if condition:
            if _in_go(bp):
                # lldb has no type system for Go: it cannot evaluate any expression in a Go
                # frame, a condition included. The core checks the condition instead.
                if not hasattr(condition, "holds"):
                    target.BreakpointDelete(bp.GetID())
                    raise MapscopeError(f"lldb cannot evaluate {condition} in Go code")
                _CONDITIONS[bp.GetID()] = condition
                bp.SetScriptCallbackFunction(f"{__name__}.condition_holds")
            else:
                bp.SetCondition(str(condition))
        return bp.GetID()

    def set_watchpoint(self, address, size):
        if size not in C_WORDS:
            raise MapscopeError(f"cannot watch {size} bytes")
        error = lldb.SBError()
        wp = self._target.WatchAddress(address, size, False, True, error)
        if error.Fail() or not wp.IsValid():
            raise MapscopeError(f"lldb could not set a watchpoint: {error.GetCString()}")
        return wp.GetID()

    def hardware_watchpoints_in_use(self):
        target = self._target
        return sum(1 for i in range(target.GetNumWatchpoints()) if target.GetWatchpointAtIndex(i).IsEnabled())

    def enable_breakpoint(self, number, enabled):
        bp = self._target.FindBreakpointByID(number)
        if bp.IsValid():
            bp.SetEnabled(enabled)

    def delete_breakpoints(self, numbers):
        for number in numbers:
            self._target.BreakpointDelete(number)

    def delete_watchpoint(self, number):
        self._target.DeleteWatchpoint(number)

    # -- running -------------------------------------------------------------------------------

    def launch(self, args, env, stdout_path, free=False):
        # Holding some threads while the others run is what SBThread.Suspend does anyway: lldb
        # needs no mode of its own for a program launched free.
        info = lldb.SBLaunchInfo([str(a) for a in args])
        info.SetEnvironmentEntries([f"{k}={v}" for k, v in env.items()], True)
        info.AddOpenFileAction(1, stdout_path, False, True)
        error = lldb.SBError()
        self.debugger.SetAsync(False)
        _enable_stop_hook(self.debugger, False)
        self._pending.clear()
        self._watch_exit_paths()
        process = self._target.Launch(info, error)
        if error.Fail() or not process.IsValid():
            raise MapscopeError(f"lldb could not start the program: {error.GetCString()}")
        return self._stop()

    def resume(self, thread_number):
        return self._continue(runs=thread_number)

    def resume_all(self):
        return self._continue()

    def resume_except(self, held):
        return self._continue(held=set(held))

    def finish(self, thread_number, frame_index, held=None):
        # As gdb's finish does: a breakpoint at the return address, for this thread only, and
        # the thread run alone to it. (lldb's StepOutOfFrame, with the other threads suspended,
        # now and then made lldb lose the process's exit status later: "lost connection".)
        process = self._process
        thread = process.GetThreadByIndexID(thread_number)
        caller = thread.GetFrameAtIndex(frame_index + 1)
        if not caller.IsValid():
            raise MapscopeError(f"lldb: finish: frame {frame_index} of thread {thread_number} has no caller")
        target = self._target
        bp = target.BreakpointCreateByAddress(caller.GetPC())
        bp.SetThreadID(thread.GetThreadID())
        try:
            stop = self._continue(runs=thread_number) if held is None else self._continue(held=set(held))
        finally:
            target.BreakpointDelete(bp.GetID())
        if stop.kind == "breakpoint" and bp.GetID() in stop.breakpoints:
            others = [n for n in stop.breakpoints if n != bp.GetID()]
            return Stop("breakpoint", stop.thread, others) if others else Stop("other", stop.thread)
        return stop

    def interrupt(self):
        process = self._target.GetProcess()
        if process.IsValid():
            process.SendAsyncInterrupt()

    def kill(self):
        self._pending.clear()
        process = self._process
        if process is not None:
            process.Kill()
        for number in self._exit_breakpoints:
            self._target.BreakpointDelete(number)
        self._exit_breakpoints.clear()
        _enable_stop_hook(self.debugger, True)

    def _continue(self, runs=None, held=frozenset()):
        """Continues the process with one thread running (``runs``), or every thread but those
        in ``held``, the others suspended, until the next stop of a thread that ran."""
        process = self._process
        if process is None:
            return Stop("exited")
        numbers = {t.GetIndexID() for t in process}
        running = {runs} if runs is not None else numbers - set(held)
        pending = sorted(n for n in self._pending if n in running)
        if pending:
            return self._pending.pop(runs if runs in pending else pending[0])
        self.debugger.SetAsync(False)
        while True:
            before = {t.GetIndexID() for t in process}
            with _Suspended(process, before - running if runs is not None else set(held)):
                error = process.Continue()
            if error.Fail() and self._process is not None:
                raise MapscopeError(f"lldb: continue: {error.GetCString()}")
            stop = self._stop(prefer=runs, ran=running, before=before)
            if not self._at_exit_path(stop):
                return stop

    def _watch_exit_paths(self):
        # Set before the program runs: libc's _exit resolves when libc is loaded.
        for function, place in _EXIT_PATHS.items():
            self._exit_breakpoints[self._target.BreakpointCreateByName(function).GetID()] = place
        self._exit_code = None

    def _at_exit_path(self, stop):
        """Whether ``stop`` is the program on its way out (then its status is noted)."""
        numbers = [n for n in stop.breakpoints if n in self._exit_breakpoints]
        if stop.kind != "breakpoint" or not numbers or len(numbers) != len(stop.breakpoints):
            return False
        register, offset = self._exit_breakpoints[numbers[0]]
        try:
            value = self.frame_registers(stop.thread, 0, [register])[register]
            if offset is not None:
                value = int.from_bytes(self.read_memory(value + offset, 4), "little")
            self._exit_code = value & 0xFF
        except MapscopeError:
            pass
        return True

    def _stop(self, prefer=None, ran=None, before=()):
        """The Stop that the process's state and its threads' stop reasons describe. Only
        threads that ran (``ran``, None: all) or were born meanwhile can have a new stop: lldb
        keeps a suspended thread's old stop reason. Further stops of that moment are kept in
        ``_pending``."""
        process = self._target.GetProcess()
        if not process.IsValid() or process.GetState() in _GONE:
            status = _exit_status(process)
            if status in (None, -1) and self._exit_code is not None:
                status = self._exit_code  # lldb lost it: see _EXIT_PATHS
            return Stop("exited", exit_status=status)
        fresh = [
            t
            for t in process
            if t.GetStopReason() not in (lldb.eStopReasonNone, lldb.eStopReasonInvalid)
            and (ran is None or t.GetIndexID() in ran or t.GetIndexID() not in before)
        ]
        stops = {t.GetIndexID(): _stop_of(process, t) for t in fresh}
        # An exit path's status is noted now, whichever stop is returned: a thread left
        # pending may be resumed past it with the others, and the status would be lost.
        exits = {n: stops.pop(n) for n in list(stops) if self._at_exit_path(stops[n])}
        if not stops and exits:
            return exits[min(exits)]
        if not stops:
            return Stop("other", prefer or _selected(process))
        number = prefer if prefer in stops else _selected(process) if _selected(process) in stops else min(stops)
        for other, stop in stops.items():
            if other != number and stop.kind in ("breakpoint", "signal"):
                self._pending[other] = stop
        process.SetSelectedThread(process.GetThreadByIndexID(number))
        return stops[number]


def _stop_of(process, thread):
    """The Stop a thread's own stop reason describes."""
    reason, number = thread.GetStopReason(), thread.GetIndexID()
    data = [thread.GetStopReasonDataAtIndex(i) for i in range(thread.GetStopReasonDataCount())]
    if reason == lldb.eStopReasonBreakpoint:
        return Stop("breakpoint", number, sorted(set(data[0::2])))
    if reason == lldb.eStopReasonWatchpoint:
        return Stop("breakpoint", number, [], data[:1])
    if reason == lldb.eStopReasonSignal:
        name = process.GetUnixSignals().GetSignalAsCString(data[0]) if data else "?"
        return Stop("signal", number, signal=name)
    return Stop("other", number)


def _exit_status(process):
    """The exit status of a process that has ended. lldb may report the end a moment before
    the status (-1 until then): wait for it, a little."""
    if not process.IsValid():
        return None
    for _ in range(100):
        status = process.GetExitStatus()
        if status != -1:
            return status
        time.sleep(0.01)
    return status


#: Conditions the core checks for lldb, by breakpoint number (see set_breakpoint).
_CONDITIONS = {}


def _in_go(bp):
    """Whether a breakpoint's code is Go's (lldb evaluates no expression there)."""
    for i in range(bp.GetNumLocations()):
        unit = bp.GetLocationAtIndex(i).GetAddress().GetCompileUnit()
        if unit.IsValid() and unit.GetLanguage() == lldb.eLanguageTypeGo:
            return True
    return False


def condition_holds(frame, location, extra_args, internal_dict):
    """lldb breakpoint callback: whether the hit satisfies the core's condition (False: lldb
    continues without stopping)."""
    condition = _CONDITIONS.get(location.GetBreakpoint().GetID())
    if condition is None:
        return True
    process = frame.GetThread().GetProcess()

    def register(name):
        value = frame.FindRegister(name)
        if not value.IsValid():
            raise MapscopeError(f"no register {name}")
        return value.GetValueAsUnsigned()

    def read_memory(address, size):
        error = lldb.SBError()
        data = process.ReadMemory(address, size, error)
        if error.Fail() or data is None:
            raise MapscopeError(f"cannot read {size} bytes at {address:#x}")
        return bytes(data)

    try:
        return condition.holds(register, read_memory)
    except MapscopeError:
        return False  # an unreadable parameter cannot be the map asked for


def _selected(process):
    return process.GetSelectedThread().GetIndexID()


class _Suspended:
    """Suspends the threads numbered in ``held`` while lldb runs the process (threads born
    meanwhile run)."""

    def __init__(self, process, held):
        self.process, self.held = process, held

    def __enter__(self):
        for thread in self.process:
            if thread.GetIndexID() in self.held:
                thread.Suspend()
            else:
                thread.Resume()

    def __exit__(self, *exc):
        process = self.process
        if process.IsValid() and process.GetState() not in _GONE:
            for thread in process:
                thread.Resume()
        return False


def _frame_of(frame):
    line = frame.GetLineEntry()
    spec = line.GetFileSpec()
    return Frame(
        pc=frame.GetPC(),
        function=frame.GetFunctionName() or "??",
        file=spec.fullpath or "" if spec.IsValid() else "",
        line=line.GetLine(),
    )


# -- registration: commands, printer, stop reports -------------------------------------------------

_COMMANDS = {}  # debugger id -> Commands


def commands_of(debugger):
    """The core's Commands for this debugger (one per lldb debugger instance)."""
    key = debugger.GetID()
    if key not in _COMMANDS:
        _COMMANDS[key] = Commands(LldbAdapter(debugger))
    return _COMMANDS[key]


def _invoke(name, debugger, command, result):
    commands = commands_of(debugger)
    try:
        output = commands.run(name, command)
    except MapscopeError as e:
        if e.output:
            result.AppendMessage(e.output)
        result.SetError(str(e))
        return
    _ensure_stop_hook(debugger, commands)
    if output:
        result.AppendMessage(output)


def hmap(debugger, command, exe_ctx, result, internal_dict):
    """``hmap SUBCOMMAND ARGS``: every subcommand of the core's command table."""
    name, _, rest = command.strip().partition(" ")
    _invoke(name or "help", debugger, rest, result)


def map_summary(valobj, internal_dict):
    """lldb summary provider: ``map[i64]i64 with 105 entries`` (reads the header only)."""
    try:
        return _printer(valobj).summary()
    except Exception as e:  # noqa: BLE001 - a summary must print, never raise
        return f"<map: {one_line(e)}>"


def _printer(valobj):
    return MapPrinter(commands_of(valobj.GetTarget().GetDebugger()).target, LldbValue(valobj))


class MapChildren:
    """lldb synthetic-children provider: the live entries as ``[k] = v``, produced lazily as lldb
    asks for them (it asks for at most target.max-children-count)."""

    def __init__(self, valobj, internal_dict):
        self.valobj = valobj
        self.update()

    def update(self):
        self.children = []
        self.source = None
        self.count = 0
        try:
            self.printer = _printer(self.valobj)
            self.count = max(self.printer.header().count, 0)
        except Exception:  # noqa: BLE001 - not a readable map now: no children
            self.printer = None
        return False

    def num_children(self, max_children=None):
        return self.count if max_children is None else min(self.count, max_children)

    def has_children(self):
        return self.count > 0

    def get_child_index(self, name):
        self._fill(self.count)
        return next((i for i, c in enumerate(self.children) if c.GetName() == name), -1)

    def get_child_at_index(self, index):
        self._fill(index + 1)
        return self.children[index] if index < len(self.children) else None

    def _fill(self, wanted):
        if self.printer is None:
            return
        if self.source is None:
            self.source = self.printer.children()
        while len(self.children) < wanted:
            try:
                name, value = next(self.source)
            except StopIteration:
                self.count = len(self.children)
                return
            except Exception as e:  # noqa: BLE001
                self.children.append(self.valobj.CreateValueFromExpression("<error>", f'"{one_line(e)}"'))
                return
            if isinstance(value, LldbValue):
                native = value.native
                child = self.valobj.CreateValueFromAddress(name, native.GetLoadAddress(), native.GetType())
            else:
                child = self.valobj.CreateValueFromExpression(name, '"' + value.replace('"', '\\"') + '"')
            self.children.append(child)


# -- stop reports ----------------------------------------------------------------------------------


class StopHook:
    """A scripted stop hook: after every stop, the core's reports (watchpoints, fatal errors)."""

    def __init__(self, target, extra_args, internal_dict):
        self.target = target
        self.reported = None  # the stop id last reported on

    def handle_stop(self, exe_ctx, stream):
        commands = commands_of(self.target.GetDebugger())
        target = commands.target
        if target.replaying or not (target.watches or target.fatal_breakpoints):
            return True  # nothing of ours can have stopped the program
        stop_id = exe_ctx.GetProcess().GetStopID()
        if stop_id == self.reported:
            return True  # lldb calls the hook once per stopped thread; report once, as gdb does
        self.reported = stop_id
        stop = _stop_of(exe_ctx.GetProcess(), exe_ctx.GetThread())
        for report in commands.on_stop(stop):
            stream.Print(report + "\n")
        return True


#: (debugger id, program path) -> the number of our stop hook on that target.
_HOOKS = {}


def _hook_key(debugger):
    return debugger.GetID(), debugger.GetSelectedTarget().GetExecutable().fullpath


def _ensure_stop_hook(debugger, commands):
    """Installs the stop hook once the user has something it reports on (a watchpoint, a fatal
    catchpoint); stop hooks belong to a target."""
    target = debugger.GetSelectedTarget()
    wanted = commands.target.watches or commands.target.fatal_breakpoints
    if not wanted or not target.IsValid() or _hook_key(debugger) in _HOOKS:
        return
    result = lldb.SBCommandReturnObject()
    debugger.GetCommandInterpreter().HandleCommand(f"target stop-hook add -P {__name__}.StopHook", result)
    found = re.search(r"#(\d+)", result.GetOutput() or "")
    if found:
        _HOOKS[_hook_key(debugger)] = int(found.group(1))


def _enable_stop_hook(debugger, enabled):
    """While the core drives the program (launch to kill) our stop hook is off: lldb runs stop
    hooks on its event thread, which waits for the Python lock that the driving command holds,
    and the process never reports its stop. The core reads those stops itself anyway."""
    number = _HOOKS.get(_hook_key(debugger))
    if number is not None:
        result = lldb.SBCommandReturnObject()
        verb = "enable" if enabled else "disable"
        debugger.GetCommandInterpreter().HandleCommand(f"target stop-hook {verb} {number}", result)


def install(debugger):
    """Registers ``hmap`` and its subcommands, and the map formatters."""
    run = debugger.HandleCommand
    run(f"script import {__name__}")  # formatters are looked up in the script session
    # One command that hands its whole line to the core, so that unknown subcommands, usage
    # errors and help read exactly as in gdb.
    run(f"command script add -o -h 'Inspect and stop on Go-style hash maps: hmap help' -f {__name__}.hmap hmap")
    regex = f"^({'|'.join(PRINTED_STRUCTS)})<.+>$"
    run(f"type summary add -w mapscope -e -x '{regex}' -F {__name__}.map_summary")
    run(f"type synthetic add -w mapscope -x '{regex}' -l {__name__}.MapChildren")
    run("type category enable mapscope")
    # Go preempts goroutines with SIGURG (asynchronous preemption, since 1.14); lldb would stop
    # at every one. Passed on silently, as gdb does by default; no other program uses it.
    run("process handle SIGURG -n false -p true -s false")
    commands_of(debugger).target.prefetch_profile()


def replay_main(debugger, scenario_path, transcript_file=None, bless=False):
    """Batch entry point: replays one scenario; returns 0 (pass) or 1 (fail) after printing the
    account. ``hmap replay`` in ``lldb -b`` does the same with lldb's exit status."""
    status, text = commands_of(debugger).batch_replay(scenario_path, transcript_file, bless)
    print(text, flush=True)
    return status


def explore_main(debugger, scenario_path, options="{}"):
    """Batch entry point of ``mapscope explore``: searches the schedules of a scenario without
    steps, prints progress lines and the account; returns 0 (nothing failed), 1 (failures
    found) or 2 (bad input)."""
    from mapscope_core import explore

    target = commands_of(debugger).target
    status, text = explore.batch(target, scenario_path, options, "lldb", out=lambda line: print(line, flush=True))
    print(text, flush=True)
    return status
