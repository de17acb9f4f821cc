"""Run inside gdb or lldb by bench/stop_with_bigmap.sh: the cost of a stop's usual commands
with a big Go map in scope (go-bigmap stops in main.stop(m) after filling m).

    gdb [-x gdb-scripts/mapscope.py] -batch -ex "python import sys; sys.path.insert(0, 'bench');
        import stop_with_bigmap; stop_with_bigmap.gdb_main()" --args target/debug/go-bigmap -n N
    lldb-16 -b [-o 'command script import lldb-scripts/mapscope.py']
        -o 'command script import bench/stop_with_bigmap.py' -o bench-stop -- target/debug/go-bigmap -n N

It times the run to the stop (the stop itself: gdb prints the frame line with the arguments,
m among them), then what a user types there: a backtrace and the arguments (gdb ``info args``;
lldb ``frame variable``), and prints one line ``bench-result stop=S commands=S``.
"""

import time

_COMMANDS = {"gdb": ("bt", "info args"), "lldb": ("bt", "frame variable")}


def _measure(execute, run, commands, where):
    start = time.perf_counter()
    run()
    stopped = time.perf_counter()
    if where() != "main.stop":
        print(f"bench-error: the run stopped in {where()!r}, not in main.stop", flush=True)
        return
    for command in commands:
        execute(command)
    print(f"bench-result stop={stopped - start:.4f} commands={time.perf_counter() - stopped:.4f}", flush=True)


def gdb_main():
    import gdb

    gdb.execute("set pagination off")
    gdb.execute("break main.stop", to_string=True)
    # Not to_string: the stop's frame line is printed as a user sees it (and formatted).
    _measure(
        lambda c: gdb.execute(c, to_string=True),
        lambda: gdb.execute("run"),
        _COMMANDS["gdb"],
        lambda: gdb.selected_frame().name(),
    )
    gdb.execute("kill", to_string=True)


def _lldb_command(debugger, command, exe_ctx, result, internal_dict):
    import lldb

    def execute(line):
        debugger.GetCommandInterpreter().HandleCommand(line, lldb.SBCommandReturnObject())

    def where():
        return debugger.GetSelectedTarget().GetProcess().GetSelectedThread().GetFrameAtIndex(0).GetFunctionName()

    # Synchronous, as a user's session is: 'process launch' returns at the stop.
    debugger.SetAsync(False)
    # Go preempts goroutines with SIGURG, which lldb stops at by default (gdb does not): a Go
    # user's first setting.
    execute("process handle SIGURG --stop false --notify false --pass true")
    execute("breakpoint set -n main.stop")
    _measure(execute, lambda: execute("process launch"), _COMMANDS["lldb"], where)
    execute("process kill")


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand(f"command script add -f {__name__}._lldb_command bench-stop")
