"""A fake debugger: the core's Adapter over a memory image and a scripted program.

Memory comes from an :class:`images.Image` (real memory of the ``grow`` fixture); values are
declared by the test; the "program" is a script of threads, each a list of places (a backtrace of
link-time pcs, innermost first) it passes through in order. Resuming a thread runs it to the next
place where an enabled breakpoint sits; a thread that runs out of places exits, and the program
ends when all have. That is enough to drive the replay engine without a debugger, and to run the
adapter conformance suite on the same checks as gdb and lldb.
"""

import threading
from dataclasses import dataclass, field

from mapscope_core.adapter import Adapter, Frame, Stop, ThreadInfo, Type, Value
from mapscope_core.errors import MapscopeError


class FakeType(Type):
    def __init__(self, name, fields=None, target=None, size=8):
        self._name, self.fields, self._target, self.size = name, dict(fields or {}), target, size

    @property
    def name(self):
        return self._name

    def field(self, name):
        return self.fields.get(name, (None, None))[1]

    def target(self):
        return self._target


class FakeValue(Value):
    """A value at an address of the image (or a computed one), typed by a FakeType."""

    def __init__(self, adapter, kind, type_, address=None, number=None):
        self.adapter, self._kind, self._type, self._address, self.number = adapter, kind, type_, address, number

    @property
    def type(self):
        return self._type

    @property
    def native(self):
        return self

    @property
    def kind(self):
        return self._kind

    @property
    def type_name(self):
        return self._type.name

    @property
    def size(self):
        return self._type.size

    @property
    def address(self):
        return self._address

    def as_int(self):
        if self.number is not None:
            return self.number
        return int.from_bytes(self.adapter.read_memory(self._address, self.size), "little")

    def field_names(self):
        return list(self._type.fields) if self._kind == "struct" else []

    def field(self, name):
        if self._kind != "struct" or name not in self._type.fields:
            return None
        offset, t = self._type.fields[name]
        return self.adapter.value_at(self._address + offset, t)

    def dereference(self):
        return self.adapter.value_at(self.as_int(), self._type.target())


def kind_of(type_):
    if type_.fields:
        return "struct"
    if type_.name.startswith("*") or type_.name.startswith("map["):
        return "pointer"
    return "int"


@dataclass
class FakeThread:
    number: int
    name: str
    places: list  # each a list of link-time pcs, innermost first
    position: int = -1  # index into places; -1: not started
    hangs: bool = False  # after its last place it runs forever (until interrupted)
    variables: dict = field(default_factory=dict)  # (position, frame, name) -> FakeValue
    registers: dict = field(default_factory=dict)  # (position, frame) -> {register: value}

    @property
    def ended(self):
        return self.position >= len(self.places)


