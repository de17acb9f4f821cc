"""The replay engine: makes a scenario's thread interleaving happen, the same way every run.

The debugger stops every thread at once (all-stop) and the engine resumes exactly one at a time
(gdb's scheduler-locking, lldb's suspend/resume), always from its own loop, never from inside a
stop handler. A run goes:

1. **Gather.** Every scenario thread is stopped at its *gate*, a function it calls before it
   touches the map (the fixtures' start line). Threads that do not exist yet are made by letting
   the main thread run; a new thread runs until its gate.
2. **Schedule.** The steps' breakpoints are placed (each disabled until its step), then for each
   step the step's thread alone runs until it reaches the step's target
   (a role's functions or a probe point, optionally only for one bucket or while growing; the
   return from its current role; the fatal report; or the end). Stops of other kinds on the
   way (another step's breakpoint, a gate) are passed over.
3. **Finish.** All threads run to the end of the program; a fatal report on the way is recorded.

Everything the engine sees goes into a transcript of events (:mod:`mapscope_core.transcript`)
that holds no addresses and no debugger text, so gdb and lldb write the same bytes.
"""

import os
import signal
import tempfile
import threading
import time

from .adapter import Site, Stop
from .errors import BadInput, MapscopeError

#: The gate of the gomap fixtures (fixtures/src/lib.rs): every racing thread calls it first.
GOMAP_GATE = "fixtures::StartLine::wait"
#: Stops one step may pass over before the engine gives up on it.
MAX_STOPS_PER_STEP = 20000
#: The C library function every thread calls as it ends (glibc's start_thread calls it after
#: the thread's function returns, and exit() calls it first): where an ``exit`` step sees its
#: thread end. lldb reports no stop when one thread of a held process ends; this is one.
THREAD_END = "__call_tls_dtors"
#: Where a program that calls exit() ends, after its exit handlers (its output is flushed).
EXIT_CALL = "_exit"
#: Signals the debuggers stop with when they are interrupted, as opposed to a crash.
INTERRUPTS = ("SIGINT", "SIGSTOP", "SIGTRAP")


class ReplayError(MapscopeError):
    """The schedule could not be carried out."""


