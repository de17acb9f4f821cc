"""The interface between the core and a debugger.

A front-end (gdb-scripts/mapscope.py, lldb-scripts/mapscope.py) implements :class:`Adapter` with
its debugger's API and nothing else; everything that is not a debugger call lives in the core.
The tests implement it over memory images.
"""

from dataclasses import dataclass, field


@dataclass
class Frame:
    """One frame of a backtrace."""

    pc: int
    function: str
    file: str = ""
    line: int = 0


@dataclass
class Stop:
    """Why the inferior stopped after a resume."""

    kind: str  # "breakpoint" (also watchpoints), "exited", "signal", "other"
    thread: int = 0  # debugger thread number of the thread that stopped
    breakpoints: list = field(default_factory=list)  # numbers of the breakpoints it hit
    exit_status: object = None
    signal: str = ""

    @property
    def ended(self):
        """Whether the program is gone (exited, or killed by a signal it did not survive)."""
        return self.kind == "exited"


@dataclass
class ThreadInfo:
    """A thread of the inferior."""

    number: int  # the debugger's thread number (stable within a session)
    name: str
    frames: list = field(default_factory=list)
    registers: dict = field(default_factory=dict)


@dataclass
class Site:
    """Where to stop: an address inside one function, from the profile (link-time)."""

    address: int
    function: str  # the function's name as DWARF has it (generic arguments included)
    function_address: int  # link-time address of that function's entry
    file: str = ""
    line: int = 0
    #: True for a function's own breakpoint address (after its prologue), where a debugger's
    #: "break FUNCTION" stops too.
    at_entry: bool = False

    @property
    def offset(self):
        return self.address - self.function_address

    def describe(self):
        where = f" at {self.file}:{self.line}" if self.file else ""
        return f"{self.function}+{self.offset}{where}"


class Adapter:
    """What the core needs from a debugger. Every method may raise MapscopeError."""

    #: "gdb" or "lldb", for messages.
    name = "abstract"

    def read_memory(self, address, size):
        """``size`` bytes at ``address``."""
        raise NotImplementedError

    def executable(self):
        """Path of the loaded program."""
        raise NotImplementedError

    def evaluate_map(self, expression):
        """Evaluates a MAP argument to ``(header_address, type_name_or_None)``.

        A gomap ``Map<K, V>`` value yields its header pointer; a header pointer yields itself; a
        number is taken as a header address (type None).
        """
        raise NotImplementedError

    def frame_variable(self, thread_number, frame_index, name):
        """``(address, size, type_name)`` of variable ``name`` in a frame, or None."""
        raise NotImplementedError

    def pid(self):
        """The process id of the running inferior, or 0 when it is not running."""
        raise NotImplementedError

    def set_breakpoint(self, site, condition=None):
        """A breakpoint at ``site`` whose ``condition`` (debugger syntax) the debugger evaluates
        itself. Returns the debugger's breakpoint number.

        ``site`` is a :class:`Site`. Its address is a link-time address: the debugger must place
        the breakpoint so that it follows the program wherever it is loaded (relative to the
        function's symbol or the module), also when it is set before the program runs.
        """
        raise NotImplementedError

    def set_watchpoint(self, address, size):
        """A hardware write watchpoint on ``size`` bytes at ``address``; returns its number."""
        raise NotImplementedError

    def hardware_watchpoints_in_use(self):
        """How many hardware watchpoints exist now (any, not only mapscope's)."""
        raise NotImplementedError

    def threads(self, with_frames=False, with_registers=False):
        """Every thread, as ThreadInfo."""
        raise NotImplementedError

    # -- running (the replay engine) -------------------------------------------------------------

    def launch(self, args, env, stdout_path):
        """Starts the program with ``args`` and extra ``env``, its stdout into ``stdout_path``,
        all threads running, and returns the first Stop."""
        raise NotImplementedError

    def resume(self, thread_number):
        """Resumes that thread alone (the others stay stopped) until the next Stop."""
        raise NotImplementedError

    def resume_all(self):
        """Resumes every thread until the next Stop."""
        raise NotImplementedError

    def finish(self, thread_number, frame_index):
        """Runs that thread alone until the frame ``frame_index`` returns (or another Stop)."""
        raise NotImplementedError

    def enable_breakpoint(self, number, enabled):
        raise NotImplementedError

    def delete_breakpoints(self, numbers):
        raise NotImplementedError

    def kill(self):
        """Ends the program if it is still running."""
        raise NotImplementedError
