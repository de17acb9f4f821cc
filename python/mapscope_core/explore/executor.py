"""Running one schedule in a debugger: :class:`DebuggerExecutor` on top of the replay engine
(gathering the threads at their gates, fatal reports, the run to the end), each thread run
alone to its next point."""

import os
import re
import tempfile
import threading
import time

from ..errors import BadInput, MapscopeError
from ..replay import INTERRUPTS, Engine, ReplayError, go_runtime_settings, start_quietly
from .footprints import Label, footprint
from .search import Event, Outcome, Point, Run

#: A thread that does not reach a point in this long is taken as blocked.
BLOCK_SECONDS = 1.0
#: Points one run may pass before it counts as a hang (a livelock).
MAX_EVENTS = 20000


# -- running a schedule in a debugger -------------------------------------------------------------


class _Interrupter:
    """Interrupts the debugger when one resume takes longer than it is allowed (a thread that
    is blocked, or a run over its time limit)."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.lock = threading.Condition()
        self.deadline = None
        self.fired = False
        self.closed = False
        self.thread = threading.Thread(target=self._watch, daemon=True)
        start_quietly(self.thread)

    def arm(self, seconds):
        with self.lock:
            self.deadline, self.fired = time.monotonic() + seconds, False
            self.lock.notify()

    def disarm(self):
        with self.lock:
            self.deadline = None
            return self.fired

    def close(self):
        with self.lock:
            self.closed = True
            self.deadline = None
            self.lock.notify()

    def _watch(self):
        with self.lock:
            while not self.closed:
                if self.deadline is None:
                    self.lock.wait()
                    continue
                left = self.deadline - time.monotonic()
                if left > 0:
                    self.lock.wait(left)
                    continue
                self.fired = True
                self.deadline = time.monotonic() + 2.0  # again, in case it met a stopped program
                try:
                    self.adapter.interrupt()
                except Exception:  # noqa: BLE001 - the run reports what happened
                    pass


class _RunEngine(Engine):
    """The replay engine's gathering, fatal reports and run-out, for one explore run."""

    def __init__(self, target, scen, free):
        super().__init__(target)
        self.begin(scen)
        self.free = free
        self.gates, self.fatal_bps = set(), set()

    def breakpoints(self, gates, fatal_bps, others):
        """The executor's breakpoints, set once for every run."""
        self.gates, self.fatal_bps = set(gates), set(fatal_bps)
        self.all_breakpoints = [*gates, *others]