class FakeAdapter(Adapter):
    """The fake debugger."""

    name = "fake"

    def __init__(self, image=None, program="fake-program", symbols=None, exit_status=0):
        self.image = image
        self.program = program
        self.symbols = dict(symbols or {})  # function name -> link-time address
        self.values = {}  # expression -> FakeValue
        self.exit_status = exit_status
        self.threads_ = []
        self.running = False
        self.breakpoints = {}  # number -> [address, enabled, condition]
        self.watchpoints = set()
        self._next = 1
        self._next_watch = 0
        self._interrupted = threading.Event()
        self.launched_with = None
        self.element_limit_ = 200

    # -- the program and its memory ------------------------------------------------------------

    def executable(self):
        return self.program

    def load_program(self, path):
        self.program = path

    def pid(self):
        return 4242 if self.running else 0

    def read_memory(self, address, size):
        if self.image is None:
            raise MapscopeError(f"cannot read {size} bytes at 0x{address:x}")
        return self.image.read(address, size)

    def evaluate(self, expression):
        if expression not in self.values:
            raise MapscopeError(f"cannot evaluate {expression!r}: no symbol in the fake")
        return self.values[expression]

    def frame_variable(self, thread_number, frame_index, name):
        t = self._by_number(thread_number)
        return t.variables.get((t.position, frame_index, name)) if t else None

    def frame_registers(self, thread_number, frame_index, names):
        t = self._by_number(thread_number)
        found = t.registers.get((t.position, frame_index), {}) if t else {}
        missing = [n for n in names if n not in found]
        if missing:
            raise MapscopeError(f"fake: no register {missing[0]} in frame {frame_index}")
        return {n: found[n] for n in names}

    def value_at(self, address, type_):
        return FakeValue(self, kind_of(type_), type_, address)

    def element_limit(self):
        return self.element_limit_

    # -- threads -------------------------------------------------------------------------------

    def add_thread(self, name, places, hangs=False):
        t = FakeThread(len(self.threads_) + 1, name, places, hangs=hangs)
        self.threads_.append(t)
        return t

    def _by_number(self, number):
        return next((t for t in self.threads_ if t.number == number), None)

    def _alive(self):
        return [t for t in self.threads_ if not t.ended]

    def threads(self, with_frames=False, with_registers=False):
        result = []
        for t in self._alive():
            info = ThreadInfo(number=t.number, name=t.name, lwp=1000 + t.number)
            pcs = t.places[t.position] if 0 <= t.position < len(t.places) else []
            if with_frames:
                names = {address: name for name, address in self.symbols.items()}
                info.frames = [Frame(pc=pc, function=names.get(pc, f"fn@{pc:#x}")) for pc in pcs]
            if with_registers and pcs:
                info.registers = {"rip": pcs[0]}
            result.append(info)
        return result

    def selected_thread(self):
        alive = self._alive()
        return alive[0].number if alive else 0

    def selected_frame(self):
        return self.selected_thread(), 0

    # -- breakpoints ---------------------------------------------------------------------------

    def set_breakpoint(self, site, condition=None):
        address = site.address or self.symbols.get(site.function)
        if address is None:
            raise MapscopeError(f"fake: no function {site.function}")
        number = self._next
        self._next += 1
        self.breakpoints[number] = [address, True, condition]
        return number

    def set_watchpoint(self, address, size):
        self._next_watch += 1  # numbered apart from breakpoints, as in lldb
        number = self._next_watch
        self.watchpoints.add(number)
        return number

    def hardware_watchpoints_in_use(self):
        return len(self.watchpoints)

    def enable_breakpoint(self, number, enabled):
        if number in self.breakpoints:
            self.breakpoints[number][1] = enabled

    def delete_breakpoints(self, numbers):
        for n in numbers:
            self.breakpoints.pop(n, None)

    def delete_watchpoint(self, number):
        self.watchpoints.discard(number)

    # -- running -------------------------------------------------------------------------------

    def launch(self, args, env, stdout_path, free=False):
        self.launched_with = (list(args), dict(env))
        self.running = True
        with open(stdout_path, "w", encoding="utf-8") as f:
            f.write("fake program output\n")
        return self._run(self.threads_)

    def resume(self, thread_number):
        t = self._by_number(thread_number)
        if t is None:
            raise MapscopeError(f"no thread {thread_number}")
        return self._run([t])

    def resume_all(self):
        return self._run(self._alive())

    def resume_except(self, held):
        return self._run([t for t in self._alive() if t.number not in held])

    def finish(self, thread_number, frame_index, held=None):
        t = self._by_number(thread_number)
        t.position += 1  # the next place is the caller, after the return
        if not self._alive():
            self.running = False
            return Stop("exited", exit_status=self.exit_status)
        return Stop("other", t.number)

    def interrupt(self):
        self._interrupted.set()

    def kill(self):
        self.running = False

    def _hits(self, pcs):
        return [n for n, (address, enabled, _) in self.breakpoints.items() if enabled and pcs and pcs[0] == address]

    def _run(self, runnable):
        """Moves the runnable threads on, one place each in turn, until one reaches an enabled
        breakpoint. A thread past its last place ends, unless it hangs: then only an interrupt
        stops it; the program ends when every thread has."""
        while True:
            moved = False
            for t in [t for t in runnable if not t.ended]:
                if t.position + 1 < len(t.places):
                    t.position += 1
                    moved = True
                    hits = self._hits(t.places[t.position])
                    if hits:
                        return Stop("breakpoint", t.number, hits)
                elif not t.hangs:
                    t.position = len(t.places)
                    moved = True
            if not self._alive():
                self.running = False
                return Stop("exited", exit_status=self.exit_status)
            if not moved:
                hanging = [t for t in runnable if t.hangs and not t.ended]
                if hanging:
                    self._interrupted.wait(timeout=60)
                    self._interrupted.clear()
                    return Stop("signal", hanging[0].number, signal="SIGINT")
                return Stop("other", runnable[0].number if runnable else 0)


#: Where the fake puts gomap's ``Map`` handle (the images hold only the header and buckets).
HANDLE_ADDRESS = 0x1000
#: The pc of the fake's ``grow::checkpoint`` frame.
CHECKPOINT_PC = 0x5000


def at_checkpoint(image):
    """A fake stopped where the ``grow`` fixture stops at a checkpoint: thread 1 'grow' in
    ``grow::checkpoint(map, id)``, ``map`` a ``*mut gomap::Map<i64, i64>``."""
    mt = image.map_type
    fake = FakeAdapter(image, program="/fake/target/debug/grow", symbols={"grow::checkpoint": CHECKPOINT_PC})
    i64 = FakeType("i64")
    array = FakeType(f"[i64; {mt.constants.bucket_count}]", target=i64, size=mt.key_size * mt.constants.bucket_count)
    bucket = FakeType(mt.bucket_name, size=mt.bucket_size)
    bucket.fields = {mt.bucket_members[n]: (f.offset, array) for n, f in mt.bucket.items() if n in ("keys", "elems")}
    bucket_ptr = FakeType(f"*mut {mt.bucket_name}", target=bucket)
    header = FakeType(mt.header_name, size=mt.header_size)
    header.fields = {
        mt.header_members[n]: (
            f.offset,
            bucket_ptr if n in ("buckets", "oldbuckets") else FakeType("usize", size=f.size),
        )
        for n, f in mt.header.items()
    }
    handle_field = image.profile.map_handle_field
    header_pointer = FakeType(f"*mut {mt.header_name}", target=header)
    handle = FakeType("gomap::Map<i64, i64>", {handle_field: (0, header_pointer)}, size=16)
    image.regions[HANDLE_ADDRESS] = image.header.to_bytes(8, "little") + bytes(8)
    fake.values["map"] = FakeValue(
        fake, "pointer", FakeType("*mut gomap::Map<i64, i64>", target=handle), number=HANDLE_ADDRESS
    )
    fake.values["*map"] = fake.value_at(HANDLE_ADDRESS, handle)
    fake.values["id"] = FakeValue(fake, "int", FakeType("u32", size=4), number=image.checkpoint)
    main = fake.add_thread("grow", [[CHECKPOINT_PC, CHECKPOINT_PC + 0x100]])
    main.position = 0
    main.variables[(0, 0, "id")] = fake.values["id"]
    main.variables[(0, 0, "map")] = fake.values["map"]
    fake.running = True
    return fake
