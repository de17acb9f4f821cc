"""The gdb front-end on the fixtures, in batch mode (each run ends with an explicit quit)."""

import json
import os
import re
import subprocess

from conftest import REPO, missing
from gdbrun import fixture, gdb
from hostile import BEFORE_RUN, says

STOP_LOOP = """
python
import gdb
while gdb.selected_inferior().pid:
    {body}
    gdb.execute("continue")
end
"""


def parse_truth(path):
    truth = {}
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        if line.startswith("checkpoint "):
            body = lines[i + 1].strip("{}")
            pairs = [p.split(": ") for p in body.split(", ")] if body else []
            truth[int(line.split()[1])] = {int(k): int(v) for k, v in pairs}
    return truth


def test_printer_equals_the_fixtures_truth_at_every_checkpoint(tmp_path):
    truth_file = tmp_path / "truth.txt"
    body = (
        'print("PRINT", int(gdb.selected_frame().read_var("id")), '
        'gdb.execute("print *map", to_string=True).split(" = ", 1)[1].strip())'
    )
    out = gdb(
        fixture("grow"),
        f"break grow::checkpoint\nrun --print > {truth_file}\n" + STOP_LOOP.format(body=body),
    )
    truth = parse_truth(truth_file)
    printed = {}
    for line in out.splitlines():
        if line.startswith("PRINT "):
            _, number, text = line.split(" ", 2)
            m = re.fullmatch(r"map\[i64\]i64 with (\d+) entries = \{(.*)\}", text)
            assert m, text
            pairs = re.findall(r"\[(-?\d+)\] = (-?\d+)", m.group(2))
            assert len(pairs) == int(m.group(1)), "count differs from the entries listed"
            assert len({k for k, _ in pairs}) == len(pairs), "an entry is listed twice"
            printed[int(number)] = {int(k): int(v) for k, v in pairs}
    assert sorted(printed) == list(range(1, 9))
    assert printed == truth


def stops(out, tag):
    return [line.split()[1:] for line in out.splitlines() if line.startswith(tag + " ")]


def test_break_evacuate_on_one_bucket_stops_only_there():
    body = 'print("STOP", int(gdb.selected_frame().read_var("oldbucket")))'
    all_stops = stops(gdb(fixture("grow"), "hmap break evacuate\nrun\n" + STOP_LOOP.format(body=body)), "STOP")
    out = gdb(fixture("grow"), "hmap break evacuate --bucket 3\nrun\n" + STOP_LOOP.format(body=body))
    # The condition reads the parameter's stack slot (from the profile), evaluated by gdb.
    assert re.search(r"if \*\(unsigned long \*\)\(\$rsp \+ \d+\) == 3", out), out
    chosen = stops(out, "STOP")
    assert chosen, "never stopped"
    assert all(s == ["3"] for s in chosen), chosen
    assert len(chosen) == sum(1 for s in all_stops if s == ["3"]), "missed an evacuation of bucket 3"
    assert len(all_stops) > len(chosen)


def test_watch_oldbuckets_sees_each_grow_start_and_finish():
    script = """
break grow::checkpoint
run
hmap watch oldbuckets *map
delete 1
python
import gdb
for _ in range(3):
    gdb.execute("continue")
end
kill
"""
    out = gdb(fixture("grow"), script)
    reports = re.findall(r"hmap watch #\d+: oldbuckets 0x[0-9a-f]+ -> 0x[0-9a-f]+ \((.*?)\) by (\S+) in thread", out)
    # Checkpoint 1 is inside the doubling to B = 5; then the same-size grow starts and ends.
    assert reports == [
        ("grow finished", "advance_evacuation_mark"),
        ("grow started", "hash_grow"),
        ("grow finished", "advance_evacuation_mark"),
    ], out


def test_catch_fatal_names_both_writers(tmp_path):
    snap = tmp_path / "snap.json"
    # Under gdb the race is a race: retry a few runs until one dies. With 2000 writes per thread
    # most runs die; with the default 100 some runs of ten did not (under load).
    for _ in range(10):
        # A run that ends without the race has nothing to snapshot: only snapshot a live one.
        alive = (
            "python\nif gdb.selected_inferior().pid:\n"
            f"    gdb.execute('hmap snapshot --json {snap}')\n    gdb.execute('kill')\nend\n"
        )
        out = gdb(fixture("concurrent-writes"), "hmap catch fatal\nrun --writes 2000\n" + alive)
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
        "hmap show id": "id is not a map (its type is u32)",
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
    script = f"""
hmap profile
break grow::checkpoint
run
continue 2
python
import gdb
for command in {list(commands)!r}:
    try:
        gdb.execute(command)
        print("NO-ERROR", command)
    except gdb.error as e:
        print("ERROR", command, "=>", str(e).replace("\\n", "\\\\n"))
end
kill
"""
    out = gdb(fixture("grow"), script)
    errors = dict(line[6:].split(" => ", 1) for line in out.splitlines() if line.startswith("ERROR "))
    for command, expected in commands.items():
        assert command in errors, f"{command} did not fail:\n{out}"
        assert expected in errors[command], (command, errors[command])
        assert "\\n" not in errors[command], f"{command}: not one line: {errors[command]}"