class DebuggerExecutor:
    """Runs schedules of one scenario in one debugger session; the breakpoints are set once."""

    def __init__(self, target, scen, block_seconds=BLOCK_SECONDS):
        self.target, self.adapter, self.scenario = target, target.adapter, scen
        self.block_seconds = block_seconds
        profile = target.require_profile()
        wanted = scen.explore.get("points") or []
        self.precise = not wanted
        targets = [(t.kind, t.name) for t in wanted] or (
            [("role", r) for r in profile.roles() if r != "fatal" and profile.role_functions(r)]
            + [("probe", p) for p in profile.probes()]
        )
        for kind, name in targets:
            try:
                profile.role_functions(name) if kind == "role" else profile.probe_sites(name)
            except MapscopeError as e:
                raise BadInput(f"scenario {scen.name}, [explore] points: {e}") from None
        adapter = self.adapter
        # A Go program's own runtime threads run freely meanwhile, as in a replay.
        self.free = profile.runtime is not None
        # Points only on maps of one type: the runtime's own maps (Go's environment, say) are
        # not the race under search, and their points only lengthen every run.
        map_type = None
        if scen.explore.get("type"):
            try:
                map_type = profile.map_type(scen.explore["type"])
            except MapscopeError as e:
                raise BadInput(f"scenario {scen.name}, [explore] type: {e}") from None
        self.points = {}  # breakpoint number -> (kind, name, role, bucket parameter names or ())
        self.breakpoints = []
        try:
            self.gates = sorted(_RunEngine(target, scen, self.free).set_gates())
            self.breakpoints += self.gates
            self.fatal_bps = {adapter.set_breakpoint(site) for site, _, _ in target.role_sites("fatal")}
            self.breakpoints += sorted(self.fatal_bps)
            for kind, name in targets:
                sites = target.role_sites(name) if kind == "role" else target.probe_sites(name)
                conditions = {}
                if map_type is not None:
                    role, probe = (name, None) if kind == "role" else (None, name)
                    try:
                        placed = target.conditional_sites(role, probe, map_type=map_type, unplaced=[])
                    except MapscopeError:
                        placed = None  # not filterable here: every site stays a point
                    if placed is not None:
                        conditions = {site.address: cond for site, cond in placed}
                        # gomap: only the copies made for the type; Go: a condition on its
                        # descriptor where it can be read, every other site unfiltered.
                        kept = {site.address for site, _ in placed}
                        if profile.runtime is None:
                            sites = [s for s in sites if s[0].address in kept]
                every = all(fn.param("oldbucket", "bucket") for _, fn, _ in sites)
                for site, fn, _ in sites:
                    number = adapter.set_breakpoint(site, conditions.get(site.address))
                    adapter.enable_breakpoint(number, False)
                    names = ("oldbucket", "bucket") if every else ()
                    self.points[number] = (kind, name, fn.role, names)
                    self.breakpoints.append(number)
        except BaseException:
            self.close()
            raise
        self.thread_end = None
        self.tmp = tempfile.TemporaryDirectory(prefix="mapscope-explore-")
        self.stdout = os.path.join(self.tmp.name, "stdout")
        self.interrupter = _Interrupter(adapter)
        self.first = True

    def close(self):
        if getattr(self, "interrupter", None):
            self.interrupter.close()
        try:
            self.adapter.kill()
        except MapscopeError:
            pass
        self.adapter.delete_breakpoints(self.breakpoints)
        self.breakpoints = []
        if getattr(self, "tmp", None):
            self.tmp.cleanup()

    # -- one run -------------------------------------------------------------------------------

    def __call__(self, policy):
        return self.execute(policy)

    def execute(self, policy):
        scen, adapter = self.scenario, self.adapter
        others = list(self.points) + ([self.thread_end] if self.thread_end else [])
        engine = _RunEngine(self.target, scen, self.free)
        engine.breakpoints(self.gates, self.fatal_bps, others)
        self.engine = engine
        self.calls = {}  # thread number -> (role, bucket) of the last role entry it passed
        self.fatal_site = ""
        run = Run()
        self.target.replaying = True
        for number in others:
            adapter.enable_breakpoint(number, False)
        for number in self.gates:
            adapter.enable_breakpoint(number, True)
        if os.path.exists(self.stdout):
            os.unlink(self.stdout)
        env = dict(scen.env, MAPSCOPE_REPLAY="1")
        if self.free:
            env = dict(go_runtime_settings(scen), **env)
        try:
            stop = adapter.launch(scen.args, env, self.stdout, free=self.free)
            try:
                stop = engine._gather(stop)
            except ReplayError as e:
                if self.first:
                    raise BadInput(f"scenario {scen.name}: {e} (are 'threads' the program's thread names?)") from None
                raise
            self.first = False
            if not stop.ended and not engine.fatal:
                if self.thread_end is None:
                    self.thread_end = engine.set_thread_end()
                    if self.thread_end is not None:
                        self.breakpoints.append(self.thread_end)
                for number in self.points:
                    adapter.enable_breakpoint(number, True)
                if self.thread_end is not None:
                    adapter.enable_breakpoint(self.thread_end, True)
                    engine.all_breakpoints.append(self.thread_end)
                self._schedule(run, policy, engine)
            elif stop.ended:
                engine.exit_status = stop.exit_status
        finally:
            self.target.replaying = False
            try:
                adapter.kill()
            except MapscopeError:
                pass
        if os.path.exists(self.stdout):
            with open(self.stdout, encoding="utf-8", errors="replace") as f:
                run.output = f.read().splitlines()
        if run.outcome is None or run.outcome.kind not in ("crash", "hang"):
            run.exit_status = engine.exit_status
        run.fatal = engine.fatal
        run.fatal_site = self.fatal_site if engine.fatal else ""
        return run

    def _schedule(self, run, policy, engine):
        adapter, order = self.adapter, self.scenario.threads
        named = engine._threads_by_name()
        numbers = {name: named[name].number for name in order if name in named}
        state = {name: "running" for name in order}
        last = {name: None for name in order}  # the label each thread stopped at last
        seen = {}  # for the current thread since it was switched to: label key -> writes then
        writes = 0
        current = None
        moved_since_blocked = {}
        while True:
            for name in order:
                if state[name] == "blocked" and moved_since_blocked.get(name):
                    state[name] = "running"
            enabled = tuple(n for n in order if state[n] in ("running", "waiting"))
            if not enabled:
                if all(state[n] == "ended" for n in order):
                    break
                blocked = [n for n in order if state[n] == "blocked"]
                return self._hang(run, f"deadlock: {', '.join(blocked)} cannot go on")
            if len(run.events) >= MAX_EVENTS:
                return self._hang(run, f"{MAX_EVENTS} points passed without an end (a livelock)")
            point = Point(
                len(run.points),
                current,
                state[current] if current else None,
                enabled,
                len(run.events),
                last[current] if current else None,
            )
            chosen = policy.choose(point)
            point.chosen = chosen
            run.points.append(point)
            if chosen != current:
                seen, writes = {}, 0
                if last[chosen] is not None:
                    seen[last[chosen].key] = 0
            if state[chosen] == "waiting":
                state[chosen] = "running"
            current = chosen
            left = engine.deadline - time.monotonic()
            if left <= 0:
                return self._hang(run, f"time limit of {self.scenario.time_limit:g} s exceeded")
            held = {numbers[n] for n in order if n != chosen and n in numbers}
            what, labels, stop = self._advance(numbers[chosen], held, min(self.block_seconds, left), engine)
            if what == "point":
                label = labels[0]
                fp = footprint(last[chosen], label, self.precise)
                point.event = Event(len(run.events) + 1, chosen, label, frozenset(x.key for x in labels), fp)
                run.events.append(point.event)
                last[chosen] = label
                for name in order:
                    if name != chosen:
                        moved_since_blocked[name] = True
                if fp.writes_map:
                    writes += 1
                if seen.get(label.key) == writes:
                    state[chosen] = "waiting"  # back where it was, nothing written: a spin
                seen[label.key] = writes
                continue
            if what == "blocked":
                if time.monotonic() >= engine.deadline:
                    return self._hang(run, f"time limit of {self.scenario.time_limit:g} s exceeded")
                state[chosen] = "blocked"
                moved_since_blocked[chosen] = False
                continue
            if what == "gone":
                state[chosen] = "ended"
                continue
            ending = {"thread-exit": Label("thread-exit", ""), "exit": Label("exit", ""), "fatal": Label("fatal", "")}
            label = ending.get(what) or Label("signal", stop.signal)
            point.event = Event(
                len(run.events) + 1, chosen, label, frozenset([label.key]), footprint(last[chosen], label)
            )
            run.events.append(point.event)
            if what == "thread-exit":
                state[chosen] = "ended"
                continue
            if what == "exit":
                engine.exit_status = stop.exit_status
                return None
            if what == "crash":
                role = self.target.innermost_role(self.target.thread(stop.thread)) or "no map role"
                run.outcome = Outcome(
                    "crash", f"crash: {stop.signal} in {chosen} ({role})", ("crash", stop.signal, chosen, role)
                )
                return None
            break  # a fatal report: the rest runs freely to the end, as in a replay
        # Everyone has ended (or a fatal report was made): the rest runs freely to the end.
        for number in self.points:
            adapter.enable_breakpoint(number, False)
        self.interrupter.arm(max(engine.deadline - time.monotonic(), 0.1))
        try:
            stop = engine._run_out()
        except ReplayError:
            return self._hang(run, f"time limit of {self.scenario.time_limit:g} s exceeded at the end")
        finally:
            self.interrupter.disarm()
        if stop.kind == "exited":
            engine.exit_status = stop.exit_status
        return None

    def _hang(self, run, why):
        run.outcome = Outcome("hang", f"hang: {why}", ("hang", why.split(":")[0]))

    def _advance(self, number, held, seconds, engine):
        """Runs thread ``number`` alone (on Go: with the runtime's threads, the scenario's other
        threads ``held``) to its next point: ``(what, labels, stop)``."""
        adapter = self.adapter
        for _ in range(1000):
            self.interrupter.arm(seconds)
            try:
                stop = adapter.resume_except(held) if self.free else adapter.resume(number)
            finally:
                fired = self.interrupter.disarm()
            if stop.ended:
                return "exit", None, stop
            hits = set(stop.breakpoints)
            if self.fatal_bps & hits:
                engine._record_fatal(stop)
                self.fatal_site = self._caller(stop.thread)
                return "fatal", None, stop
            if stop.thread == number:
                if self.thread_end is not None and self.thread_end in hits:
                    if engine.process_exiting(number):
                        return "exit", None, engine.finish_exit(number)
                    return "thread-exit", None, stop
                labels = [self._label(number, b) for b in sorted(hits) if b in self.points]
                if labels:
                    labels.sort(key=lambda x: x.kind != "probe")  # the probe names the place best
                    return "point", labels, stop
                if stop.kind == "signal" and stop.signal not in INTERRUPTS:
                    return "crash", None, stop
            if fired:
                alive = any(t.number == number for t in adapter.threads())
                return ("blocked" if alive else "gone"), None, stop
            if not any(t.number == number for t in adapter.threads()):
                return "gone", None, stop
        return "blocked", None, stop

    def _caller(self, number):
        """The short name of the function that called the fatal report in thread ``number``:
        the first frame outside the fatal role (an inlined helper has its own frame)."""
        for t in self.adapter.threads(with_frames=True):
            if t.number != number:
                continue
            for frame in t.frames:
                fn = self.target.role_function_at(frame.pc)
                if fn is None or fn.role != "fatal":
                    return short_name(frame.function)
        return ""

    def _label(self, number, breakpoint):
        """The Label of a point: at the entry of a role with a bucket parameter, its value
        (read once per call); a probe inside that role carries the same bucket."""
        kind, name, role, params = self.points[breakpoint]
        if kind == "role":
            bucket = None
            if params:
                # At a role's entry its parameters are in place, in the role function's own
                # frame (lldb shows the helpers inlined at its first line as frames above it).
                found = thread = None
                for t in self.adapter.threads(with_frames=True):
                    if t.number == number:
                        thread, found = t, self.target.role_frame(t)
                if found is not None:
                    values = (self.target.frame_uint(thread, found[0], p) for p in params)
                    bucket = next((v for v in values if v is not None), None)
            self.calls[number] = (role, bucket)
            return Label(kind, name, role, bucket)
        call_role, bucket = self.calls.get(number, (None, None))
        return Label(kind, name, role, bucket if params and call_role == role else None)


def short_name(function):
    """``gomap::runtime::assign::writer_done<i64, i64>`` (gdb) or ``...::writer_done::h0123...``
    (lldb) as ``writer_done``; ``runtime.mapassign_fast64`` as ``mapassign_fast64``."""
    text = re.sub(r"<[^<>]*>", "", re.sub(r"<[^<>]*>", "", function or ""))
    text = re.sub(r"::h[0-9a-f]{16}$", "", text)
    return re.split(r"::|\.", text)[-1] if text else ""
