"""Swiss-table maps (Go 1.26; 1.24 and 1.25 when cached) in gdb, batch mode: the printer and
``hmap print`` against the program's own truth at every checkpoint, ``hmap show``/``buckets``
against its own view of its tables, breakpoints filtered by map and by type, the directory
watchpoint, and the fatal report of a concurrent-writes program."""

import os
import re

import pytest
from gdbrun import gdb
from swissgo import GO, OTHER, build, cached_go, parse_entries, parse_truth

CHECKPOINTS = """
hmap profile
set print elements unlimited
set environment GODEBUG=asyncpreemptoff=1
break main.checkpoint
run > {truth}
python
import gdb
while gdb.selected_inferior().pid:
    n = int(gdb.selected_frame().read_var("id"))
    print("ID", n)
    print("PRINT", n, gdb.execute("print m", to_string=True).split(" = ", 1)[1].strip().replace("\\n", " "))
    print("HMAP", n, gdb.execute("hmap print m --all", to_string=True).strip())
    print("SHOW", n, gdb.execute("hmap show m", to_string=True).replace("\\n", " | "))
    print("NAMES", n, gdb.execute("print names", to_string=True).split(" = ", 1)[1].strip().replace("\\n", " "))
    gdb.execute("continue")
end
"""


def run_checkpoints(binary, tmp_path, iex=()):
    truth_file = tmp_path / "truth.txt"
    out = gdb(binary, CHECKPOINTS.format(truth=truth_file), before_program=iex)
    return out, parse_truth(truth_file)


def lines(out, tag):
    found = {}
    for line in out.splitlines():
        if line.startswith(tag + " "):
            _, n, text = line.split(" ", 2)
            found[int(n)] = text
    return found


def check_every_checkpoint(out, truth):
    printed, hmap, shown = lines(out, "PRINT"), lines(out, "HMAP"), lines(out, "SHOW")
    assert sorted(printed) == sorted(truth) == list(range(1, 8)), (sorted(printed), out[-3000:])
    for n, (label, view, entries) in truth.items():
        for what, text in (("print", printed[n]), ("hmap print", hmap[n])):
            count, pairs, duplicates = parse_entries(text)
            assert duplicates == 0, f"{label}: {what} lists an entry twice"
            assert pairs == entries, f"{label}: {what} differs from the truth"
            assert count == view["used"] == len(entries), label
        show = shown[n]
        assert f"used               {view['used']}" in show
        if view["dirLen"]:
            assert f"directory          {view['dirLen']} entries" in show, show
            tables = re.search(r"tables             (\d+)", show)
            assert int(tables.group(1)) == view["tables"], show
            tombstones = sum(int(t) for t in re.findall(r"tombstones (\d+)", show))
            assert tombstones == view["tombstones"], show
        else:
            assert "small              yes" in show, show
    return printed


def test_print_is_exact_at_every_checkpoint(tmp_path):
    """Go 1.26, -N -l: an empty map, a small one, tables, shared directory entries (printed
    once), tombstones, and a range loop whose table has split under it."""
    out, truth = run_checkpoints(build("checkpoints"), tmp_path)
    check_every_checkpoint(out, truth)
    assert truth[4][1]["tables"] < truth[4][1]["dirLen"], "checkpoint 4 shares no directory entry"
    assert truth[5][1]["tombstones"] > 0
    names = lines(out, "NAMES")
    # A map with string keys and indirect elems (Big is over 128 bytes).
    assert names[2].startswith('map[string]main.Big with 1 entries = {["small"] = 0x'), names[2]
    keys = re.findall(r'\["(key-\d\d)"\]', names[3])
    assert sorted(keys) == [f"key-{i:02d}" for i in range(40)], names[3]


def test_print_is_exact_in_an_optimised_build(tmp_path):
    out, truth = run_checkpoints(build("checkpoints", optimised=True), tmp_path)
    check_every_checkpoint(out, truth)