class Engine:
    """Runs scenarios on a :class:`~mapscope_core.target.Target`."""

    def __init__(self, target):
        self.target = target
        self.adapter = target.adapter

    def begin(self, scenario):
        """The state of one run of ``scenario``, its time limit counted from now."""
        self.scenario = scenario
        self.events = []
        self.deadline = time.monotonic() + scenario.time_limit
        self.exit_status = None
        self.fatal = None
        self.watch = None  # the oldbuckets Watch, once set
        self.header = None  # (address, map type) of the map the schedule works on
        self.all_breakpoints = []  # everything the engine set, deleted at the end
        self.thread_end = None  # the THREAD_END breakpoint, for 'exit' steps

    def run(self, scenario):
        """Runs ``scenario`` and returns its transcript events (the last one is the outcome)."""
        self.begin(scenario)
        if not scenario.steps:
            raise BadInput(
                f"scenario {scenario.name} has no steps: it is an input for 'mapscope explore', "
                "which searches its schedules; replay needs at least one [[step]]"
            )
        self._check_targets()
        # A Go program's runtime has threads of its own (sysmon, idle Ms, GC workers): they
        # run freely while the scenario's threads are held, or a held goroutine would block the
        # scheduler. gomap programs have no such threads: everything else stays stopped.
        self.free = self.target.require_profile().runtime is not None
        self.emit("start", fixture=scenario.fixture, args=scenario.args, threads=scenario.threads)
        env = dict(scenario.env, MAPSCOPE_REPLAY="1")
        if self.free:
            settings = go_runtime_settings(scenario)
            self.emit("note", text=f"Go runtime for the replay: {', '.join(f'{k}={v}' for k, v in settings.items())}")
            env = dict(settings, **env)
        with tempfile.TemporaryDirectory(prefix="mapscope-replay-") as tmp:
            stdout = os.path.join(tmp, "stdout")
            watchdog = Watchdog(self.adapter, scenario.time_limit)
            self.target.replaying = True
            try:
                self._breakpoints()
                stop = self.adapter.launch(scenario.args, env, stdout, free=self.free)
                stop = self._gather(stop)
                if not stop.ended:
                    self._place_steps()
                if not stop.ended and any(s.target.kind == "exit" for s in scenario.steps):
                    self.thread_end = self.set_thread_end()
                for number, step in enumerate(scenario.steps, start=1):
                    if stop.ended or self.fatal:
                        break
                    stop = self._step(number, step)
                self._finish(stop)
            finally:
                self.target.replaying = False
                watchdog.cancel()
                self.adapter.kill()
                self.adapter.delete_breakpoints(self.all_breakpoints)
                if self.watch is not None:
                    self.adapter.delete_watchpoint(self.watch.number)
                    self.target.forget([self.watch.number])
            if os.path.exists(stdout):
                with open(stdout, encoding="utf-8", errors="replace") as f:
                    for line in f.read().splitlines():
                        self.emit("output", line=line)
        self.emit("exit", status=self.exit_status)
        failures = check(scenario, self.events)
        self.emit("outcome", result="fail" if failures else "pass", failures=failures)
        return self.events

    def set_thread_end(self):
        """A breakpoint where threads end (after the C library is loaded), or None."""
        try:
            number = self.adapter.set_breakpoint(Site(0, THREAD_END, 0, at_entry=True))
        except MapscopeError:
            return None  # not glibc: gdb still sees threads end, lldb only at the time limit
        self.all_breakpoints.append(number)
        return number

    def process_exiting(self, number):
        """Whether thread ``number``, stopped at THREAD_END, is ending the whole program (it is
        inside exit()) rather than only itself."""
        for t in self.adapter.threads(with_frames=True):
            if t.number == number:
                return any("exit_handlers" in f.function or f.function in ("exit", "__GI_exit") for f in t.frames)
        return False

    def finish_exit(self, number):
        """Thread ``number`` is inside exit(): it runs alone to EXIT_CALL, whose argument is the
        exit status, and the program is ended there. Letting it end by itself while the other
        threads are held would leave gdb's scheduler-locking on, and gdb's next 'run' would
        never start the program."""
        try:
            bp = self.adapter.set_breakpoint(Site(0, EXIT_CALL, 0, at_entry=True))
        except MapscopeError:
            bp = None
        try:
            for _ in range(MAX_STOPS_PER_STEP):
                self._check_time("waiting for the program to exit")
                stop = self.adapter.resume(number)
                if stop.ended or bp is None:
                    return stop
                if bp in stop.breakpoints and stop.thread == number:
                    threads = self.adapter.threads(with_registers=True)
                    regs = next((t.registers for t in threads if t.number == number), {})
                    self.adapter.kill()
                    return Stop("exited", exit_status=regs.get("rdi", 0) & 0xFF)
        finally:
            if bp is not None:
                self.adapter.delete_breakpoints([bp])
        raise ReplayError("the program did not exit")

    def _check_targets(self):
        """Refuses, as bad input, a step whose role or probe this program does not have."""
        profile = self.target.require_profile()
        for number, step in enumerate(self.scenario.steps, start=1):
            kind, name = step.target.kind, step.target.name
            try:
                if kind == "role":
                    profile.role_functions(name)
                elif kind == "probe":
                    profile.probe_sites(name)
                if step.map_type:
                    profile.map_type(step.map_type)
            except MapscopeError as e:
                raise BadInput(f"scenario {self.scenario.name}, step {number}: {e}") from None

    # -- events --------------------------------------------------------------------------------

    def emit(self, event, **fields):
        self.events.append({"event": event, **fields})

    # -- breakpoints ---------------------------------------------------------------------------

    def set_gates(self):
        """Sets the gate breakpoints (see :func:`gate_functions`) and returns their numbers."""
        at_entry = not self.free  # gomap's start line has no prologue worth passing
        return {
            self.adapter.set_breakpoint(Site(0, name, 0, at_entry=at_entry))
            for name in gate_functions(self.scenario, self.free)
        }

    def _breakpoints(self):
        target, adapter = self.target, self.adapter
        self.gates = self.set_gates()
        self.fatal_bps = {adapter.set_breakpoint(site) for site, _, _ in target.role_sites("fatal")}
        self.all_breakpoints += [*sorted(self.gates), *self.fatal_bps]
        self.step_sites, self.step_bps = [], []
        for index, step in enumerate(self.scenario.steps, start=1):
            sites = []
            t = step.target
            if t.kind in ("role", "probe"):
                role, probe = (None, t.name) if t.kind == "probe" else (t.name, None)
                map_type = target.require_profile().map_type(step.map_type) if step.map_type else None
                unplaced = []
                sites = target.conditional_sites(role, probe, None, step.bucket, step.growing, map_type, unplaced)
                if unplaced:
                    # A function copy where the filter's parameter cannot be read there (the
                    # runtime's optimised code): the step cannot stop in it, and says so.
                    where = ", ".join(sorted({site.function for site, _ in unplaced}))
                    self.emit("note", text=f"step {index}: {t.describe()} is not watched in {where}")
            self.step_sites.append(sites)

    def _place_steps(self):
        """The steps' breakpoints, each disabled until its step. Placed once the threads wait at
        their gates, not before the launch: lldb 16 spends about half a second of its first
        launch on breakpoints already set in a Go runtime, and none on the same set later."""
        adapter = self.adapter
        for sites in self.step_sites:
            numbers = set()
            for site, cond in sites:
                number = adapter.set_breakpoint(site, cond)
                adapter.enable_breakpoint(number, False)
                numbers.add(number)
            self.step_bps.append(numbers)
            self.all_breakpoints += sorted(numbers)

    # -- phases --------------------------------------------------------------------------------

    def _gather(self, stop):
        """Until every scenario thread waits at its gate."""
        gated = set()
        for _ in range(MAX_STOPS_PER_STEP):
            self._check_time("gathering the threads at their gates")
            if stop.ended:
                return stop
            if self.fatal_bps & set(stop.breakpoints):
                self._record_fatal(stop)
                return stop
            named = self._threads_by_name()
            if self.gates & set(stop.breakpoints):
                for name, t in named.items():
                    if t.number == stop.thread:
                        gated.add(name)
            missing = [n for n in self.scenario.threads if n not in gated]
            if not missing:
                self.emit("gathered", threads=self.scenario.threads)
                return stop
            if self.free:
                # Everything runs but the threads already at their gates.
                stop = self.adapter.resume_except({named[n].number for n in gated if n in named})
            else:
                stop = self.adapter.resume(self._gather_runner(named, gated))
        raise ReplayError("threads never reached their gates")

    def _gather_runner(self, named, gated):
        """Which thread runs next while gathering: a scenario thread not yet at its gate; else a
        thread too new to have its name yet (it is on its way to its gate); else the main thread,
        to create the threads still missing."""
        main = self._main_thread()
        waiting = [named[n] for n in self.scenario.threads if n in named and n not in gated]
        if waiting:
            return waiting[0].number
        known = set(self.scenario.threads)
        newborn = [t for t in named.values() if t.number != main and t.name not in known]
        if newborn:
            return min(t.number for t in newborn)
        return main

    def _step(self, number, step):
        t = step.target
        thread = self._thread(step.thread)
        if t.kind == "return":
            return self._step_return(number, step, thread)
        if t.kind == "end":
            return self._step_end(number, step)
        if t.kind == "exit":
            return self._step_exit(number, step, thread)
        wanted = self.step_bps[number - 1]
        for bp in wanted:
            self.adapter.enable_breakpoint(bp, True)
        try:
            for _ in range(MAX_STOPS_PER_STEP):
                # A thread that ended is said so, also when the debugger noticed only at the
                # time limit (lldb reports no stop for a thread's exit).
                if not any(t.number == thread.number for t in self.adapter.threads()):
                    raise ReplayError(f"step {number}: {step.thread} ended before it reached {step.describe()}")
                self._check_time(f"step {number}: {step.thread} waited to reach {step.describe()}")
                stop = self._run_alone(thread)
                if stop.ended:
                    self.emit("step", step=number, thread=step.thread, wanted=t.describe(), reached="exit")
                    return stop
                if self.fatal_bps & set(stop.breakpoints):
                    self._record_fatal(stop)
                    if t.kind == "fatal":
                        self.emit("step", step=number, thread=step.thread, wanted=t.describe(), reached="fatal")
                    return stop
                if stop.thread == thread.number and wanted & set(stop.breakpoints):
                    self._record_stop(number, step, thread)
                    return stop
                if stop.thread == thread.number and self.thread_end in stop.breakpoints:
                    if not self.process_exiting(thread.number):
                        raise ReplayError(f"step {number}: {step.thread} ended before it reached {step.describe()}")
                self._passing(stop)
        finally:
            for bp in wanted:
                self.adapter.enable_breakpoint(bp, False)
        raise ReplayError(f"step {number}: {step.thread} never reached {step.describe()}")

    def _step_return(self, number, step, thread):
        info = self._thread(step.thread, frames=True)
        found = self.target.role_frame(info)
        if found is None:
            raise ReplayError(f"step {number}: {step.thread} is not inside a map role, nothing to return from")
        index, fn = found
        role = fn.role
        self._check_time(f"step {number}: {step.thread} waited to return from {role}")
        stop = self.adapter.finish(thread.number, index, self._held(thread) if self.free else None)
        if stop.kind == "breakpoint" and self.fatal_bps & set(stop.breakpoints):
            self._record_fatal(stop)
            return stop
        reached = "exit" if stop.ended else "return"
        self.emit("step", step=number, thread=step.thread, wanted=step.target.describe(), reached=reached, role=role)
        return stop

    def _run_alone(self, thread):
        """Runs one scenario thread, the others held: alone (gomap), or with the Go runtime's own
        threads (Go)."""
        if self.free:
            return self.adapter.resume_except(self._held(thread))
        return self.adapter.resume(thread.number)

    def _held(self, thread):
        """The numbers of the scenario's threads other than ``thread``."""
        named = self._threads_by_name()
        return {named[n].number for n in self.scenario.threads if n in named and named[n].number != thread.number}

    def _step_exit(self, number, step, thread):
        """The thread alone runs until it ends: its own end ('thread-exit'), the program's end
        that it calls ('exit'), or a crash ('signal NAME')."""

        def done(stop, reached):
            self.emit("step", step=number, thread=step.thread, wanted="exit", reached=reached)
            return stop

        for _ in range(MAX_STOPS_PER_STEP):
            if not any(t.number == thread.number for t in self.adapter.threads()):
                return done(Stop("other", thread.number), "thread-exit")
            self._check_time(f"step {number}: {step.thread} waited to exit")
            stop = self._run_alone(thread)
            if stop.ended:
                return done(stop, "exit")
            if self.fatal_bps & set(stop.breakpoints):
                self._record_fatal(stop)
                return stop
            if stop.thread == thread.number:
                if self.thread_end is not None and self.thread_end in stop.breakpoints:
                    if not self.process_exiting(thread.number):
                        return done(stop, "thread-exit")
                    return done(self.finish_exit(thread.number), "exit")
                if stop.kind == "signal" and stop.signal not in INTERRUPTS:
                    return done(stop, f"signal {stop.signal}")
            self._passing(stop)
        raise ReplayError(f"step {number}: {step.thread} never exited")

    def _step_end(self, number, step):
        stop = self._run_out()
        self.emit("step", step=number, thread=step.thread, wanted="end", reached="exit")
        return stop

    def _finish(self, stop):
        if not stop.ended:
            stop = self._run_out()
        if stop.kind == "exited":
            self.exit_status = stop.exit_status
        elif stop.kind == "signal":
            self.exit_status = f"signal {stop.signal}"

    def _run_out(self):
        """All threads run to the end; fatal reports on the way are recorded."""
        for bp in self.all_breakpoints:
            if bp not in self.fatal_bps:
                self.adapter.enable_breakpoint(bp, False)
        for _ in range(MAX_STOPS_PER_STEP):
            self._check_time("running to the end")
            stop = self.adapter.resume_all()
            if stop.ended:
                return stop
            if self.fatal_bps & set(stop.breakpoints) and self.fatal is None:
                self._record_fatal(stop)
            self._passing(stop)
        raise ReplayError("the program did not end")

    def _passing(self, stop):
        """Records what a stop on the way shows (a watchpoint hit), before running on."""
        if self.watch is not None and self.watch.number in stop.watchpoints:
            hit = self.target.watch_hit(self.watch.number, stop.thread, self._names_by_number())
            self.emit("watch", change=hit.change, role=hit.role, thread=hit.thread)

    # -- recording -----------------------------------------------------------------------------

    def _record_stop(self, number, step, thread):
        info = self._thread(step.thread, frames=True)
        found = self.target.role_frame(info)
        fields = {"step": number, "thread": step.thread, "wanted": step.target.describe()}
        if found is not None:
            index, fn = found
            fields["reached"] = fn.role
            fields["function"] = fn.variant
            if self.header is None:
                self.header = self.target.frame_map(info, index)
        if self.header:
            address, mt = self.header
            h, entries = self.target.entries(address, mt)
            fields["map"] = h.summary()
            # What a correct reader finds at this moment (count says what the map believes).
            fields["entries"] = len(entries)
            if step.show_bucket is not None:
                fields["bucket"] = self._bucket_states(h, int(step.show_bucket), step.old)
        self.emit("step", **fields)
        if step.snapshot:
            self._snapshot()
        if self.scenario.watch_oldbuckets and self.watch is None and self.header:
            self.watch = self.target.watch_oldbuckets(*self.header)

    def _snapshot(self):
        """Where every thread is: its map role and function, or that it is in none.

        In a Go program the runtime's own threads (idle Ms, sysmon) come and go with the
        scheduler, so only the scenario's goroutines and threads inside a map role are listed:
        that keeps the transcript the same on every run."""
        threads = []
        listed = self.adapter.threads(with_frames=True)
        names = self.target.goroutine_names(listed) if self.free else [t.name for t in listed]
        for t, name in zip(listed, names, strict=True):
            found = self.target.role_frame(t)
            if self.free and found is None and name not in self.scenario.threads:
                continue
            entry = {"thread": name}
            if found is not None:
                entry.update(role=found[1].role, function=found[1].variant)
            threads.append(entry)
        self.emit("snapshot", threads=sorted(threads, key=lambda e: e["thread"]))

    def _bucket_states(self, header, index, old):
        mt = header.map_type
        array = header.oldbuckets if old else header.buckets
        if not array:
            return None
        chain = self.target.bucket_chain(array, index, mt)
        return {
            "array": "old" if old else "new",
            "index": index,
            "tophash": [s.state or "live" for b in chain for s in b.slots],
        }

    def _record_fatal(self, stop):
        self.fatal = self.target.fatal_report(stop.thread, self._names_by_number())
        self.emit("fatal", **_stable(self.fatal))

    # -- threads -------------------------------------------------------------------------------

    def _threads_by_name(self, frames=False):
        threads = self.adapter.threads(with_frames=frames or self.free)
        if self.free:
            return {name: t for t, name in zip(threads, self.target.goroutine_names(threads), strict=True)}
        return {t.name: t for t in threads}

    def _names_by_number(self):
        return {t.number: name for name, t in self._threads_by_name().items()}

    def _thread(self, name, frames=False):
        t = self._threads_by_name(frames).get(name)
        if t is None:
            raise ReplayError(f"no thread named {name!r} (is it spawned and named by the fixture?)")
        return t

    def _main_thread(self):
        return min(t.number for t in self.adapter.threads())

    def _check_time(self, doing):
        if time.monotonic() > self.deadline:
            raise ReplayError(f"time limit of {self.scenario.time_limit:g} s exceeded while {doing}")


