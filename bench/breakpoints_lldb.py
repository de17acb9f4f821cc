"""lldb's side of bench/breakpoints.sh: one run under lldb with one way of stopping on an old
bucket's evacuation, continued after every stop until the program exits.

    lldb-16 -b -o 'command script import lldb-scripts/mapscope.py' \\
        -o 'command script import bench/breakpoints_lldb.py' -o 'bench-breakpoints MODE BUCKET' \\
        -- PROGRAM ARGS...

MODE: none (no breakpoint), python (a breakpoint callback filters on oldbucket, lldb's twin of
gdb's stop()), cond (hmap break evacuate --bucket N), probe (hmap break evacuate --probe
evacuate-start --bucket N). One line "bench-result mode=... exit=N stops=N calls=N" goes to
stdout (calls: how often the callback ran).
"""

import lldb
import mapscope_lldb

CALLS = [0]
BUCKET = [0]


def _oldbucket(frame):
    """The oldbucket argument of the evacuate function a stop is in (innermost frame that has
    it: the stop may be in a helper inlined into evacuate)."""
    thread = frame.GetThread()
    for i in range(min(thread.GetNumFrames(), 4)):
        value = thread.GetFrameAtIndex(i).FindVariable("oldbucket")
        if value.IsValid() and value.GetError().Success():
            return value.GetValueAsUnsigned()
    # lldb 16 cannot read Go variables: read the parameter where DWARF puts it, as mapscope does.
    target = mapscope_lldb.commands_of(thread.GetProcess().GetTarget().GetDebugger()).target
    return target.frame_uint(target.thread(thread.GetIndexID()), 0, "oldbucket")


def filter_bucket(frame, location, internal_dict):
    CALLS[0] += 1
    return _oldbucket(frame) == BUCKET[0]


def run(debugger, command, exe_ctx, result, internal_dict):
    mode, bucket = command.split()
    BUCKET[0] = int(bucket)
    commands = mapscope_lldb.commands_of(debugger)
    target = debugger.GetSelectedTarget()
    if mode == "python":
        for fn in commands.target.require_profile().role_functions("evacuate"):
            bp = target.BreakpointCreateBySBAddress(target.ResolveFileAddress(fn.stop_address))
            bp.SetScriptCallbackFunction(f"{__name__}.filter_bucket")
    elif mode == "cond":
        commands.run("break", f"evacuate --bucket {bucket}")
    elif mode == "probe":
        commands.run("break", f"evacuate --probe evacuate-start --bucket {bucket}")
    elif mode != "none":
        result.SetError(f"unknown mode {mode!r}")
        return
    debugger.SetAsync(False)
    error = lldb.SBError()
    process = target.Launch(target.GetLaunchInfo(), error)
    stops = 0
    while process.GetState() == lldb.eStateStopped:
        stops += 1
        process.Continue()
    status = process.GetExitStatus()
    print(f"bench-result mode={mode} exit={status} stops={stops} calls={CALLS[0]}", flush=True)


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand(f"command script add -o -f {__name__}.run bench-breakpoints")
