"""Run inside gdb by bench/breakpoints.sh: one way of stopping on one old bucket's evacuation.

    gdb -nx -batch -x gdb-scripts/mapscope.py \\
        -ex "python sys.path.insert(0, 'bench'); import breakpoints_gdb; breakpoints_gdb.main('MODE', BUCKET)" \\
        --args target/debug/concurrent-writes ...

(Imported as a module, not loaded with -x: scripts given to -x share one namespace with
gdb-scripts/mapscope.py.) Run from the repository root.

MODE is one of
  none    no breakpoint: the cost of running under gdb at all
  python  (a) a gdb.Breakpoint subclass on every evacuate function; stop() reads the parameter
          oldbucket and stops only for BUCKET
  cond    (b) 'hmap break evacuate --bucket BUCKET': a condition gdb evaluates at the entry
  probe   (c) 'hmap break evacuate --probe evacuate-start --bucket BUCKET': the same condition at
          the probe, which runs only when an old bucket really is evacuated
  count   never stops: counts the executions of the evacuate entries and of the evacuate-start
          probe, all and those for BUCKET (oldbucket read by gdb from DWARF, not from the
          profile's stack slot), i.e. the hits (b) and (c) evaluate and the wanted events
The program is run and continued after every stop until it exits; one line
"bench-result mode=... stops=N calls=N ..." goes to stdout, then gdb quits (1 on error).
"""

import sys

import gdb

sys.path.insert(0, "python")
from mapscope_core.profile_cache import build  # noqa: E402


def _oldbucket():
    return int(gdb.selected_frame().read_var("oldbucket"))


class BucketFilter(gdb.Breakpoint):
    """(a): stops only when the evacuated old bucket is the wanted one; counts its calls."""

    def __init__(self, spec, bucket):
        super().__init__(spec, internal=False)
        self.bucket = bucket
        self.calls = 0

    def stop(self):
        self.calls += 1
        return _oldbucket() == self.bucket


class Counter(gdb.Breakpoint):
    """count: never stops; counts every execution and those for the wanted bucket."""

    def __init__(self, spec, bucket):
        super().__init__(spec, internal=False)
        self.bucket = bucket
        self.calls = 0
        self.wanted = 0

    def stop(self):
        self.calls += 1
        self.wanted += _oldbucket() == self.bucket
        return False


def _probe_spec(profile, name):
    # Relative to the function symbol, like hmap break, so that gdb relocates it (PIE).
    specs = []
    for site in profile.probe_sites(name):
        specs.append(f"*((char *)&'{site.function.name}' + {site.address - site.function.address})")
    return specs


def main(mode, bucket):
    try:
        result = _run(mode, bucket)
    except Exception as e:  # noqa: BLE001 - any failure must reach the caller as status 1
        print(f"bench-result mode={mode} error={type(e).__name__}: {e}", flush=True)
        gdb.execute("quit 1")
    print(f"bench-result mode={mode} {result}", flush=True)
    gdb.execute("quit 0")


def _run(mode, bucket):
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.execute("set print thread-events off")
    profile = build(gdb.current_progspace().filename)
    entries = [f"-function {f.name}" for f in profile.role_functions("evacuate")]
    counters = []
    gdb.execute("set language c")  # for the &'symbol' probe specs
    if mode == "python":
        counters = [BucketFilter(spec, bucket) for spec in entries]
    elif mode == "cond":
        gdb.execute(f"hmap break evacuate --bucket {bucket}", to_string=True)
    elif mode == "probe":
        gdb.execute(f"hmap break evacuate --probe evacuate-start --bucket {bucket}", to_string=True)
    elif mode == "count":
        entry = [Counter(spec, bucket) for spec in entries]
        probe = [Counter(spec, bucket) for spec in _probe_spec(profile, "evacuate-start")]
    elif mode != "none":
        raise ValueError(f"unknown mode {mode!r}")
    gdb.execute("set language auto")

    stops = 0
    gdb.execute("run", to_string=True)
    while gdb.selected_inferior().pid != 0:
        stops += 1
        gdb.execute("continue", to_string=True)

    status = gdb.parse_and_eval("$_exitcode")
    status = "none" if status.type.code == gdb.TYPE_CODE_VOID else int(status)
    if mode == "count":
        return (
            f"exit={status} "
            f"stops={stops} entry_calls={sum(c.calls for c in entry)} "
            f"entry_wanted={sum(c.wanted for c in entry)} probe_calls={sum(c.calls for c in probe)} "
            f"probe_wanted={sum(c.wanted for c in probe)}"
        )
    return f"exit={status} stops={stops} calls={sum(c.calls for c in counters)}"