def start_quietly(thread):
    """Starts a helper thread with every signal blocked in it. The debugger waits for its
    program's events with SIGCHLD (gdb in sigsuspend): a SIGCHLD the kernel handed to a helper
    thread instead would leave it waiting forever (gdb's own gdb.Thread does the same)."""
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class Watchdog:
    """Holds a replay to its time limit whatever the program does: when the limit passes while a
    resumed thread never stops (it waits for a thread that is held, it was never created), the
    watchdog interrupts the debugger from another thread, and the engine's next time check
    ends the replay with the step that was waiting. It interrupts again every
    :data:`RETRY` seconds until cancelled, in case one interrupt met the program stopped."""

    RETRY = 2.0

    def __init__(self, adapter, seconds):
        self.adapter = adapter
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, args=(seconds,), daemon=True)
        start_quietly(self.thread)

    def _watch(self, seconds):
        wait = seconds
        while not self.done.wait(wait):
            try:
                self.adapter.interrupt()
            except Exception:  # noqa: BLE001 - the engine reports the time limit; nothing to add
                pass
            wait = self.RETRY

    def cancel(self):
        self.done.set()


def gate_functions(scenario, go):
    """Where each thread waits before its first step: the scenario's ``gate``; else, on Go
    (``go``), the function each goroutine started in (the threads are named by it); else the
    gomap fixtures' start line."""
    if scenario.gate:
        return [scenario.gate]
    if go:
        return sorted({name.split("#")[0] for name in scenario.threads})
    return [GOMAP_GATE]


