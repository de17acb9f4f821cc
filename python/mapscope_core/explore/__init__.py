"""Systematic interleaving search: ``mapscope explore``.

A replay makes a known interleaving certain; explore finds interleavings nobody wrote down. It
takes a scenario without steps (a program, its arguments, its threads) and runs the program
again and again in one debugger session, each time under another *schedule*: which thread runs
at each *point* the profile knows (the entries of the map roles and the probe points). One thread
runs at a time, always to its next point, so every run is deterministic and every schedule is a
list of steps exactly like a scenario's. What fails is written out as a scenario that
``mapscope replay`` passes on every run.

The package, one module per piece; all but the executor are testable without a debugger:

- :mod:`.footprints`: :class:`Label`, :func:`footprint`: what a point is, and what a thread may
  touch between two points (from the map algorithm: which buckets, the header, the flags,
  anything). Two steps of different threads *commute* when neither writes what the other
  touches.
- :mod:`.search`: runs and their outcomes (:func:`classify`); policies, which thread runs next
  at each point (:class:`Forced` follows a schedule's choices and otherwise lets the current
  thread go on, :class:`PCT` is probabilistic concurrency testing with priorities and change
  points, :class:`RandomWalk` picks at random); and :class:`Search`: iterative preemption
  bounding (every schedule with 0, 1, 2, ... preemptions, pruning the ones that only move a
  preemption across commuting steps), PCT and random scheduling, under a budget of seconds or
  schedules, keeping each distinct failure with its shortest schedule.
- :mod:`.executor`: :class:`DebuggerExecutor` runs one schedule through an
  :class:`~mapscope_core.adapter.Adapter` on top of the replay engine (gathering the threads at
  their gates, fatal reports, the end).
- :mod:`.output`: :func:`write_failures`: the schedule of a failure as a scenario file, checked
  by replaying it once.
- :mod:`.batch`: :func:`batch`, the entry point of ``mapscope explore``: options, the search of
  one scenario file, its account and exit status.

How the default schedule runs: the current thread goes on until it ends, or until it *waits*
(it comes back to a point it passed without having written to the map since: a spin loop; it
would never end while the others are held), or until it *blocks* (it does not reach a point for
:data:`BLOCK_SECONDS`: a lock another held thread owns). Then the next thread in the scenario's
order runs. Switching away from a thread that could go on is a *preemption*.
"""

from .batch import EXPLORE_STATUS, PROGRESS, Options, batch, explore, parse_budget
from .executor import BLOCK_SECONDS, DebuggerExecutor
from .footprints import EVERYTHING, NOTHING, Footprint, Label, footprint, independent
from .output import account, scenario_text, schedule_text, write_failures
from .search import PCT, Forced, Outcome, Point, RandomWalk, Run, Search, classify

__all__ = [
    "BLOCK_SECONDS",
    "EVERYTHING",
    "EXPLORE_STATUS",
    "NOTHING",
    "PCT",
    "PROGRESS",
    "DebuggerExecutor",
    "Footprint",
    "Forced",
    "Label",
    "Options",
    "Outcome",
    "Point",
    "RandomWalk",
    "Run",
    "Search",
    "account",
    "batch",
    "classify",
    "explore",
    "footprint",
    "independent",
    "parse_budget",
    "scenario_text",
    "schedule_text",
    "write_failures",
]
