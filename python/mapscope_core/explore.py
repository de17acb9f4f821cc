"""Systematic interleaving search: ``mapscope explore``.

A replay makes a known interleaving certain; explore finds interleavings nobody wrote down. It
takes a scenario without steps (a program, its arguments, its threads) and runs the program
again and again in one debugger session, each time under another *schedule*: which thread runs
at each *point* the profile knows (the entries of the map roles and the probe points). One thread
runs at a time, always to its next point, so every run is deterministic and every schedule is a
list of steps exactly like a scenario's. What fails is written out as a scenario that
``mapscope replay`` passes on every run.

The pieces, each testable without a debugger:

- :class:`Label`, :func:`footprint`: what a point is, and what a thread may touch between two
  points (from the map algorithm: which buckets, the header, the flags, anything). Two steps of
  different threads *commute* when neither writes what the other touches.
- policies: at each point, which thread runs next. :class:`Forced` follows a schedule's choices
  and otherwise lets the current thread go on (bounded search), :class:`PCT` is probabilistic
  concurrency testing with priorities and change points, :class:`RandomWalk` picks at random.
- :class:`Search`: iterative preemption bounding (every schedule with 0, 1, 2, ... preemptions,
  pruning the ones that only move a preemption across commuting steps), PCT and random
  scheduling, under a budget of seconds or schedules; it keeps each distinct failure with its
  shortest schedule.
- :class:`DebuggerExecutor`: runs one schedule through an :class:`~mapscope_core.adapter.Adapter`
  on top of the replay engine (gathering the threads at their gates, fatal reports, the end).
- :func:`scenario_text`, :func:`batch`: the schedule of a failure as a scenario file, checked by
  replaying it once, and the batch entry point's account and exit status.

How the default schedule runs: the current thread goes on until it ends, or until it *waits*
(it comes back to a point it passed without having written to the map since: a spin loop; it
would never end while the others are held), or until it *blocks* (it does not reach a point for
:data:`BLOCK_SECONDS`: a lock another held thread owns). Then the next thread in the scenario's
order runs. Switching away from a thread that could go on is a *preemption*.
"""

import itertools
import json
import math
import os
import random
import re
import tempfile
import threading
import time
import traceback
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from . import scenario as scenarios
from . import transcript
from .adapter import Site
from .errors import BadInput, MapscopeError, guarded
from .replay import INTERRUPTS, Engine, ReplayError, start_quietly

#: A thread that does not reach a point in this long is taken as blocked.
BLOCK_SECONDS = 1.0
#: Points one run may pass before it counts as a hang (a livelock).
MAX_EVENTS = 20000
#: The last line of a batch explore's output: its exit status.
EXPLORE_STATUS = "explore exit status: "
#: Lines of progress start with this (``mapscope explore`` shows them on stderr).
PROGRESS = "explore progress: "
#: Outcome kinds, in the order the account lists failures of one search.
FAILURE_KINDS = ("fatal", "wrong", "crash", "hang")


# -- points and what happens between them ---------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A point a thread stopped at: ``kind`` is ``role`` or ``probe`` (``name`` the role or
    probe), or how it ended: ``fatal``, ``exit`` (it ended the program), ``thread-exit``,
    ``signal`` (``name`` the signal). ``role`` is the role whose code the point is in; ``bucket``
    the role's bucket parameter there (grow_work's ``bucket``, evacuate's ``oldbucket``)."""

    kind: str
    name: str
    role: str = ""
    bucket: object = None

    @property
    def key(self):
        """What a step's breakpoints match: kind, name and bucket (not the role)."""
        return (self.kind, self.name, self.bucket)

    @property
    def until(self):
        """The step target that stops here."""
        if self.kind in ("role", "probe"):
            return f"{self.kind} {self.name}"
        return "fatal" if self.kind == "fatal" else "exit"

    def describe(self):
        if self.kind not in ("role", "probe"):
            return f"{self.kind} {self.name}".strip()
        text = f"{self.kind} {self.name}"
        return text + (f" (bucket {self.bucket})" if self.bucket is not None else "")


@dataclass(frozen=True)
class Footprint:
    """What a thread may read and write between two of its points. Objects: ``flags``,
    ``header`` (B, bucket arrays, growth progress, count), ``alloc`` (overflow allocation),
    ``old:N`` (old bucket N and the new buckets it evacuates into), ``program`` (the program's
    own code and data), ``*`` (anything)."""

    reads: frozenset = frozenset()
    writes: frozenset = frozenset()

    def __or__(self, other):
        return Footprint(self.reads | other.reads, self.writes | other.writes)

    def conflicts(self, other):
        """Whether the two may not be swapped: one writes what the other reads or writes."""
        return _overlap(self.writes, other.reads | other.writes) or _overlap(other.writes, self.reads)

    @property
    def writes_map(self):
        return bool(self.writes - {"program"})


def _overlap(a, b):
    return bool(a and b and ("*" in a or "*" in b or a & b))


def _fp(reads=(), writes=()):
    return Footprint(frozenset(reads), frozenset(writes))


