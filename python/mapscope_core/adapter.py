"""The interface between the core and a debugger: primitives only.

A front-end (gdb-scripts/, lldb-scripts/) implements :class:`Adapter` with its debugger's API and
nothing else. Every decision (which value is a map, which thread runs next, what a stop means,
what to print) is the core's. The shape follows pwndbg's ``pwndbg.dbg``: a few typed handles
(:class:`Value`, :class:`Frame`, :class:`ThreadInfo`, :class:`Stop`) and plain methods, so that one
conformance suite (python/tests/conformance.py) runs over every implementation: a fake over memory
images, gdb's and lldb's.

Addresses handed to an adapter are runtime addresses, except a :class:`Site`'s, which is link-time
(the adapter places the breakpoint so that it follows the program wherever it is loaded).
"""

import abc
from dataclasses import dataclass, field

#: Kinds of :class:`Value`, as the core distinguishes them.
VALUE_KINDS = ("int", "pointer", "struct", "reference", "other")


class Type(abc.ABC):
    """A type the debugger knows (from the program's debug info)."""

    @property
    @abc.abstractmethod
    def name(self):
        """The type's name as the debugger spells it."""

    @abc.abstractmethod
    def field(self, name):
        """The Type of member ``name`` of a struct type (typedefs stripped), or None."""

    @abc.abstractmethod
    def target(self):
        """What a pointer type points at, or an array type's element type; None otherwise."""


class Value(abc.ABC):
    """A value the debugger evaluated, seen through its type."""

    @property
    @abc.abstractmethod
    def type(self):
        """The value's :class:`Type`."""

    @property
    @abc.abstractmethod
    def native(self):
        """The debugger's own value object, for the debugger's printers (opaque to the core)."""

    @property
    @abc.abstractmethod
    def kind(self):
        """One of :data:`VALUE_KINDS`."""

    @property
    @abc.abstractmethod
    def type_name(self):
        """The type's name as the debugger spells it (lldb renames scalars: ``i64`` is ``long``)."""

    @property
    @abc.abstractmethod
    def size(self):
        """Bytes of the value."""

    @property
    @abc.abstractmethod
    def address(self):
        """Where the value lives, or None (a register, a computed value)."""

    @abc.abstractmethod
    def as_int(self):
        """The value of an integer or a pointer."""

    @abc.abstractmethod
    def field_names(self):
        """Member names of a struct (after stripping typedefs and references), else []."""

    @abc.abstractmethod
    def field(self, name):
        """The member ``name`` of a struct value, or None."""

    @abc.abstractmethod
    def dereference(self):
        """What a pointer or reference points at."""


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
    watchpoints: list = field(default_factory=list)  # numbers of the watchpoints that triggered
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
    lwp: int = 0  # the kernel's thread id


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


#: C integer types by size: the words breakpoint conditions and watch expressions read. x86-64
#: (LP64) sizes; both debuggers parse these as C.
C_WORDS = {1: "unsigned char", 2: "unsigned short", 4: "unsigned int", 8: "unsigned long"}


class Adapter(abc.ABC):
    """What the core needs from a debugger. Every method may raise MapscopeError."""

    #: "gdb" or "lldb", for messages.
    name = "abstract"

    # -- the program and its memory ------------------------------------------------------------

    @abc.abstractmethod
    def executable(self):
        """Path of the loaded program, or "" when none is loaded."""

    @abc.abstractmethod
    def pid(self):
        """The process id of the running inferior, or 0 when it is not running."""

    @abc.abstractmethod
    def read_memory(self, address, size):
        """``size`` bytes at ``address``."""

    @abc.abstractmethod
    def evaluate(self, expression):
        """The :class:`Value` of a debugger expression in the selected frame."""

    @abc.abstractmethod
    def frame_variable(self, thread_number, frame_index, name):
        """The :class:`Value` of variable ``name`` in a frame of a thread, or None."""

    @abc.abstractmethod
    def frame_registers(self, thread_number, frame_index, names):
        """``{name: value}`` of registers as they are in a frame of a thread (unwound for
        callers: the values the frame will see when the callee returns). Register names are
        DWARF's as the profile spells them (``rsp``, ``rbx``, ``r14``)."""

    @abc.abstractmethod
    def value_at(self, address, type_):
        """The :class:`Value` of type ``type_`` (a :class:`Type`) stored at ``address``."""

    def element_limit(self):
        """How many elements the user lets a print show (gdb's ``print elements``, lldb's
        max-children); None for no limit."""
        return 200

    @abc.abstractmethod
    def load_program(self, path):
        """Loads the program at ``path`` into the debugger (no process yet)."""

    # -- threads -------------------------------------------------------------------------------

    @abc.abstractmethod
    def threads(self, with_frames=False, with_registers=False):
        """Every thread, as :class:`ThreadInfo`, ordered by number."""

    @abc.abstractmethod
    def selected_thread(self):
        """The number of the thread the user has selected, or 0."""

    @abc.abstractmethod
    def selected_frame(self):
        """``(thread number, frame index)`` the user has selected, or (0, 0)."""

    # -- breakpoints and watchpoints -----------------------------------------------------------

    @abc.abstractmethod
    def set_breakpoint(self, site, condition=None):
        """A breakpoint at ``site`` (a :class:`Site`, link-time) whose ``condition`` (C syntax
        over registers and memory) the debugger evaluates itself. Returns its number.

        The breakpoint must follow the program wherever it is loaded (relative to the
        function's symbol or the module), also when it is set before the program runs."""

    @abc.abstractmethod
    def set_watchpoint(self, address, size):
        """A hardware write watchpoint on ``size`` bytes at ``address``; returns its number."""

    @abc.abstractmethod
    def hardware_watchpoints_in_use(self):
        """How many hardware watchpoints exist now (any, not only mapscope's)."""

    @abc.abstractmethod
    def enable_breakpoint(self, number, enabled):
        """Enables or disables a breakpoint."""

    @abc.abstractmethod
    def delete_breakpoints(self, numbers):
        """Deletes breakpoints; unknown numbers are ignored."""

    @abc.abstractmethod
    def delete_watchpoint(self, number):
        """Deletes a watchpoint (watchpoints are numbered apart from breakpoints in lldb)."""

    # -- running (the replay engine) -----------------------------------------------------------

    @abc.abstractmethod
    def launch(self, args, env, stdout_path, free=False):
        """Starts the program with ``args`` and extra ``env``, its stdout into ``stdout_path``,
        all threads running, and returns the first :class:`Stop`. ``free``: the program has
        threads of its own that must keep running while the ones the core holds stay stopped
        (Go's runtime): the debugger must be able to :meth:`resume_except` (gdb's non-stop
        mode)."""

    @abc.abstractmethod
    def resume(self, thread_number):
        """Resumes that thread alone (the others stay stopped) until the next :class:`Stop`."""

    @abc.abstractmethod
    def resume_all(self):
        """Resumes every thread until the next :class:`Stop`."""

    @abc.abstractmethod
    def resume_except(self, held):
        """Resumes every thread but those numbered in ``held``, which stay stopped, until the
        next :class:`Stop` (a program launched ``free``)."""

    @abc.abstractmethod
    def finish(self, thread_number, frame_index, held=None):
        """Runs that thread until frame ``frame_index`` returns (or another Stop): alone, or,
        with ``held`` given, with every other thread but those in ``held``."""

    @abc.abstractmethod
    def interrupt(self):
        """Stops the running program as soon as possible. Called from another Python thread
        while the debugger waits in :meth:`resume` and friends, which then return a Stop."""

    @abc.abstractmethod
    def kill(self):
        """Ends the program if it is still running."""
