"""The lldb front-end on the fixtures, in batch mode: the twins of test_gdb.py, with the same
oracles (the fixture's own truth, gdb-independent counts) and the same expectations."""

import json
import re

from gdbrun import fixture
from hostile import BEFORE_RUN, says
from lldbrun import lldb, repeat
from test_gdb import parse_truth


def entries_after(out, marker):
    """``{key: value}`` maps printed after each line that starts with ``marker``, in order.
    lldb prints a map's children one per line (``  [11] = 110``) up to the closing brace."""
    found, lines = [], out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(marker):
            pairs, count = {}, int(re.search(r"with (\d+) entries", line).group(1))
            for child in lines[i + 1 :]:
                m = re.fullmatch(r"\s+\[(-?\d+)\] = (-?\d+)", child)
                if not m:
                    break
                assert int(m.group(1)) not in pairs, "an entry is listed twice"
                pairs[int(m.group(1))] = int(m.group(2))
            assert len(pairs) == count, f"count {count} differs from the {len(pairs)} entries listed"
            found.append(pairs)
    return found


def test_printer_equals_the_fixtures_truth_at_every_checkpoint(tmp_path):
    truth_file = tmp_path / "truth.txt"
    out = lldb(
        fixture("grow"),
        f"""
settings set target.max-children-count 100000
b grow::checkpoint
process launch -o {truth_file} -- --print
{repeat(9, "v id", "v *map", "hmap print map --all", "c")}
""",
    )
    truth = parse_truth(truth_file)
    ids = [int(m) for m in re.findall(r"\(unsigned int\) id = (\d+)", out)]
    printed = entries_after(out, "(gomap::Map<long, long>) *map = map[i64]i64 with ")
    assert ids == list(range(1, 9)), ids
    assert len(ids) == len(printed) and dict(zip(ids, printed, strict=True)) == truth
    # hmap print: the same entries in the core's own text, as in gdb.
    texts = re.findall(r"^map\[i64\]i64 with (\d+) entries = \{(.*)\}$", out, re.M)
    assert [{int(k): int(v) for k, v in re.findall(r"\[(-?\d+)\] = (-?\d+)", body)} for _, body in texts] == printed


def oldbuckets_at_stops(out):
    """The ``oldbucket`` argument of the evacuate frame at each breakpoint stop (from ``bt``)."""
    found = []
    for block in out.split("stop reason = breakpoint")[1:]:
        m = re.search(r"evacuate\w*::h[0-9a-f]+\(.*?oldbucket=(\d+)\)", block)
        if m:
            found.append(int(m.group(1)))
    return found


def test_break_evacuate_on_one_bucket_stops_only_there():
    unfiltered = lldb(fixture("grow"), "hmap break evacuate\nrun\n" + repeat(120, "bt 4", "c"))
    out = lldb(fixture("grow"), "hmap break evacuate --bucket 3\nrun\n" + repeat(40, "bt 4", "c"))
    assert re.search(r"if \*\(unsigned long \*\)\(\$rsp \+ \d+\) == 3", out), out
    all_stops, chosen = oldbuckets_at_stops(unfiltered), oldbuckets_at_stops(out)
    assert "exited with status = 0" in unfiltered and "exited with status = 0" in out, "did not run to the end"
    assert chosen and all(b == 3 for b in chosen), chosen
    assert len(chosen) == all_stops.count(3), "missed an evacuation of bucket 3"
    assert len(all_stops) > len(chosen)


def test_watch_oldbuckets_sees_each_grow_start_and_finish():
    out = lldb(fixture("grow"), "b grow::checkpoint\nrun\nhmap watch oldbuckets map\nbr delete 1\nc\nc\nc\nkill")
    reports = re.findall(r"hmap watch #\d+: oldbuckets 0x[0-9a-f]+ -> 0x[0-9a-f]+ \((.*?)\) by (\S+) in thread", out)
    # Checkpoint 1 is inside the doubling to B = 5; then the same-size grow starts and ends.
    assert reports == [
        ("grow finished", "advance_evacuation_mark"),
        ("grow started", "hash_grow"),
        ("grow finished", "advance_evacuation_mark"),
    ], out