EVERYTHING = _fp(["*"], ["*"])
NOTHING = Footprint()
_EVACUATE_STEPS = ("evacuate-start", "evacuate-marked", "evacuate-copied")


def footprint(before, after, precise=True):
    """What a thread touches from point ``before`` (None: its gate) to point ``after``, from
    the map algorithm (Go 1.19's, which gomap follows). Anything not known exactly is
    :data:`EVERYTHING`. ``precise`` is False when not every role entry and probe is a point:
    then a thread may pass calls unseen, and nothing is known exactly."""
    if not precise:
        return EVERYTHING
    a, b = before, after
    if a is None:
        # From the gate to the first map call: the program's code, then the role's prologue.
        # Code outside the roles reaches the buckets only through a role; it may read the
        # header (len, Go's inlined len(m)).
        return _fp(["header", "flags", "program"], ["program"]) if b.kind == "role" else EVERYTHING
    if b.kind == "fatal":
        # A misuse check failed: it read the flags since the last point.
        if a.kind == "role" and a.name in ("assign", "access", "delete", "iterate"):
            return _fp(["flags", "header"])
        return EVERYTHING
    if a.role == "evacuate" and b.role == "evacuate" and a.bucket is not None:
        old = f"old:{a.bucket}"
        if b.kind == "probe" and b.name in _EVACUATE_STEPS and b.bucket == a.bucket:
            # Inside one evacuation (a new call would have passed the role's entry point).
            if b.name == "evacuate-start":
                return _fp(["header", old])
            if b.name == "evacuate-marked":
                return _fp(["header", "flags", old], [old])
            return _fp(["header", old], [old, "alloc"])
        if b.kind == "role" and b.name == "evacuate" and b.bucket is not None:
            # The rest of one evacuation (clearing the old bucket), back in grow_work, the next.
            return _fp(["header", old, f"old:{b.bucket}"], [old])
    if a.role == "evacuate" and a.bucket is not None and b.kind == "role" and b.name == "advance_evacuation_mark":
        return _fp(["header", f"old:{a.bucket}"], [f"old:{a.bucket}"])
    if a.role in ("access", "iterate") and b.kind == "role" and b.name in ("access", "iterate"):
        # The rest of a read (readers never write the map), the program's code, the next read.
        return _fp(["*"], ["program"])
    pair = (a.kind, a.name, b.kind, b.name)
    known = {
        ("role", "grow_work", "role", "evacuate"): _fp(["header"]),
        ("role", "advance_evacuation_mark", "probe", "grow-finished"): _fp(["header"], ["header"]),
        ("role", "advance_evacuation_mark", "role", "evacuate"): _fp(["header"], ["header"]),
        ("role", "hash_grow", "probe", "grow-started"): _fp(["header", "flags"], ["header", "flags"]),
        ("probe", "grow-started", "role", "grow_work"): _fp(["header"], ["header", "alloc"]),
        ("role", "assign", "probe", "writer-entry-checked"): _fp(["flags", "header"]),
        ("probe", "writer-entry-checked", "probe", "writer-set-writing"): _fp(["flags"], ["flags"]),
        ("probe", "writer-set-writing", "role", "grow_work"): _fp(["header"]),
        ("role", "access", "probe", "reader-entry-checked"): _fp(["flags", "header"]),
        ("role", "iterate", "probe", "iter-entry-checked"): _fp(["flags", "header"]),
    }
    return known.get(pair, EVERYTHING)


def independent(step, block):
    """Whether a step commutes with a block of other threads' steps."""
    return not step.conflicts(block)


# -- runs ---------------------------------------------------------------------------------------


@dataclass
class Event:
    """Thread ``thread`` reached ``label`` (``labels``: the keys of every point there), having
    touched ``footprint`` since its previous point."""

    index: int  # 1-based, in the run
    thread: str
    label: Label
    labels: frozenset
    footprint: Footprint


@dataclass
class Point:
    """A scheduling point: the ``index``-th decision of a run (after ``events`` events), who
    ran last and whether it could go on, and which thread was chosen. ``event`` is what the
    chosen thread did next (None when it blocked)."""

    index: int
    current: object  # thread name or None (before the first event)
    current_state: object  # "running", "waiting", "blocked", "ended" or None
    enabled: tuple  # threads that can run, in the scenario's order
    events: int = 0
    current_label: object = None  # where the current thread stands
    chosen: str = ""
    event: object = None

    @property
    def preemptive(self):
        """Whether running another thread here preempts the current one."""
        return self.current_state == "running"


@dataclass
class Outcome:
    """How a run ended: ``kind`` one of "fatal", "wrong", "crash", "hang", "clean"."""

    kind: str
    summary: str
    key: tuple

    @property
    def failed(self):
        return self.kind != "clean"


