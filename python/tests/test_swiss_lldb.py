"""Swiss-table maps (Go 1.26) in lldb, batch mode: lldb has no Go support, so ``hmap`` finds the
Go variables itself (mapscope variables) and reads every map at the profile's offsets. The
twins of test_swiss_gdb.py's main checks, with the same oracles."""

import re

from lldbrun import lldb, repeat
from swissgo import build, parse_entries, parse_truth

PREAMBLE = (
    "process handle SIGURG -n false -p true -s false\n"
    "settings set target.env-vars GODEBUG=asyncpreemptoff=1\n"  # no preemption signals mid-breakpoint
    "hmap profile\n"
)


def blocks(out, command):
    """The output of each ``command`` run, in order (up to the next ``(lldb)`` prompt)."""
    found = []
    for part in out.split(f"(lldb) {command}\n")[1:]:
        found.append(part.split("(lldb) ", 1)[0].strip())
    return found


def test_hmap_print_is_exact_at_every_checkpoint(tmp_path):
    truth_file = tmp_path / "truth.txt"
    out = lldb(
        build("checkpoints"),
        PREAMBLE
        + f"b main.checkpoint\nprocess launch -o {truth_file}\n"
        + repeat(7, "hmap print m --all", "hmap show m", "c"),
    )
    truth = parse_truth(truth_file)
    printed, shown = blocks(out, "hmap print m --all"), blocks(out, "hmap show m")
    assert len(printed) == len(truth) == 7, out[-3000:]
    for n, (label, view, entries) in sorted(truth.items()):
        count, pairs, duplicates = parse_entries(printed[n - 1])
        assert duplicates == 0 and pairs == entries and count == view["used"], label
        show = shown[n - 1]
        if view["dirLen"]:
            assert int(re.search(r"tables             (\d+)", show).group(1)) == view["tables"], show
            assert sum(int(t) for t in re.findall(r"tombstones (\d+)", show)) == view["tombstones"], show
        else:
            assert "small              yes" in show, show


def test_break_on_one_map_stops_only_there():
    """lldb cannot evaluate expressions in Go frames: the core checks --map's condition."""
    out = lldb(
        build("checkpoints"),
        PREAMBLE
        + "b main.checkpoint\nprocess launch -o /dev/null\nbreakpoint delete 1\n"
        + "hmap break assign --map m\nb main.checkpoint\n"
        + repeat(7, "c", "hmap show m"),
    )
    stops = re.findall(r"stop reason = breakpoint \d+\.\d+\n\s+frame #0: 0x[0-9a-f]+ \S+`(\S+)", out)
    assert stops[0] == "main.checkpoint", stops  # checkpoint 1, where the breakpoint is set
    first = stops.index("main.checkpoint", 1)
    assert stops[1:first] == ["runtime.mapassign_fast64"] * 5, stops
    used = [int(u) for u in re.findall(r"used               (\d+)", out)]
    assert used[:5] == [0, 1, 2, 3, 4], used


def test_catch_fatal_names_both_goroutines():
    binary = build("concurrent")
    for _ in range(5):
        out = lldb(binary, PREAMBLE + "hmap catch fatal\nrun\nhmap snapshot\nkill\n")
        if "hmap catch fatal: fatal error:" not in out:
            continue
        assert "fatal error: concurrent map writes" in out
        detected = re.search(r"detected by goroutine (\d+) \(LWP \d+\) in (\w+)", out)
        other = re.search(r"also in a map role: goroutine (\d+) \(LWP \d+\) in (\w+)", out)
        if detected and other:
            assert detected.group(1) != other.group(1)
            return
    raise AssertionError("no run showed both writers:\n" + out)


def test_watch_directory_sees_each_move():
    out = lldb(
        build("checkpoints"),
        PREAMBLE + "b main.checkpoint\nprocess launch -o /dev/null\nhmap watch directory m\n" + repeat(6, "c"),
    )
    reports = re.findall(r"hmap watch #\d+: (\S+) 0x[0-9a-f]+ -> 0x[0-9a-f]+ \((.*?)\) by (\S+) in thread", out)
    assert reports[:3] == [
        ("dirPtr", "small map: group allocated", "assign"),
        ("dirPtr", "grew into a table: dirPtr is now the directory", "grow"),
        ("dirPtr", "directory doubled (a table split)", "split"),
    ], out[-3000:]