def test_hostile_commands_before_run_are_one_line_errors():
    script = f"""
python
import gdb
for command in {list(BEFORE_RUN)!r}:
    try:
        gdb.execute(command, to_string=True)
        print("NO-ERROR", command)
    except gdb.error as e:
        print("ERROR", command, "=>", str(e).replace("\\n", "\\\\n"))
end
"""
    out = gdb(fixture("grow"), script)
    errors = dict(line[6:].split(" => ", 1) for line in out.splitlines() if line.startswith("ERROR "))
    for command, expected in BEFORE_RUN.items():
        assert command in errors, f"{command} did not fail:\n{out}"
        assert says(errors[command], expected), (command, errors[command])
        assert "\\n" not in errors[command], f"{command}: not one line: {errors[command]}"


def test_watch_refuses_a_fifth_debug_register():
    """Four debug registers taken by the user's own watchpoints: hmap watch is refused (x86-64
    has four, a fifth fails on resume). With one freed it succeeds; watching the same map twice
    is refused."""
    script = """
break grow::checkpoint
run
python
import gdb
rsp = int(gdb.parse_and_eval("$rsp"))
gdb.execute("set language c")
for i in range(4):
    gdb.execute(f"watch *(unsigned long *){rsp + 8 * i:#x}")
gdb.execute("set language auto")
def attempt(label):
    try:
        gdb.execute("hmap watch oldbuckets *map")
    except gdb.error as e:
        print("REFUSED", label, e)
attempt("fifth")
gdb.execute("delete 2")
attempt("fourth")
attempt("again")
end
kill
"""
    out = gdb(fixture("grow"), script)
    assert re.search(r"REFUSED fifth no debug register left: x86-64 has 4, 4 in use", out), out
    assert out.count("hmap watch: watchpoint #") == 1 and "REFUSED fourth" not in out, out
    assert re.search(r"REFUSED again oldbuckets of 0x[0-9a-f]+ is watched already \(watchpoint #\d+\)", out), out


def test_break_on_one_map_while_growing():
    """--map and --growing become gdb conditions: stops only for that header, only mid-grow
    (assign also runs when the map is not growing, and a wrong header never matches)."""
    body = 'h = gdb.selected_frame().read_var("h"); print("STOP", int(h), int(h.dereference()["oldbuckets"]))'

    def run(arguments):
        script = (
            "break grow::checkpoint\nrun\ndelete 1\n"
            "python header = int(gdb.parse_and_eval('map.hmap'))\n"
            "python print('MAP', header)\n"
            f"python gdb.execute('hmap break assign ' + {arguments!r}.format(header=header))\n"
            "continue\n" + STOP_LOOP.format(body=body)
        )
        out = gdb(fixture("grow"), script)
        header = int(next(line.split()[1] for line in out.splitlines() if line.startswith("MAP ")))
        return header, stops(out, "STOP")

    header, everything = run("--map {header}")
    _, growing = run("--map {header} --growing")
    assert growing and all(int(h) == header and int(old) != 0 for h, old in growing), growing
    assert len(growing) < len(everything) and any(int(old) == 0 for _, old in everything)
    # A header that is not a map is refused (test_errors_are_one_line) rather than turned into a
    # condition that never holds.


def test_go_binary_show_and_print(tmp_path):
    """On a real Go 1.19 binary (no GNU build-id, Go's own DWARF names), with the program's own
    arithmetic as the oracle: m[i] = 2i for i < 100."""
    go = "/usr/lib/go-1.19/bin/go"
    if not os.path.exists(go):
        missing("Go 1.19 is not installed")
    binary = tmp_path / "maps"
    env = dict(os.environ, GOCACHE=str(tmp_path / "cache"), GOPATH=str(tmp_path / "gopath"), GOFLAGS="")
    src = REPO / "crates" / "mapscope" / "tests" / "go" / "maps.go"
    # -N -l: no optimisation or inlining, so that gdb can see the local map (as one debugs Go).
    build = [go, "build", "-gcflags=all=-N -l", "-o", str(binary), str(src)]
    subprocess.run(build, check=True, env=env, cwd=tmp_path)
    out = gdb(binary, "break maps.go:16\nrun\nhmap show m\nprint m\nkill\n")
    assert "map[int64]int64 at 0x" in out and "(runtime.hmap)" in out
    assert "  count       100" in out
    printed = re.search(r"= map\[int64\]int64 with 100 entries = \{(.*)\}", out)
    assert printed, out
    pairs = {int(k): int(v) for k, v in re.findall(r"\[(-?\d+)\] = (-?\d+)", printed.group(1))}
    assert pairs == {i: 2 * i for i in range(100)}