@dataclass
class Run:
    """One schedule carried out."""

    events: list = field(default_factory=list)
    points: list = field(default_factory=list)
    outcome: object = None
    output: list = field(default_factory=list)
    exit_status: object = None
    fatal: object = None
    #: The function that called the fatal report (an inlined check such as writer_done tells
    #: the end check from the entry check), by its short name.
    fatal_site: str = ""
    diverged: bool = False  # a forced choice named a thread that could not run there

    def steps(self):
        """The run as scenario steps: each stretch of one thread becomes 'thread until the
        point it stopped at', repeated as often as that point's breakpoints were hit on the
        way (a step stops at the first hit)."""
        steps, stretch = [], []
        for event in self.events:
            if stretch and stretch[-1].thread != event.thread:
                steps += _stretch_steps(stretch)
                stretch = []
            stretch.append(event)
        if stretch:
            steps += _stretch_steps(stretch)
        return steps

    def preemptions(self):
        return sum(1 for p in self.points if p.preemptive and p.chosen != p.current)


def _stretch_steps(stretch):
    last = stretch[-1].label
    step = {"thread": stretch[-1].thread, "until": last.until}
    if last.kind in ("role", "probe") and last.bucket is not None:
        step["bucket"] = last.bucket
        if last.role == "evacuate":
            step["show_bucket"] = last.bucket
    if last.kind not in ("role", "probe"):
        return [step]
    hits = sum(1 for e in stretch if last.key in e.labels)
    return [dict(step) for _ in range(hits)]


# -- policies -----------------------------------------------------------------------------------


def default_choice(point, order):
    """The current thread while it can go on; else the next enabled one in ``order``."""
    if point.current_state == "running" and point.current in point.enabled:
        return point.current
    if point.current in order:
        start = order.index(point.current) + 1
        for name in order[start:] + order[:start]:
            if name in point.enabled and name != point.current:
                return name
    return point.enabled[0]


class Forced:
    """A bounded-search schedule: ``choices`` maps a point index to the thread that runs
    there; elsewhere the default."""

    def __init__(self, choices, order):
        self.choices, self.order = dict(choices), list(order)
        self.diverged = False

    def choose(self, point):
        wanted = self.choices.get(point.index)
        if wanted is not None:
            if wanted in point.enabled:
                return wanted
            self.diverged = True
        return default_choice(point, self.order)


class PCT:
    """Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): each thread gets a
    random priority of at least ``depth``; ``depth - 1`` change points, chosen at random among
    the first ``length`` points, each lower the running thread's priority below every initial
    one; the enabled thread of highest priority runs. A thread that waits is lowered below all
    (it would only spin)."""

    def __init__(self, order, depth, length, rng):
        ranks = list(range(depth, depth + len(order)))
        rng.shuffle(ranks)
        self.priority = dict(zip(order, ranks, strict=True))
        picks = rng.sample(range(1, max(length, depth) + 1), depth - 1)
        self.changes = {index: depth - 1 - j for j, index in enumerate(picks)}
        self.lowest = 0
        self.diverged = False

    def choose(self, point):
        current = point.current
        if current is not None and point.index in self.changes:
            self.priority[current] = self.changes[point.index]
        if point.current_state in ("waiting", "blocked"):
            self.lowest -= 1
            self.priority[current] = self.lowest
        return max(point.enabled, key=lambda name: self.priority[name])


class RandomWalk:
    """Random scheduling: at every point, any enabled thread (a waiting one only when it is
    the only one)."""

    def __init__(self, order, rng):
        self.rng = rng
        self.diverged = False

    def choose(self, point):
        choices = list(point.enabled)
        if point.current_state == "waiting" and len(choices) > 1:
            choices.remove(point.current)
        return self.rng.choice(choices)


# -- outcomes -----------------------------------------------------------------------------------


def classify(run, clean_exit=0, failure_output=(), baseline=()):
    """The :class:`Outcome` of a run: a fatal report wins, then a crash, a hang, then a wrong
    result (an exit status other than ``clean_exit``, or an output line that starts with one of
    ``failure_output``), else clean. A wrong result is told apart by its exit status and its
    first output line not in ``baseline`` (the output of a clean run)."""
    if run.outcome is not None and run.outcome.kind in ("crash", "hang"):
        return run.outcome
    if run.fatal:
        f = run.fatal
        others = tuple((o["thread"], o["role"]) for o in f["others"])
        site = run.fatal_site
        text = f"fatal error: {f['message']}, detected by {f['thread']} in {f['role']}"
        if site and site != f["role"]:
            text += f" ({site})"
        if others:
            text += "; meanwhile " + ", ".join(f"{t} in {r}" for t, r in others)
        return Outcome("fatal", text, ("fatal", f["message"], f["thread"], f["role"], site, others))
    flagged = [line for line in run.output if any(line.startswith(p) for p in failure_output)]
    if run.exit_status != clean_exit or flagged:
        novel = flagged or [line for line in run.output if line not in baseline] or run.output[-1:]
        line = novel[0] if novel else ""
        text = f"wrong result: exit status {run.exit_status}" + (f": {line}" if line else "")
        return Outcome("wrong", text, ("wrong", run.exit_status, line))
    return Outcome("clean", "clean", ("clean",))