@pytest.mark.parametrize("version", OTHER)
def test_print_is_exact_with_older_swiss_toolchains(version, tmp_path):
    go = cached_go(version)
    if go is None:
        pytest.skip(f"Go toolchain {version} is not cached (GOTOOLCHAIN={version} go version)")
    out, truth = run_checkpoints(build("checkpoints", go), tmp_path)
    check_every_checkpoint(out, truth)


def test_our_printer_wins_over_go_runtime_gdb_py(tmp_path):
    """With auto-load allowed, gdb loads Go 1.26's runtime-gdb.py (it prints Swiss maps, walking
    every directory entry): ours goes first."""
    out, truth = run_checkpoints(build("checkpoints"), tmp_path, iex=("set auto-load safe-path /",))
    assert "has its own printers (Go's runtime-gdb.py?); mapscope's map printer goes first" in out
    check_every_checkpoint(out, truth)


STOPS = """
python
import gdb
while gdb.selected_inferior().pid:
    frame = gdb.selected_frame()
    if frame.name() == "main.checkpoint":
        print("CHECKPOINT", int(frame.read_var("id")))
        if int(frame.read_var("id")) == 2:
            break
    else:
        print("STOP", frame.name(), int(frame.read_var("m")), int(frame.read_var("typ")))
    gdb.execute("continue")
end
kill
"""


def break_between_checkpoints(arguments):
    """Stops of ``hmap break assign ARGUMENTS`` from checkpoint 1 to checkpoint 2 (m and other
    get 5 entries each, names 1, and the program's shadow map and views are written too)."""
    script = (
        "set environment GODEBUG=asyncpreemptoff=1\nhmap profile\nbreak main.checkpoint\nrun > /dev/null\n"
        "python print('MAPS', int(gdb.parse_and_eval('m')), int(gdb.parse_and_eval('other')), "
        "int(gdb.parse_and_eval('names')))\n"
        f"hmap break assign {arguments}\ncontinue\n" + STOPS
    )
    out = gdb(build("checkpoints"), script)
    maps = next(line.split()[1:] for line in out.splitlines() if line.startswith("MAPS "))
    m, other, names = (int(x) for x in maps)
    stops = [line.split()[1:] for line in out.splitlines() if line.startswith("STOP ")]
    assert "CHECKPOINT 2" in out, out[-2000:]
    return out, (m, other, names), [(fn, int(h), int(t)) for fn, h, t in stops]


def test_break_on_one_map_and_on_one_map_type():
    """--map and --type become conditions gdb evaluates on the Swiss functions' own parameters
    (m and typ, where DWARF says they are at each stop)."""
    _, (m, other, names), everything = break_between_checkpoints("")
    assert {h for _, h, _ in everything} >= {m, other, names}, "the shadow map, other and names are written too"
    out, (m, _, _), on_m = break_between_checkpoints("--map m")
    assert re.search(r"if \S+ == 0x[0-9a-f]+", out), out
    assert [h for _, h, _ in on_m] == [m] * 5, on_m
    _, (m, other, _), int_maps = break_between_checkpoints("--type 'map[int64]int64'")
    assert sorted(h for _, h, _ in int_maps) == sorted([m] * 5 + [other] * 5), int_maps
    assert len({t for _, _, t in int_maps}) == 1
    _, (_, _, names), big = break_between_checkpoints("--type 'map[string]main.Big'")
    # Elems over 128 bytes take the generic mapassign, not the string fast path.
    assert [(fn, h) for fn, h, _ in big] == [("runtime.mapassign", names)], big


