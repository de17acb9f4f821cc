"""Model programs for the explore search: threads are Python generators over shared state, run by
a fake debugger (the core's Adapter), so that the interleaving decides what the program does, as
in a racy native program. The search and its executor run on it exactly as under gdb or lldb.

A thread body is ``body(world)``, a generator that yields the places it passes (a place is the
link-time pc where it is, from the example profile's roles and probes, optionally with its
variables, such as the bucket an evacuate works on). ``world.state`` is shared, ``world.say``
prints a line, ``world.fatal(message, caller)`` reports misuse (stops at the fatal role, then ends the
program with status 2), ``world.exit(status)`` ends the program, ``world.block(predicate)`` waits
(without reaching a point) until ``predicate()`` holds, ``world.crash()`` dies of SIGSEGV. A
thread passes its gate first and the thread-end function last, as the fixtures' threads do.
"""

import copy
import json
import re
import threading

from conftest import REPO
from fake import FakeAdapter, FakeType, FakeValue
from mapscope_core.adapter import Frame, Stop, ThreadInfo
from mapscope_core.errors import MapscopeError
from mapscope_core.profile import Profile
from mapscope_core.replay import EXIT_CALL, THREAD_END
from mapscope_core.target import Target

GATE = 0x100
MAIN = 0x200
END = 0x300  # the thread-end function (glibc's __call_tls_dtors)
EXIT_HANDLERS = 0x310  # exit()'s handlers, under END when a thread ends the program
EXIT = 0x320  # _exit


def example_profile():
    with open(REPO / "docs" / "examples" / "gomap-grow.profile.json") as f:
        return Profile(json.load(f), "example")


PROFILE = example_profile()


def entry(role):
    return PROFILE.role_functions(role)[0].stop_address


def probe(name, role=None):
    sites = [s for s in PROFILE.probe_sites(name) if role is None or s.role == role]
    return sites[0].address


class _Exit(Exception):
    def __init__(self, status):
        self.status = status


class World:
    """What a thread body sees: shared state, output, and ways to end."""

    def __init__(self, state):
        self.state = state
        self.out = []
        self.exit_status = None

    def say(self, line):
        self.out.append(line)

    def fatal(self, message, caller):
        """Misuse detected in the role function at pc ``caller``."""
        yield {"pcs": [entry("fatal"), caller], "vars": {"msg": message}}
        raise _Exit(2)

    def exit(self, status):
        raise _Exit(status)

    def block(self, predicate):
        while not predicate():
            yield "blocked"

    def crash(self):
        yield "crash"


class _Thread:
    def __init__(self, number, name, body, world):
        self.number, self.name = number, name
        self.world = world
        self.gen = self._life(body) if body else None
        self.place = {"pcs": [MAIN]}
        self.ending = None  # None, "thread", ("exiting", status), ("at-exit", status)
        self.gone = False

    def _life(self, body):
        yield {"pcs": [GATE]}
        yield from body(self.world)

    def pcs(self):
        return self.place["pcs"]


