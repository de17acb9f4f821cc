"""One evacuation, one instruction at a time, in gdb or lldb: from a stop at the entry of an
evacuate function until it returns to its caller (callees such as typedmemmove included), ``hmap
print`` of the map must list exactly the entries it listed at the entry. evacuate only moves
entries, so any difference is the printer losing, doubling or inventing one between two stores.

    gdb:  python import step_evacuate; step_evacuate.gdb_main()
    lldb: command script import python/tests/step_evacuate.py  then  step-evacuate

Prints one line: ``step-evacuate: steps=N differing=M count=C`` (and the first differences).
"""

import re

_MAX_STEPS = 20000


def check(execute, step, pc, caller_pc):
    """The stepping loop, debugger-neutral: ``execute(command) -> output``, ``step()`` one
    instruction of the stopped thread alone, ``pc()`` of its innermost frame."""
    # The map type is named: in optimised code evacuate's t argument is not known everywhere.
    map_type, address = re.search(r"^(\S+) at (0x[0-9a-f]+) ", execute("hmap show h"), re.M).groups()

    def entries():
        out = execute(f"hmap print {address} --all --type {map_type}")
        m = re.match(r"(map\[.*?\]\S+) with (\d+) entries = \{(.*)\}", out)
        return (int(m.group(2)), sorted(re.findall(r"\[(-?\d+)\] = (-?\d+)", m.group(3)))) if m else out.strip()

    want = entries()
    steps = differing = 0
    while steps < _MAX_STEPS:
        step()
        steps += 1
        got = entries()
        if got != want:
            differing += 1
            if differing <= 3:
                print(f"step-evacuate: at {pc():#x}: {got if isinstance(got, str) else got[0]} entries, not {want[0]}")
        if pc() == caller_pc:
            break
    print(f"step-evacuate: steps={steps} differing={differing} count={want[0]} returned={pc() == caller_pc}")


def gdb_main():
    import gdb

    gdb.execute("set scheduler-locking step")  # stepi runs the stopped thread alone
    check(
        lambda c: gdb.execute(c, to_string=True),
        lambda: gdb.execute("stepi", to_string=True),
        lambda: gdb.selected_frame().pc(),
        gdb.selected_frame().older().pc(),
    )


def _lldb_command(debugger, command, exe_ctx, result, internal_dict):
    import lldb

    def execute(line):
        ret = lldb.SBCommandReturnObject()
        debugger.GetCommandInterpreter().HandleCommand(line, ret)
        return ret.GetOutput() or ret.GetError()

    thread = debugger.GetSelectedTarget().GetProcess().GetSelectedThread()
    check(
        execute,
        lambda: thread.StepInstruction(False),  # lldb steps the selected thread alone
        lambda: thread.GetFrameAtIndex(0).GetPC(),
        thread.GetFrameAtIndex(1).GetPC(),
    )


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand(f"command script add -f {__name__}._lldb_command step-evacuate")