def test_watch_directory_sees_each_move():
    """dirPtr moves when the small map gets its group, when it becomes a table, and when the
    directory doubles; a directory entry moves when its table splits."""
    script = """
set environment GODEBUG=asyncpreemptoff=1
hmap profile
break main.checkpoint
run > /dev/null
hmap watch directory m
python
import gdb
for _ in range(30):
    gdb.execute("continue")
    if gdb.selected_frame().name() == "main.checkpoint" and int(gdb.selected_frame().read_var("id")) == 4:
        break
end
python
show = gdb.execute("hmap show m", to_string=True)
import os
import re
shared = next(int(a) for a, b in re.findall(r"entries (\\d+)-(\\d+)\\)", show))
gdb.execute("delete")
gdb.execute(f"hmap watch directory m --entry {shared}")
gdb.execute("continue")
end
kill
"""
    out = gdb(build("checkpoints"), script)
    reports = re.findall(r"hmap watch #\d+: (\S+) 0x[0-9a-f]+ -> 0x[0-9a-f]+ \((.*?)\) by (\S+) in thread", out)
    assert reports[:3] == [
        ("dirPtr", "small map: group allocated", "assign"),
        ("dirPtr", "grew into a table: dirPtr is now the directory", "grow"),
        ("dirPtr", "directory doubled (a table split)", "split"),
    ], out[-3000:]
    assert re.match(r"directory\[\d+\]", reports[-1][0]) and reports[-1][1].startswith("table split: local depth")
    assert reports[-1][2] == "split", reports


def test_show_buckets_snapshot_and_errors():
    script = """
set environment GODEBUG=asyncpreemptoff=1
hmap profile
break main.checkpoint
run > /dev/null
continue
hmap buckets m
hmap snapshot
continue 3
hmap buckets m --table 0 --bucket 0
python
import gdb
for command in ["hmap show 16 --type map[int64]int64", "hmap buckets m --old", "hmap watch oldbuckets m",
                "hmap break assign --bucket 2", "hmap break grow --growing", "hmap buckets m --table 99"]:
    try:
        gdb.execute(command)
        print("NO-ERROR", command)
    except gdb.error as e:
        print("ERROR", command, "=>", e)
end
python
import os
import re
text = gdb.execute("hmap buckets m", to_string=True)
print("STATES", sorted(set(re.findall(r"slots? [\\d-]+  (full|empty|deleted)", text))))
end
kill
"""
    out = gdb(build("checkpoints"), script)
    assert "small map: one group @0x" in out
    assert re.search(r"  slot 0  full h2 0x[0-9a-f]{2}  \[0\] = 1", out), out
    assert "  slots 5-7  empty" in out
    assert re.search(r"map 0x[0-9a-f]+ map\[int64\]int64: used=5 small \(one group\) writing=0", out), out
    assert re.search(r"table 0 @0x[0-9a-f]+: used \d+ capacity 1024 growthLeft \d+ localDepth \d+, 128 groups", out)
    assert "STATES ['deleted', 'empty', 'full']" in out, out[-2000:]
    errors = dict(line[6:].split(" => ", 1) for line in out.splitlines() if line.startswith("ERROR "))
    assert errors["hmap show 16 --type map[int64]int64"].startswith("cannot read 48 bytes at 0x10")
    assert "Swiss maps have no old buckets" in errors["hmap buckets m --old"]
    assert "a Swiss map has no oldbuckets" in errors["hmap watch oldbuckets m"]
    assert "--bucket is for classic maps" in errors["hmap break assign --bucket 2"]
    assert "--growing is for classic maps" in errors["hmap break grow --growing"]
    assert "table 99 out of range" in errors["hmap buckets m --table 99"]


def test_catch_fatal_names_both_goroutines(tmp_path):
    snap = tmp_path / "snap.json"
    binary = build("concurrent")
    for _ in range(10):
        alive = f"python\nif gdb.selected_inferior().pid: gdb.execute('hmap snapshot --json {snap}')\nend\n"
        out = gdb(binary, "hmap catch fatal\nrun\n" + alive + "kill\n")
        if "hmap catch fatal: fatal error:" not in out:
            continue
        assert "fatal error: concurrent map writes" in out
        detected = re.search(r"detected by goroutine (\d+) \(LWP \d+\) in (assign|grow|split)", out)
        other = re.search(r"also in a map role: goroutine (\d+) \(LWP \d+\) in (\w+)", out)
        if detected and other:
            assert detected.group(1) != other.group(1)
            assert "at main.writer at concurrent.go:" in out
            return
    raise AssertionError("no run showed both writers:\n" + out)