def test_catch_fatal_names_both_writers(tmp_path):
    snap = tmp_path / "snap.json"
    # Under a debugger the race is a race: retry a few runs until one dies. lldb slows threads
    # more than gdb: with 2000 writes each, most runs die (9 of 10 measured).
    for _ in range(10):
        # lldb's command file goes on past a failing snapshot (the program ended without the race).
        out = lldb(
            fixture("concurrent-writes"), f"hmap catch fatal\nrun --writes 2000\nhmap snapshot --json {snap}\nkill"
        )
        if "hmap catch fatal: fatal error:" not in out:
            continue
        assert "fatal error: concurrent map writes" in out
        detected = re.search(r"detected by thread '(writer-\d+)' in (assign|delete|clear)", out)
        other = re.search(r"also in a map role: thread '(writer-\d+)' in (\w+)", out)
        if detected and other:
            assert detected.group(1) != other.group(1)
            data = json.loads(snap.read_text())
            names = {t["name"] for t in data["threads"] if t["role"]}
            assert {detected.group(1), other.group(1)} <= names
            assert all(t["registers"]["rip"] == t["frames"][0]["pc"] for t in data["threads"] if t["frames"])
            return
    raise AssertionError("no run showed both writers:\n" + out)


def test_errors_are_one_line():
    commands = {
        "hmap show 16": "cannot read 48 bytes at 0x10",
        "hmap show no_such_variable": "cannot evaluate 'no_such_variable'",
        "hmap show id": "id is not a map (its type is",
        "hmap break no_such_role": "unknown role 'no_such_role'",
        "hmap break assign --map 0x10 --growing": "cannot read 48 bytes at 0x10",
        "hmap break assign --bucket 2": "has no parameter oldbucket or bucket to filter on",
        "hmap break evacuate --probe no-such-probe": "unknown probe 'no-such-probe'",
        "hmap buckets *map --bucket 999": "bucket 999 out of range: the new array has 32",
        "hmap buckets *map --old": "the map is not growing: it has no old buckets",
        "hmap watch oldbuckets": "hmap watch: the following arguments are required: map",
        "hmap profile /nonexistent.json": "cannot read profile /nonexistent.json",
        "hmap replay /nonexistent.toml": "cannot read scenario /nonexistent.toml",
        "hmap frobnicate": "unknown command 'hmap frobnicate'; try 'hmap help'",
    }
    out = lldb(fixture("grow"), "hmap profile\nb grow::checkpoint\nrun\nc\nc\n" + "\n".join(commands) + "\nkill")
    lines = out.splitlines()
    for command, expected in commands.items():
        at = lines.index(f"(lldb) {command}")
        assert lines[at + 1].startswith("error: "), f"{command} did not fail: {lines[at + 1]}"
        assert expected in lines[at + 1], (command, lines[at + 1])
        assert lines[at + 2].startswith("(lldb) "), f"{command}: not one line: {lines[at + 1 : at + 3]}"


def test_hostile_commands_before_run_are_one_line_errors():
    out = lldb(fixture("grow"), "\n".join(BEFORE_RUN))
    lines = out.splitlines()
    for command, expected in BEFORE_RUN.items():
        at = lines.index(f"(lldb) {command}")
        assert lines[at + 1].startswith("error: "), f"{command} did not fail: {lines[at + 1]}"
        assert says(lines[at + 1], expected), (command, lines[at + 1])
        assert at + 2 == len(lines) or lines[at + 2].startswith("(lldb) "), f"{command}: not one line"


def test_watch_refuses_a_fifth_debug_register():
    """Four debug registers taken by the user's own watchpoints: hmap watch is refused. With one
    freed it succeeds; watching the same map twice is refused."""
    own = "\n".join(f"watchpoint set expression -w write -s 8 -- $rsp + {8 * i}" for i in range(4))
    out = lldb(
        fixture("grow"),
        f"b grow::checkpoint\nrun\n{own}\nhmap watch oldbuckets map\n"
        "watchpoint delete 1\nhmap watch oldbuckets map\nhmap watch oldbuckets map\nkill",
    )
    assert re.search(r"error: no debug register left: x86-64 has 4, 4 in use", out), out
    assert out.count("hmap watch: watchpoint #") == 1, out
    assert re.search(r"error: oldbuckets of 0x[0-9a-f]+ is watched already \(watchpoint #\d+\)", out), out


def test_break_on_one_map_while_growing():
    """--map and --growing become lldb conditions: stops only for that header, only mid-grow."""

    def maps_at_stops(arguments):
        out = lldb(
            fixture("grow"),
            f"b grow::checkpoint\nrun\nbr delete 1\nhmap show map\nhmap break assign {arguments}\n"
            + repeat(40, "c", "hmap snapshot"),
        )
        header = int(re.search(r"map\[i64\]i64 at 0x([0-9a-f]+)", out).group(1), 16)
        return header, re.findall(
            r"  map 0x([0-9a-f]+) map\[i64\]i64: count=\d+ B=\d+ buckets=\d+ flags=\S+ (\S+)", out
        )

    header, everything = maps_at_stops("--map map")
    _, growing = maps_at_stops("--map map --growing")
    assert growing and all(int(a, 16) == header and state.startswith("growing") for a, state in growing), growing
    assert len(growing) < len(everything) and any(state == "not-growing" for _, state in everything)