def fatal_expectations(run):
    """The [expect] table that says a run's failure happened."""
    kind = run.outcome.kind
    expect = {}
    if kind == "fatal":
        f = run.fatal
        expect = {"fatal": f["message"], "fatal_thread": f["thread"]}
        expect["threads_in_roles"] = [o["thread"] for o in f["others"]]
    elif kind == "wrong":
        expect = {"fatal": False}
        if run.outcome.key[2]:
            expect["output"] = run.outcome.key[2]
    elif kind == "crash":
        expect = {"fatal": False}
    if isinstance(run.exit_status, int) and not isinstance(run.exit_status, bool) and kind != "crash":
        expect["exit"] = run.exit_status
    return expect


# -- the search ---------------------------------------------------------------------------------


@dataclass
class Failure:
    """A distinct failure: when it was first found, how often, and its shortest schedule."""

    outcome: Outcome
    first_schedule: int
    first_seconds: float
    strategy: str
    count: int = 0
    run: object = None  # the shortest run so far
    preemptions: int = 0
    steps: int = 0


@dataclass
class _Schedule:
    """A node of the bounded search: the forced choices, what they cost, and its place among
    its parent's children (for pruning)."""

    choices: tuple
    preemptions: int
    parent: object = None  # the parent's _Node, None for a root
    index: int = 0  # the point of the last choice
    thread: str = ""


@dataclass
class _Node:
    """An executed schedule, as a parent: its run and the representatives of its children."""

    run: Run
    schedule: _Schedule
    # thread U -> (index i, footprint of the block after the switch, whether the preempted
    # thread never ran again, the choices of the child that was run): the last child (i, U)
    # that was run, or pruned as the same run as an earlier one whose block this is.
    blocks: dict = field(default_factory=dict)


class BudgetSpent(Exception):
    pass


