"""Runs, policies, outcomes and the search: :class:`Search` (iterative preemption bounding with
pruning, PCT, random scheduling) over an executor that runs one schedule and returns its
:class:`Run`. Testable without a debugger (tests/model.py is an executor's program)."""

import itertools
import os
import random
import time
import traceback
from collections import deque
from dataclasses import dataclass, field

from ..errors import BadInput, MapscopeError
from .footprints import NOTHING, Footprint, Label, independent

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
