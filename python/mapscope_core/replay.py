"""The replay engine: makes a scenario's thread interleaving happen, the same way every run.

The debugger stops every thread at once (all-stop) and the engine resumes exactly one at a time
(gdb's scheduler-locking, lldb's suspend/resume), always from its own loop, never from inside a
stop handler. A run goes:

1. **Gather.** Every scenario thread is stopped at its *gate*, a function it calls before it
   touches the map (the fixtures' start line). Threads that do not exist yet are made by letting
   the main thread run; a new thread runs until its gate.
2. **Schedule.** For each step, the step's thread alone runs until it reaches the step's target
   (a role's functions or a probe point, optionally only for one bucket or while growing; the
   return from its current role; the fatal report; or the end). Stops of other kinds on the
   way (another step's breakpoint, a gate) are passed over.
3. **Finish.** All threads run to the end of the program; a fatal report on the way is recorded.

Everything the engine sees goes into a transcript of events (:mod:`mapscope_core.transcript`)
that holds no addresses and no debugger text, so gdb and lldb write the same bytes.
"""

import os
import tempfile
import time

from . import decode
from .adapter import Site
from .errors import MapscopeError

#: Stops one step may pass over before the engine gives up on it.
MAX_STOPS_PER_STEP = 20000


class ReplayError(MapscopeError):
    """The schedule could not be carried out."""


