"""The adapter conformance suite: the same checks over every Adapter (fake, gdb, lldb).

Each check takes a :class:`World`: an adapter stopped where the ``grow`` fixture stops at one of
its checkpoints (thread in ``grow::checkpoint(map, id)``), the loaded profile, and the fixture's
own truth for that checkpoint (its shadow map, printed by ``grow --print``). The fake runs the
checks in pytest directly; gdb and lldb run them inside the debugger through
:func:`run_in_debugger` (conformance_runner.py), and pytest reads their verdicts.
"""

import os
from dataclasses import dataclass

from mapscope_core import conditions, decode, printer, recognize
from mapscope_core.adapter import Site
from mapscope_core.errors import MapscopeError
from mapscope_core.target import Target

#: The checkpoint the debuggers stop at: 2 is in the middle of a doubling.
CHECKPOINT = 2


@dataclass
class World:
    adapter: object
    target: Target
    checkpoint: int
    truth: dict  # key -> elem

    @property
    def profile(self):
        return self.target.profile


def _fails(function, *args):
    try:
        function(*args)
    except MapscopeError as e:
        message = str(e)
        assert message and "\n" not in message, message
        return message
    raise AssertionError(f"{function.__name__}{args!r} did not fail")


def _header(w):
    address, type_name = recognize.header_of(w.adapter.evaluate("map"), w.profile, "map")
    return address, w.profile.map_type(type_name)


def check_program(w):
    assert os.path.basename(w.adapter.executable()) == "grow", w.adapter.executable()
    assert w.adapter.pid() > 0


def check_evaluate_finds_the_map(w):
    value = w.adapter.evaluate("map")
    assert value.kind == "pointer", value.kind
    address, mt = _header(w)
    assert mt.description == "map[i64]i64"
    handle = value.dereference()
    assert handle.kind == "struct" and w.profile.map_handle_field in handle.field_names(), handle.field_names()
    assert handle.field(w.profile.map_handle_field).as_int() == address
    assert handle.field("no_such_field") is None
    assert w.target.header(address, mt).count == len(w.truth)


def check_errors_are_mapscope_errors(w):
    _fails(w.adapter.evaluate, "no_such_variable_anywhere")
    _fails(w.adapter.read_memory, 8, 8)


def check_frame_variables(w):
    thread = w.adapter.selected_thread()
    assert thread, "no selected thread"
    assert w.adapter.frame_variable(thread, 0, "id").as_int() == w.checkpoint
    assert w.adapter.frame_variable(thread, 0, "no_such_variable") is None


def check_threads_frames_registers(w):
    threads = w.adapter.threads(with_frames=True, with_registers=True)
    numbers = [t.number for t in threads]
    assert numbers == sorted(set(numbers)), numbers
    selected = next(t for t in threads if t.number == w.adapter.selected_thread())
    assert "checkpoint" in selected.frames[0].function, selected.frames[0]
    assert selected.registers["rip"] == selected.frames[0].pc
    assert all(t.frames == [] for t in w.adapter.threads())  # frames only when asked


def check_printer_children_are_the_live_entries(w):
    p = printer.MapPrinter(w.target, w.adapter.evaluate("*map"), "*map")
    assert p.summary() == f"map[i64]i64 with {len(w.truth)} entries", p.summary()
    found = {}
    for name, value in p.children():
        assert name.startswith("[") and name.endswith("]"), name
        elem = value if isinstance(value, str) else value.as_int()
        found[int(name[1:-1])] = int(elem) if isinstance(elem, str) else elem - (1 << 64 if elem >= 1 << 63 else 0)
    assert found == w.truth


def check_print_text_honours_the_limit(w):
    address, mt = _header(w)
    text = printer.print_map(w.target, address, mt, None)
    assert text.count("] = ") == len(w.truth), text
    limited = printer.print_map(w.target, address, mt, 3)
    assert limited.count("] = ") == 3 and limited.endswith(", ...}"), limited
    limit = w.adapter.element_limit()
    assert limit is None or limit > 0


def check_breakpoints_set_enable_delete(w):
    site, fn, _ = w.target.role_sites("evacuate")[0]
    first = w.adapter.set_breakpoint(site)
    offset = w.profile.map_types[0].header["oldbuckets"].offset
    probe = Site(site.address, site.function, site.function_address, at_entry=False)
    condition = conditions.render(fn, [conditions.Term("bucket", 1)], offset, site.address)
    second = w.adapter.set_breakpoint(probe, condition)
    assert first != second
    w.adapter.enable_breakpoint(first, False)
    w.adapter.enable_breakpoint(first, True)
    w.adapter.delete_breakpoints([first, second])
    w.adapter.delete_breakpoints([first])  # deleting twice is harmless


def check_watchpoints_count_debug_registers(w):
    address, mt = _header(w)
    before = w.adapter.hardware_watchpoints_in_use()
    field = mt.header["oldbuckets"]
    number = w.adapter.set_watchpoint(address + field.offset, field.size)
    assert w.adapter.hardware_watchpoints_in_use() == before + 1
    w.adapter.delete_watchpoint(number)
    assert w.adapter.hardware_watchpoints_in_use() == before


def check_value_at_reads_typed_memory(w):
    address, mt = _header(w)
    header = w.target.header(address, mt)
    entry = next(iter(w.target.iter_entries(header)))
    p = printer.MapPrinter(w.target, w.adapter.evaluate("*map"), "*map")
    key = int.from_bytes(entry.key, "little", signed=True)
    value = w.adapter.value_at(entry.elem_address, p._elem_type)
    assert value.as_int() == w.truth[key] & (2**64 - 1)
    assert decode.read_uint(w.adapter.read_memory, entry.elem_address, 8) == value.as_int()


CHECKS = [f for name, f in sorted(globals().items()) if name.startswith("check_")]


def run_checks(world):
    """``{check name: None (passed) or one-line failure}``."""
    results = {}
    for check in CHECKS:
        try:
            check(world)
            results[check.__name__] = None
        except Exception as e:  # noqa: BLE001 - every failure is reported, none stops the suite
            results[check.__name__] = f"{type(e).__name__}: {e}".replace("\n", " | ")
    return results


def parse_truth(text):
    """{checkpoint: {key: value}} from ``grow --print``."""
    truth, lines = {}, text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("checkpoint "):
            body = lines[i + 1].strip("{}")
            pairs = [p.split(": ") for p in body.split(", ")] if body else []
            truth[int(line.split()[1])] = {int(k): int(v) for k, v in pairs}
    return truth


def run_in_debugger(adapter, truth_path):
    """Positions a real debugger at checkpoint :data:`CHECKPOINT` of ``grow`` with the adapter's
    own primitives, runs every check, and prints one verdict line per check."""
    target = Target(adapter)
    target.load_profile()
    adapter.set_breakpoint(Site(0, "grow::checkpoint", 0, at_entry=True))
    stop = adapter.launch(["--print"], {}, truth_path)
    while not stop.ended and adapter.frame_variable(stop.thread, 0, "id").as_int() != CHECKPOINT:
        stop = adapter.resume_all()
    if stop.ended:
        print("CONFORMANCE setup FAIL: the program ended before its checkpoint", flush=True)
        return
    # grow prints a checkpoint's truth (a line-buffered stdout) before it calls checkpoint().
    with open(truth_path, encoding="utf-8") as f:
        truth = parse_truth(f.read())[CHECKPOINT]
    for name, failure in run_checks(World(adapter, target, CHECKPOINT, truth)).items():
        print(f"CONFORMANCE {name} " + ("PASS" if failure is None else f"FAIL: {failure}"), flush=True)
    adapter.kill()