class Search:
    """Runs schedules through ``execute(policy) -> Run`` and collects failures."""

    def __init__(
        self,
        execute,
        threads,
        seconds=None,
        schedules=None,
        until=None,
        progress=None,
        clock=time.monotonic,
        clean_exit=0,
        failure_output=(),
        prune=True,
    ):
        self.execute, self.order = execute, list(threads)
        self.prune = prune
        #: (pruned schedule's choices, the choices of the schedule it is the same run as)
        self.pruned_log = []
        self.budget_seconds, self.budget_schedules = seconds, schedules
        self.until = [until] if isinstance(until, str) else list(until or [])
        self.progress = progress
        self.clock = clock
        self.clean_exit, self.failure_output = clean_exit, tuple(failure_output)
        self.start = clock()
        self.failures = {}  # outcome key -> Failure, in the order found
        self.schedules = 0
        self.pruned = 0
        self.diverged = 0
        self.errors = []  # messages of schedules the debugger could not carry out
        self.per_bound = {}  # preemption bound -> [run, pruned]
        self.complete = False  # the whole space (up to the bound) was searched
        self.stopped = ""  # why the search ended early
        self.baseline = None  # output of the first clean run
        self.longest = 0  # most events in one run
        self._last_progress = -1.0

    # -- bookkeeping ---------------------------------------------------------------------------

    def elapsed(self):
        return self.clock() - self.start

    def _check_budget(self):
        for text in self.until:
            if any(text in f.outcome.summary for f in self.failures.values()):
                self.stopped = f"found {text!r}"
                raise BudgetSpent
        if self.budget_schedules is not None and self.schedules >= self.budget_schedules:
            self.stopped = f"budget of {self.budget_schedules} schedules spent"
            raise BudgetSpent
        if self.budget_seconds is not None and self.elapsed() >= self.budget_seconds:
            self.stopped = f"budget of {self.budget_seconds:g} s spent"
            raise BudgetSpent

    def _run(self, policy, strategy, preemptions=None):
        self._check_budget()
        try:
            run = self.execute(policy)
        except BadInput:
            raise
        except MapscopeError as e:
            # The debugger failed on this schedule (it happens, rarely, when a program ends
            # while the debugger continues it): count it, and go on with the others.
            if self.schedules == 0:
                raise
            if os.environ.get("MAPSCOPE_DEBUG"):
                traceback.print_exc()
            self.errors.append(str(e))
            run = Run(outcome=Outcome("clean", "not run", ("error",)))
            self.schedules += 1
            self._report()
            return run
        self.schedules += 1
        self.longest = max(self.longest, len(run.events))
        run.diverged = run.diverged or getattr(policy, "diverged", False)
        if run.diverged:
            self.diverged += 1
        if self.baseline is None and not run.fatal and run.exit_status == self.clean_exit and not run.outcome:
            self.baseline = tuple(run.output)
        run.outcome = classify(run, self.clean_exit, self.failure_output, self.baseline or ())
        cost = run.preemptions() if preemptions is None else preemptions
        if run.outcome.failed:
            self._note(run, strategy, cost)
        self._report()
        return run

    def _note(self, run, strategy, preemptions):
        key = run.outcome.key
        steps = len(run.steps())
        found = self.failures.get(key)
        if found is None:
            found = self.failures[key] = Failure(run.outcome, self.schedules, self.elapsed(), strategy)
        found.count += 1
        if found.run is None or (preemptions, steps) < (found.preemptions, found.steps):
            found.run, found.preemptions, found.steps = run, preemptions, steps

    def _report(self, force=False):
        if self.progress is None:
            return
        now = self.elapsed()
        if not force and now - self._last_progress < 0.5:
            return
        self._last_progress = now
        self.progress(self.status())

    def status(self):
        """The progress line."""
        now = self.elapsed()
        rate = self.schedules / now if now > 0 else 0.0
        text = f"{self.schedules} schedules ({rate:.1f}/s)"
        if self.pruned:
            text += f", {self.pruned} pruned"
        text += f", {len(self.failures)} failure{'' if len(self.failures) == 1 else 's'}"
        if self.budget_seconds is not None:
            text += f", {max(0.0, self.budget_seconds - now):.0f} s left"
        if self.budget_schedules is not None:
            text += f", {max(0, self.budget_schedules - self.schedules)} schedules left"
        return text

    # -- strategies ----------------------------------------------------------------------------

    def bounded(self, bound):
        """Iterative preemption bounding: every schedule with 0 preemptions, then 1, ... up to
        ``bound``, each run once; a schedule that only moves a preemption past steps that
        commute with what the other threads then do is pruned."""
        queues = {b: deque() for b in range(bound + 1)}
        for name in self.order:
            queues[0].append(_Schedule(((0, name),), 0, None, 0, name))
        try:
            for b in range(bound + 1):
                self.bound = b
                counts = self.per_bound.setdefault(b, [0, 0])
                queue = queues[b]
                while queue:
                    s = queue.popleft()
                    if self.prune and self._prunable(s):
                        self.pruned += 1
                        counts[1] += 1
                        continue
                    run = self._run(Forced(s.choices, self.order), "bounded", s.preemptions)
                    counts[0] += 1
                    node = _Node(run, s)
                    self._represent(s, run)
                    for child in self._children(node, bound):
                        queues[child.preemptions].append(child)
            self.complete = True
        except BudgetSpent:
            pass
        self._report(force=True)

    def _children(self, node, bound):
        s, run = node.schedule, node.run
        for point in run.points:
            if point.index <= s.index:
                continue
            for name in point.enabled:
                if name == point.chosen or (name == point.current and point.current_state == "waiting"):
                    continue
                cost = s.preemptions + (1 if point.preemptive and name != point.current else 0)
                if cost <= bound:
                    yield _Schedule(s.choices + ((point.index, name),), cost, node, point.index, name)

    def _prunable(self, s):
        """Whether schedule ``s`` (switch to U at point p+1) is its sibling's (switch to U at
        point p) with the preempted thread's next step moved past the block of steps that
        followed the switch, a step that commutes with all of that block: then both runs are
        the same run."""
        parent = s.parent
        if parent is None:
            return False
        rep = parent.blocks.get(s.thread)
        points = parent.run.points
        p = s.index - 1
        if rep is None or rep[0] != p or s.index >= len(points):
            return False
        _, block, terminal, same = rep
        at, then = points[p], points[s.index]
        step = at.event
        if not (at.preemptive and then.preemptive and at.chosen == at.current == then.current):
            return False
        if step is None or step.thread != at.current or step.label.kind not in ("role", "probe"):
            return False
        if not independent(step.footprint, block):
            return False
        if terminal and (at.current_label is None or step.label.role != at.current_label.role):
            return False  # the failure would name the preempted thread in another role
        parent.blocks[s.thread] = (s.index, block, terminal, same)
        self.pruned_log.append((s.choices, same))
        return True

    def _represent(self, s, run):
        """Remembers, for the siblings of ``s``, what the other threads did after its switch
        up to the preempted thread's next step (all of the rest: ``terminal``)."""
        parent = s.parent
        if parent is None or s.index >= len(run.points):
            return
        point = run.points[s.index]
        if not point.preemptive:
            return
        block, terminal = NOTHING, True
        for q in run.points[s.index :]:
            if q.event is None:
                continue
            if q.event.thread == point.current:
                terminal = False
                break
            block = block | q.event.footprint
        parent.blocks[s.thread] = (s.index, block, terminal, s.choices)

    def pct(self, depth, seed):
        """PCT with ``depth`` (``depth - 1`` change points), schedule i seeded with
        ``(seed, i)``: the same seed gives the same schedules."""
        try:
            length = 0
            for i in itertools.count(1):
                rng = random.Random(f"pct:{seed}:{i}")
                self._run(PCT(self.order, depth, length or 64, rng), "pct")
                length = max(length, self.longest)
        except BudgetSpent:
            pass
        self._report(force=True)

    def random_walk(self, seed):
        """Random scheduling, schedule i seeded with ``(seed, i)``."""
        try:
            for i in itertools.count(1):
                self._run(RandomWalk(self.order, random.Random(f"random:{seed}:{i}")), "random")
        except BudgetSpent:
            pass
        self._report(force=True)

    def found(self):
        """The distinct failures, hangs last, in the order they were found."""
        found = list(self.failures.values())
        return sorted(found, key=lambda f: (f.outcome.kind == "hang", f.first_schedule))


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

    def __init__(self, target, scen, gate, fatal_bps, others):
        super().__init__(target)
        self.scenario = scen
        self.events = []
        self.deadline = time.monotonic() + scen.time_limit
        self.exit_status = None
        self.fatal = None
        self.watch = None
        self.header = None
        self.gate, self.fatal_bps = gate, set(fatal_bps)
        self.all_breakpoints = [gate, *others]


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
        self.points = {}  # breakpoint number -> (kind, name, role, bucket parameter names or ())
        self.breakpoints = []
        try:
            self.gate = adapter.set_breakpoint(Site(0, scen.gate, 0, at_entry=True))
            self.breakpoints.append(self.gate)
            self.fatal_bps = {adapter.set_breakpoint(site) for site, _ in target.role_sites("fatal")}
            self.breakpoints += sorted(self.fatal_bps)
            for kind, name in targets:
                sites = target.role_sites(name) if kind == "role" else target.probe_sites(name)
                every = all(fn.param("oldbucket", "bucket") for _, fn in sites)
                for site, fn in sites:
                    number = adapter.set_breakpoint(site)
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
        engine = _RunEngine(self.target, scen, self.gate, self.fatal_bps, others)
        self.engine = engine
        self.calls = {}  # thread number -> (role, bucket) of the last role entry it passed
        self.fatal_site = ""
        run = Run()
        self.target.replaying = True
        for number in others:
            adapter.enable_breakpoint(number, False)
        adapter.enable_breakpoint(self.gate, True)
        if os.path.exists(self.stdout):
            os.unlink(self.stdout)
        try:
            stop = adapter.launch(scen.args, dict(scen.env, MAPSCOPE_REPLAY="1"), self.stdout)
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
        numbers = {t.name: t.number for t in adapter.threads() if t.name in order}
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
            what, labels, stop = self._advance(numbers[chosen], min(self.block_seconds, left), engine)
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

    def _advance(self, number, seconds, engine):
        """Runs thread ``number`` alone to its next point: ``(what, labels, stop)``."""
        adapter = self.adapter
        for _ in range(1000):
            self.interrupter.arm(seconds)
            try:
                stop = adapter.resume(number)
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
                found = None
                for t in self.adapter.threads(with_frames=True):
                    if t.number == number:
                        found = self.target.role_frame(t)
                if found is not None:
                    values = (self.target.frame_uint(number, found[0], p) for p in params)
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