class Engine:
    """Runs scenarios through a Session's adapter."""

    def __init__(self, session):
        self.session = session
        self.adapter = session.adapter

    def run(self, scenario):
        """Runs ``scenario`` and returns its transcript events (the last one is the outcome)."""
        self.scenario = scenario
        self.events = []
        self.deadline = time.monotonic() + scenario.time_limit
        self.exit_status = None
        self.fatal = None
        self.watch_number = None
        self.header = None  # (address, map type) of the map the schedule works on
        self.all_breakpoints = []  # everything the engine set, deleted at the end
        self.session.require_profile()
        self.emit("start", fixture=scenario.fixture, args=scenario.args, threads=scenario.threads)
        with tempfile.TemporaryDirectory(prefix="mapscope-replay-") as tmp:
            stdout = os.path.join(tmp, "stdout")
            try:
                self._breakpoints()
                env = dict(scenario.env, MAPSCOPE_REPLAY="1")
                stop = self.adapter.launch(scenario.args, env, stdout)
                stop = self._gather(stop)
                for number, step in enumerate(scenario.steps, start=1):
                    if stop.ended or self.fatal:
                        break
                    stop = self._step(number, step)
                self._finish(stop)
            finally:
                self.adapter.kill()
                self.adapter.delete_breakpoints(self.all_breakpoints)
            with open(stdout, encoding="utf-8", errors="replace") as f:
                for line in f.read().splitlines():
                    self.emit("output", line=line)
        self.emit("exit", status=self.exit_status)
        failures = check(scenario, self.events)
        self.emit("outcome", result="fail" if failures else "pass", failures=failures)
        return self.events

    # -- events --------------------------------------------------------------------------------

    def emit(self, event, **fields):
        self.events.append({"event": event, **fields})

    # -- breakpoints ---------------------------------------------------------------------------

    def _breakpoints(self):
        session, adapter = self.session, self.adapter
        self.gate = adapter.set_breakpoint(Site(0, self.scenario.gate, 0))
        self.fatal_bps = {adapter.set_breakpoint(site) for site, _ in session.role_sites("fatal")}
        self.all_breakpoints += [self.gate, *self.fatal_bps]
        self.step_bps = []
        for step in self.scenario.steps:
            numbers = set()
            t = step.target
            if t.kind in ("role", "probe"):
                role, probe = (None, t.name) if t.kind == "probe" else (t.name, None)
                for site, cond in session.conditional_sites(role, probe, None, step.bucket, step.growing):
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
            if self.gate in stop.breakpoints:
                for name, t in named.items():
                    if t.number == stop.thread:
                        gated.add(name)
            missing = [n for n in self.scenario.threads if n not in gated]
            if not missing:
                self.emit("gathered", threads=self.scenario.threads)
                return stop
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
        wanted = self.step_bps[number - 1]
        for bp in wanted:
            self.adapter.enable_breakpoint(bp, True)
        try:
            for _ in range(MAX_STOPS_PER_STEP):
                self._check_time(f"step {number}: {step.thread} to {t.describe()}")
                stop = self.adapter.resume(thread.number)
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
                self._passing(stop)
        finally:
            for bp in wanted:
                self.adapter.enable_breakpoint(bp, False)
        raise ReplayError(f"step {number}: {step.thread} never reached {t.describe()}")

    def _step_return(self, number, step, thread):
        info = self._thread(step.thread, frames=True)
        index = self._role_frame(info)
        if index is None:
            raise ReplayError(f"step {number}: {step.thread} is not inside a map role, nothing to return from")
        role = self.session.role_at(info.frames[index].pc)[0]
        stop = self.adapter.finish(thread.number, index)
        if stop.kind == "breakpoint" and self.fatal_bps & set(stop.breakpoints):
            self._record_fatal(stop)
            return stop
        reached = "exit" if stop.ended else "return"
        self.emit("step", step=number, thread=step.thread, wanted=step.target.describe(), reached=reached, role=role)
        return stop

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
            if bp not in self.fatal_bps and bp != self.watch_number:
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
        if self.watch_number is not None and self.watch_number in stop.breakpoints:
            address, mt = self.header
            field = mt.header["oldbuckets"]
            value = decode.read_uint(self.session.read, address + field.offset, field.size)
            before = "nil" if not self.watched_value else "set"
            after = "nil" if not value else "set"
            self.watched_value = value
            by = self._thread_name(stop.thread)
            role = self.session.role_of_thread(self._thread(by, frames=True)) if by else None
            self.emit("watch", change=f"{before} -> {after}", role=role, thread=by)

    # -- recording -----------------------------------------------------------------------------

    def _record_stop(self, number, step, thread):
        info = self._thread(step.thread, frames=True)
        index = self._role_frame(info)
        fields = {"step": number, "thread": step.thread, "wanted": step.target.describe()}
        if index is not None:
            role, fn = self.session.role_at(info.frames[index].pc)
            fields["reached"] = role
            fields["function"] = fn.get("variant") or fn["function"]
            self._find_header(info.number, index)
        if self.header:
            address, mt = self.header
            h, entries = self.session.entries(address, mt)
            fields["map"] = h.summary()
            # What a correct reader finds at this moment (count says what the map believes).
            fields["entries"] = len(entries)
            if step.show_bucket is not None:
                fields["bucket"] = self._bucket_states(h, int(step.show_bucket), step.old)
        self.emit("step", **fields)
        if step.snapshot:
            self._snapshot()
        if self.scenario.watch_oldbuckets and self.watch_number is None and self.header:
            self._watch()

    def _snapshot(self):
        """Where every thread is: its map role and function, or that it is in none."""
        threads = []
        for t in self.adapter.threads(with_frames=True):
            index = self._role_frame(t)
            entry = {"thread": t.name}
            if index is not None:
                role, fn = self.session.role_at(t.frames[index].pc)
                entry.update(role=role, function=fn.get("variant") or fn["function"])
            threads.append(entry)
        self.emit("snapshot", threads=sorted(threads, key=lambda e: e["thread"]))

    def _find_header(self, thread_number, frame_index):
        if self.header is not None:
            return
        var = self.adapter.frame_variable(thread_number, frame_index, "h")
        if var is None:
            return
        address, size, type_name = var
        header = decode.read_uint(self.session.read, address, size)
        if header:
            self.header = (header, self.session.profile.map_type(type_name))

    def _bucket_states(self, header, index, old):
        mt = header.map_type
        array = header.oldbuckets if old else header.buckets
        if not array:
            return None
        chain = decode.read_chain(self.session.read, decode.bucket_address(array, index, mt), mt)
        return {
            "array": "old" if old else "new",
            "index": index,
            "tophash": [s.state or "live" for b in chain for s in b.slots],
        }

    def _record_fatal(self, stop):
        self.fatal = self.session.fatal_report(stop.thread)
        self.emit("fatal", **self.fatal)

    def _watch(self):
        address, mt = self.header
        field = mt.header["oldbuckets"]
        self.watched_value = decode.read_uint(self.session.read, address + field.offset, field.size)
        self.watch_number = self.adapter.set_watchpoint(address + field.offset, field.size)
        self.all_breakpoints.append(self.watch_number)

    # -- threads -------------------------------------------------------------------------------

    def _threads_by_name(self, frames=False):
        return {t.name: t for t in self.adapter.threads(with_frames=frames)}

    def _thread(self, name, frames=False):
        t = self._threads_by_name(frames).get(name)
        if t is None:
            raise ReplayError(f"no thread named {name!r} (is it spawned and named by the fixture?)")
        return t

    def _thread_name(self, number):
        return next((t.name for t in self.adapter.threads() if t.number == number), None)

    def _main_thread(self):
        return min(t.number for t in self.adapter.threads())

    def _role_frame(self, thread):
        """Index of the innermost map role function's own frame in a thread's backtrace.

        Frames of helpers inlined into that function come first and share its code addresses;
        its own frame is the last of that run (the next frame is its caller)."""
        found = function = None
        for index, frame in enumerate(thread.frames):
            hit = self.session.role_at(frame.pc)
            if function is not None:
                if not hit or hit[1] is not function:
                    break
                found = index
            elif hit and hit[0] != "fatal":
                found, function = index, hit[1]
        return found

    def _check_time(self, doing):
        if time.monotonic() > self.deadline:
            raise ReplayError(f"time limit of {self.scenario.time_limit:g} s exceeded while {doing}")


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