def test_print_is_exact_between_states():
    """Stopped between the stores that move a map from one state to the next: inside
    replaceTable's loop (a grow's or a split's directory entries half repointed), between a new
    directory's dirPtr and dirLen, and between a small map's dirPtr and dirLen in growToTable.
    Each print lists exactly ``used`` entries (no write is in progress there), none twice."""
    source = os.path.join(os.path.dirname(os.path.dirname(GO)), "src", "internal", "runtime", "maps", "map.go")
    lines = open(source).read().splitlines()
    wanted = ("m.directorySet(uintptr(nt.index+i), nt)", "m.dirLen = len(newDir)", "m.dirLen = len(directory)")
    numbers = [i + 1 for i, line in enumerate(lines) if line.strip() in wanted]
    breaks = "\n".join(f"break {source}:{n}" for n in numbers)
    script = f"""
set environment GODEBUG=asyncpreemptoff=1
hmap profile
break main.checkpoint
run > /dev/null
python header = int(gdb.parse_and_eval("m"))
delete
{breaks}
break main.checkpoint
python
import gdb
while gdb.selected_inferior().pid:
    gdb.execute("continue")
    frame = gdb.selected_frame()
    if frame.name() == "main.checkpoint":
        if int(frame.read_var("id")) == 5:
            break
        continue
    if int(frame.read_var("m")) != header:
        continue
    text = gdb.execute(f"hmap print {{header:#x}} --type 'map[int64]int64' --all", to_string=True)
    print("BETWEEN", frame.name(), frame.find_sal().line, text.strip())
end
kill
"""
    out = gdb(build("checkpoints"), script, timeout=300)
    stops = [line.split(" ", 3)[1:] for line in out.splitlines() if line.startswith("BETWEEN ")]
    where = {(fn.split(".")[-1], int(line)) for fn, line, _ in stops}
    assert {fn for fn, _ in where} >= {"replaceTable", "installTableSplit", "growToTable"}, where
    assert len(stops) > 10, stops
    for fn, line, text in stops:
        count, pairs, duplicates = parse_entries(text)
        assert duplicates == 0 and len(pairs) == count, (fn, line, count, len(pairs))
        assert set(pairs) <= set(range(0, 10_000)) and all(v == 10 * k + 1 for k, v in pairs.items())


def test_probes_on_one_map_and_print_there():
    """hmap break ROLE --probe NAME --map m: gdb stops only in m's grows and splits, at each
    probe's statement, and the map prints exactly there."""
    script = """
set environment GODEBUG=asyncpreemptoff=1
hmap profile
break main.checkpoint
run > /dev/null
python header = int(gdb.parse_and_eval("m"))
delete
hmap break grow --probe grow-started --map m
hmap break grow --probe grow-finished --map m
hmap break split --probe split-started --map m
hmap break split --probe split-finished --map m
break main.checkpoint
python
import gdb
while gdb.selected_inferior().pid:
    gdb.execute("continue")
    frame = gdb.selected_frame()
    if frame.name() == "main.checkpoint":
        if int(frame.read_var("id")) == 4:
            break
        continue
    text = gdb.execute(f"hmap print {header:#x} --type 'map[int64]int64' --all", to_string=True)
    print("PROBE", frame.name(), frame.find_sal().line, int(frame.read_var("m")) == header, text.strip())
end
kill
"""
    out = gdb(build("checkpoints"), script, timeout=300)
    stops = [line.split(" ", 4)[1:] for line in out.splitlines() if line.startswith("PROBE ")]
    functions = {fn.split(".")[-1] for fn, _, _, _ in stops}
    assert functions == {"grow", "growToTable", "split"}, functions
    assert all(ours == "True" for _, _, ours, _ in stops), stops
    for fn, line, _, text in stops:
        count, pairs, duplicates = parse_entries(text)
        assert duplicates == 0 and len(pairs) == count, (fn, line)