# -- writing what failed --------------------------------------------------------------------------


def _toml(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def scenario_text(scen, steps, expect, description):
    """A scenario file for ``steps`` of the explore input ``scen``."""
    lines = ['description = """', description.strip(), '"""']
    lines.append(f"fixture = {_toml(scen.fixture)}")
    lines.append(f"args = {_toml(scen.args)}")
    lines.append(f"threads = {_toml(scen.threads)}")
    if scen.gate != "fixtures::StartLine::wait":
        lines.append(f"gate = {_toml(scen.gate)}")
    lines.append(
        f"time_limit = {_toml(scen.time_limit if scen.time_limit != int(scen.time_limit) else int(scen.time_limit))}"
    )
    if scen.env:
        lines.append(f"env = {_toml(scen.env)}")
    for step in steps:
        lines += ["", "[[step]]"] + [f"{k} = {_toml(v)}" for k, v in step.items()]
    if expect:
        lines += ["", "[expect]"] + [f"{k} = {_toml(v)}" for k, v in expect.items()]
    return "\n".join(lines) + "\n"


def _snapshot_steps(run, steps):
    """Marks the steps after which the schedule preempts a thread: a snapshot there shows
    where every thread was."""
    # Steps follow stretches; a stretch ends at a point where the next thread was chosen: the
    # point after as many events as the stretch's last one is numbered.
    preempted = {p.events for p in run.points if p.preemptive and p.chosen != p.current}
    ends, count = [], 0
    stretch_thread = None
    for event in run.events:
        if stretch_thread is not None and event.thread != stretch_thread:
            ends.append(count)
        stretch_thread = event.thread
        count = event.index
    ends.append(count)
    out, i = [], 0
    for step_list in _group(steps):
        end = ends[i] if i < len(ends) else None
        if end in preempted:
            step_list[-1]["snapshot"] = True
        out += step_list
        i += 1
    return out


def _group(steps):
    """Steps grouped by stretch (consecutive steps of one thread)."""
    groups = []
    for step in steps:
        if groups and groups[-1][-1]["thread"] == step["thread"]:
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def write_failures(target, scen, failures, directory, verify=True):
    """Writes each failure's shortest schedule as ``DIR/<name>-<n>.toml`` with its expected
    transcript, after replaying it once here; returns ``[(failure, path or None, note)]``."""
    out = []
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise MapscopeError(f"cannot create {directory}: {e.strerror}") from None
    for n, failure in enumerate(failures, start=1):
        if failure.outcome.kind == "hang":
            out.append((failure, None, "a hang is not written as a scenario (a replay would only time out)"))
            continue
        run = failure.run
        steps = _snapshot_steps(run, run.steps())
        description = (
            f"Found by mapscope explore ({failure.strategy} search, schedule {failure.first_schedule}), "
            f"{failure.preemptions} preemption{'' if failure.preemptions == 1 else 's'}:\n{failure.outcome.summary}"
        )
        text = scenario_text(scen, steps, fatal_expectations(run), description)
        path = directory / f"{scen.name}-{n}.toml"
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as e:
            raise MapscopeError(f"cannot write {path}: {e.strerror}") from None
        if not verify:
            out.append((failure, path, "not replayed"))
            continue
        written = scenarios.load(path)
        try:
            events = Engine(target).run(written)
        except MapscopeError as e:
            path.unlink()
            out.append((failure, None, f"its schedule did not replay: {e}"))
            continue
        if events[-1]["result"] != "pass":
            path.unlink()
            out.append((failure, None, "its schedule did not replay: " + "; ".join(events[-1]["failures"])))
            continue
        transcript.write(transcript.expected_path(path), events)
        out.append((failure, path, "replayed"))
    return out


# -- the batch entry point ------------------------------------------------------------------------


@dataclass
class Options:
    """What ``mapscope explore`` asks for (passed as JSON by the front door)."""

    strategy: str = "bounded"  # "bounded", "pct" or "random"
    bound: int = 3
    depth: int = 3
    seed: int = 1
    seconds: object = 60.0
    schedules: object = None
    write: object = None  # directory
    until: object = None  # a text, or a list of texts: stop when a failure mentions one
    json: object = None  # file for the machine-readable result

    @classmethod
    def parse(cls, text):
        try:
            data = json.loads(text) if text else {}
        except ValueError as e:
            raise BadInput(f"explore options are not JSON: {e}") from None
        if not isinstance(data, dict):
            raise BadInput("explore options must be a JSON object")
        o = cls()
        for key, value in data.items():
            if not hasattr(o, key):
                raise BadInput(f"unknown explore option {key!r}")
            setattr(o, key, value)
        if o.strategy not in ("bounded", "pct", "random"):
            raise BadInput(f"strategy must be bounded, pct or random, not {o.strategy!r}")
        for name, low in (("bound", 0), ("depth", 1), ("seed", 0)):
            value = getattr(o, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise BadInput(f"{name} must be a whole number of at least {low}, not {value!r}")
        if o.seconds is not None and (
            not isinstance(o.seconds, (int, float)) or not math.isfinite(o.seconds) or o.seconds <= 0
        ):
            raise BadInput(f"the budget must be a positive number of seconds, not {o.seconds!r}")
        if o.schedules is not None and (not isinstance(o.schedules, int) or o.schedules <= 0):
            raise BadInput(f"the budget must be a positive number of schedules, not {o.schedules!r}")
        if o.until is not None and not (
            isinstance(o.until, str) or (isinstance(o.until, list) and all(isinstance(t, str) for t in o.until))
        ):
            raise BadInput(f"until must be a text or a list of texts, not {o.until!r}")
        return o


def parse_budget(text):
    """``60s``, ``2m``, ``1.5h`` (seconds) or ``500`` (schedules): ``(seconds, schedules)``."""
    t = str(text).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(s|m|h)", t)
    if m:
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
        if seconds > 0:
            return seconds, None
    elif re.fullmatch(r"\d+", t) and int(t) > 0:
        return None, int(t)
    raise BadInput(f"a budget is seconds (60s, 2m) or a number of schedules (500), not {text!r}")


def strategy_text(o):
    if o.strategy == "bounded":
        return f"iterative preemption bounding up to {o.bound} preemption{'' if o.bound == 1 else 's'}"
    if o.strategy == "pct":
        return f"PCT, depth {o.depth}, seed {o.seed}"
    return f"random scheduling, seed {o.seed}"


def explore(target, scenario_path, options, progress=None):
    """Searches the scenario at ``scenario_path``: ``(search, written, scen)``."""
    scen = scenarios.load(scenario_path)
    if scen.steps:
        raise BadInput(
            f"scenario {scen.name} has steps: explore searches schedules for a scenario without any "
            "(its fixture, args and threads); replay runs one with steps"
        )
    adapter = target.adapter
    binary = adapter.executable()
    if not binary:
        binary = scenarios.find_fixture(scen)
        adapter.load_program(binary)
    if scenarios.program_name(binary) != scen.fixture:
        raise BadInput(f"scenario {scen.name} runs {scen.fixture}, but the debugger has {binary}")
    target.require_profile()
    executor = DebuggerExecutor(target, scen)
    search = Search(
        executor,
        scen.threads,
        seconds=options.seconds,
        schedules=options.schedules,
        until=options.until,
        progress=progress,
        clean_exit=scen.explore.get("clean_exit", 0),
        failure_output=scen.explore.get("failure_output", ()),
    )
    try:
        if options.strategy == "bounded":
            search.bounded(options.bound)
        elif options.strategy == "pct":
            search.pct(options.depth, options.seed)
        else:
            search.random_walk(options.seed)
    finally:
        executor.close()
    written = []
    failures = [f for f in search.found()]
    if options.write and failures:
        written = write_failures(target, scen, failures, options.write)
    return search, written, scen


def account(scen, options, search, written, debugger):
    """The readable account of a search."""
    lines = [
        f"explore of {scen.fixture} {' '.join(scen.args)}: threads {', '.join(scen.threads)} ({debugger})".replace(
            "  ", " "
        ),
        f"  strategy: {strategy_text(options)}",
    ]
    if search.per_bound:
        per = ", ".join(
            f"{b}: {run}" + (f" (+{pruned} pruned)" if pruned else "") for b, (run, pruned) in search.per_bound.items()
        )
        lines.append(f"  schedules by preemptions: {per}")
    rate = search.schedules / search.elapsed() if search.elapsed() > 0 else 0
    end = "search complete" if search.complete else (search.stopped or "stopped")
    lines.append(
        f"  {search.schedules} schedules run, {search.pruned} pruned, in {search.elapsed():.1f} s "
        f"({rate:.1f}/s), up to {search.longest} points each; {end}"
    )
    if search.errors:
        lines.append(f"  warning: the debugger failed on {len(search.errors)} schedules: {search.errors[0]}")
    if search.diverged:
        lines.append(
            f"  warning: {search.diverged} runs did not follow their schedule (the program is not deterministic)"
        )
    found = search.found()
    notes = {id(f): (path, note) for f, path, note in written}
    if not found:
        lines.append("no failure found")
    else:
        lines.append(f"failures: {len(found)}")
    for n, f in enumerate(found, start=1):
        lines.append(f"  {n}. {f.outcome.summary}")
        lines.append(
            f"     first found by schedule {f.first_schedule} after {f.first_seconds:.1f} s; seen {f.count} "
            f"time{'' if f.count == 1 else 's'}"
        )
        if f.outcome.kind != "hang":
            steps = f.run.steps()
            text = ", ".join(
                f"{s['thread']} until {s['until']}" + (f" ({s['bucket']})" if "bucket" in s else "") for s in steps
            )
            lines.append(
                f"     shortest schedule: {f.preemptions} preemption{'' if f.preemptions == 1 else 's'}, "
                f"{len(steps)} steps: {text}"
            )
        if id(f) in notes:
            path, note = notes[id(f)]
            lines.append(f"     written: {path} ({note})" if path else f"     not written: {note}")
    return "\n".join(lines)


def result_json(scen, options, search, written):
    notes = {id(f): (path, note) for f, path, note in written}
    return {
        "scenario": scen.path,
        "strategy": options.strategy,
        "bound": options.bound if options.strategy == "bounded" else None,
        "depth": options.depth if options.strategy == "pct" else None,
        "seed": options.seed if options.strategy != "bounded" else None,
        "schedules": search.schedules,
        "pruned": search.pruned,
        "seconds": round(search.elapsed(), 3),
        "complete": search.complete,
        "stopped": search.stopped,
        "longest": search.longest,
        "per_bound": {str(b): {"run": r, "pruned": p} for b, (r, p) in search.per_bound.items()},
        "failures": [
            {
                "kind": f.outcome.kind,
                "summary": f.outcome.summary,
                "first_schedule": f.first_schedule,
                "first_seconds": round(f.first_seconds, 3),
                "count": f.count,
                "preemptions": f.preemptions,
                "steps": f.steps,
                "scenario": str(notes[id(f)][0]) if id(f) in notes and notes[id(f)][0] else None,
            }
            for f in search.found()
        ],
    }


def batch(target, scenario_path, options_text="{}", debugger="", out=print):
    """The batch entry point's logic: ``(exit status, account)``; the status is 0 (the search
    ended and found nothing), 1 (it found failures) or 2 (bad input), also stated on the last
    line of the account. Progress lines go to ``out`` while it runs."""

    def progress(line):
        out(PROGRESS + line)

    try:
        options = Options.parse(options_text)
        search, written, scen = guarded(explore, target, scenario_path, options, progress)
        text = account(scen, options, search, written, debugger)
        if options.json:
            try:
                Path(options.json).write_text(json.dumps(result_json(scen, options, search, written), indent=2) + "\n")
            except OSError as e:
                raise MapscopeError(f"cannot write {options.json}: {e.strerror}") from None
        status = 1 if search.failures else 0
    except BadInput as e:
        status, text = 2, f"explore refused: {e}"
    except MapscopeError as e:
        status, text = 2, f"explore failed: {e}"
    return status, f"{text}\n{EXPLORE_STATUS}{status}"