class ModelAdapter(FakeAdapter):
    """A fake debugger over a model program: ``threads`` maps names to bodies (run in that
    order as threads 2, 3, ...); ``main`` runs after all of them have ended."""

    def __init__(self, threads, state=None, symbols=None):
        super().__init__(
            program="/fake/model",
            symbols={
                "fixtures::StartLine::wait": GATE,
                THREAD_END: END,
                "__run_exit_handlers": EXIT_HANDLERS,
                EXIT_CALL: EXIT,
                **(symbols or {}),
            },
        )
        self.bodies = dict(threads)
        self.initial = dict(state or {})
        self.live = []
        self.world = None
        self.launches = 0
        self.lock = threading.Lock()

    # -- the program -----------------------------------------------------------------------------

    def launch(self, args, env, stdout_path, free=False):
        assert not free, "the model has no runtime threads of its own"
        self.launched_with = (list(args), dict(env))
        self.launches += 1
        self.world = World(copy.deepcopy(self.initial))
        self.stdout_path = stdout_path
        self.live = [_Thread(1, "model", None, self.world)]
        for i, (name, body) in enumerate(self.bodies.items(), start=2):
            self.live.append(_Thread(i, name, body, self.world))
        self.running = True
        self._interrupted.clear()
        return self._run(self.live)

    def pid(self):
        return 4242 if self.running else 0

    def kill(self):
        if self.running:
            self._end(None)

    def _end(self, status):
        self.running = False
        self.live = []
        with open(self.stdout_path, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in self.world.out))
        return Stop("exited", exit_status=status)

    # -- threads ---------------------------------------------------------------------------------

    def _by_number(self, number):
        return next((t for t in self.live if t.number == number and not t.gone), None)

    def threads(self, with_frames=False, with_registers=False):
        out = []
        names = {address: name for name, address in self.symbols.items()}
        for t in self.live:
            if t.gone:
                continue
            info = ThreadInfo(number=t.number, name=t.name, lwp=1000 + t.number)
            if with_frames:
                info.frames = [Frame(pc=pc, function=names.get(pc, f"fn@{pc:#x}")) for pc in t.pcs()]
            if with_registers:
                info.registers = {"rip": t.pcs()[0], "rdi": t.place.get("rdi", 0)}
            out.append(info)
        return out

    def frame_registers(self, thread_number, frame_index, names):
        raise MapscopeError("model: no registers (its values are read through frame_variable)")

    def frame_variable(self, thread_number, frame_index, name):
        t = self._by_number(thread_number)
        if t is None or frame_index != 0:
            return None
        value = t.place.get("vars", {}).get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return None  # a message: the fake has no memory to render it from
        return FakeValue(self, "int", FakeType("usize"), number=value)

    # -- running ---------------------------------------------------------------------------------

    def resume(self, thread_number):
        t = self._by_number(thread_number)
        if t is None:
            raise Exception(f"no thread {thread_number}")
        return self._run([t])

    def resume_all(self):
        return self._run([t for t in self.live if not t.gone])

    def finish(self, thread_number, frame_index):
        raise NotImplementedError("the model has no 'return' steps")

    def _hits(self, t):
        pcs = t.pcs()
        found = []
        for number, (address, enabled, condition) in self.breakpoints.items():
            if not enabled or not pcs or pcs[0] != address:
                continue
            if condition:
                wanted = [int(n) for n in re.findall(r"== (\d+)", condition.text)]
                bucket = t.place.get("vars", {}).get("oldbucket", t.place.get("vars", {}).get("bucket"))
                if any(bucket != n for n in wanted):
                    continue
            found.append(number)
        return found

    def _advance(self, t):
        """One place further: None, "blocked", or a Stop when the program ended."""
        if t.gen is None:  # the main thread: it joins the others, then the program ends
            if not self._main_done():
                return "blocked"
            t.gone = True
            return None
        if t.ending == "thread":
            t.gone = True
            return None
        if t.ending is not None and t.ending[0] == "exiting":
            t.place, t.ending = {"pcs": [EXIT, EXIT_HANDLERS], "rdi": t.ending[1]}, ("at-exit", t.ending[1])
            return None
        if t.ending is not None:
            return self._end(t.ending[1])
        try:
            place = next(t.gen)
        except StopIteration:
            t.place, t.ending = {"pcs": [END]}, "thread"
            return None
        except _Exit as e:
            t.place, t.ending = {"pcs": [END, EXIT_HANDLERS]}, ("exiting", e.status)
            return None
        if place in ("blocked", "crash"):
            return place
        t.place = place if isinstance(place, dict) else {"pcs": list(place)}
        return None

    def _run(self, runnable):
        """Runs the runnable threads a place each in turn until one reaches an enabled
        breakpoint; a thread that can only wait lets the others go on; with none left to run,
        it waits for an interrupt."""
        while True:
            moved = False
            for t in [t for t in runnable if not t.gone]:
                result = self._advance(t)
                if isinstance(result, Stop):
                    return result
                if result == "blocked":
                    continue
                if result == "crash":
                    return Stop("signal", t.number, signal="SIGSEGV")
                moved = True
                if t.gone:
                    if all(x.gone for x in self.live):
                        return self._end(0)
                    if len(runnable) == 1:
                        return Stop("other", t.number)
                    continue
                hits = self._hits(t)
                if hits:
                    return Stop("breakpoint", t.number, hits)
            if all(t.gone for t in self.live):
                return self._end(0)
            if not moved:
                self._interrupted.wait(timeout=30)
                self._interrupted.clear()
                waiting = [t for t in runnable if not t.gone]
                return Stop("signal", waiting[0].number if waiting else 0, signal="SIGINT")

    def _main_done(self):
        return all(t.gone for t in self.live if t.number != 1)


def target_of(adapter):
    target = Target(adapter)
    target.profile = PROFILE
    return target