def go_runtime_settings(scenario):
    """The environment a Go replay needs, unless the scenario sets it: no garbage collection
    (GOGC=off: a stop-the-world would wait forever for the held goroutines), no asynchronous
    preemption (GODEBUG=asyncpreemptoff=1: SIGURG would move a goroutine at a point of the
    runtime's choosing, not the schedule's), and a P for every scenario goroutine and two more
    (GOMAXPROCS: a held goroutine keeps its P, and the others must still run)."""
    wanted = {"GOGC": "off", "GODEBUG": "asyncpreemptoff=1", "GOMAXPROCS": str(len(scenario.threads) + 2)}
    return {k: v for k, v in wanted.items() if k not in scenario.env}


#: What a fatal report holds that differs from run to run: kernel thread ids, goroutine ids.
_UNSTABLE = ("lwp", "goroutine")


def _stable(report):
    """A fatal report as the transcript keeps it: without what differs from run to run."""
    stable = {k: v for k, v in report.items() if k not in _UNSTABLE}
    stable["others"] = [{k: v for k, v in o.items() if k not in _UNSTABLE} for o in report["others"]]
    return stable


def check(scenario, events):
    """What the scenario expected and the events do not show, one line each."""
    expect, failures = scenario.expect, []
    exits = [e for e in events if e["event"] == "exit"]
    status = exits[-1]["status"] if exits else None
    if "exit" in expect and status != expect["exit"]:
        failures.append(f"exit status {status}, expected {expect['exit']}")
    fatals = [e for e in events if e["event"] == "fatal"]
    if "fatal" in expect:
        if expect["fatal"] is False:
            if fatals:
                failures.append(f"unexpected fatal error: {fatals[0]['message']}")
        elif not fatals:
            failures.append(f"no fatal error, expected {expect['fatal']!r}")
        elif fatals[0]["message"] != expect["fatal"]:
            failures.append(f"fatal error {fatals[0]['message']!r}, expected {expect['fatal']!r}")
    if "fatal_thread" in expect and (not fatals or fatals[0]["thread"] != expect["fatal_thread"]):
        got = fatals[0]["thread"] if fatals else None
        failures.append(f"fatal error detected by {got}, expected {expect['fatal_thread']}")
    if "threads_in_roles" in expect:
        got = sorted(o["thread"] for o in fatals[0]["others"]) if fatals else []
        if got != sorted(expect["threads_in_roles"]):
            failures.append(f"other threads in map roles {got}, expected {sorted(expect['threads_in_roles'])}")
    if "output" in expect:
        lines = [e["line"] for e in events if e["event"] == "output"]
        if not any(line.startswith(expect["output"]) for line in lines):
            failures.append(f"no output line starts with {expect['output']!r}")
    if "watch" in expect:
        got = [f"{e['change']} by {e['role']}" for e in events if e["event"] == "watch"]
        if got != expect["watch"]:
            failures.append(f"watchpoint saw {got}, expected {expect['watch']}")
    steps = [e for e in events if e["event"] == "step"]
    if len(steps) < len(scenario.steps) and not fatals:
        failures.append(f"only {len(steps)} of {len(scenario.steps)} steps were carried out")
    return failures
