#!/usr/bin/env python3
"""Driver for bench.sh: runs each command BENCH_RUNS times, reports the median wall
time and the peak RSS (from wait4's rusage), every time as a multiple of the
independent floor (bench/floor.c: map the file, read every .debug_* byte once),
and rewrites the "DWARF inspector" section of docs/BENCHMARKS.md."""

import os
import platform
import re
import statistics
import subprocess
import sys
import time

root = sys.argv[1]
runs = int(os.environ.get("BENCH_RUNS", "5"))
M = os.path.join(root, "target/release/mapscope")
FLOOR = os.path.join(root, "target/mapscope-floor")  # built by bench.sh from bench/floor.c


def run_once(cmd):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return time.perf_counter() - t0, ru.ru_maxrss, status  # maxrss in KiB on Linux


def measure(cmd, n=runs):
    times, rss, status = [], 0, 0
    for _ in range(n):
        t, r, status = run_once(cmd)
        times.append(t)
        rss = max(rss, r)
    return statistics.median(times) * 1000, rss / 1024, os.waitstatus_to_exitcode(status)


def measure_alternating(cmds, n=runs):
    """Runs the commands in turn, n rounds, so that a change of load hits them all alike."""
    times = {k: [] for k in cmds}
    rss = dict.fromkeys(cmds, 0)
    status = dict.fromkeys(cmds, 0)
    for _ in range(n):
        for k, cmd in cmds.items():
            t, r, status[k] = run_once(cmd)
            times[k].append(t)
            rss[k] = max(rss[k], r)
    return {k: (statistics.median(times[k]) * 1000, rss[k] / 1024, os.waitstatus_to_exitcode(status[k])) for k in cmds}


def section_size(binary, name):
    out = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True).stdout
    total = 0
    for line in out.splitlines():
        m = re.search(r"\]\s+(\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m and m.group(1).startswith(name):
            total += int(m.group(2), 16)
    return total


targets = []
fixture = os.path.join(root, "target/debug/grow")
if not os.path.exists(fixture):
    fixture = os.path.join(root, "target/debug/concurrent-writes")
targets.append(
    (
        f"(a) fixture `{os.path.basename(fixture)}`",
        fixture,
        "gomap::runtime::Hmap<i64, i64>",
        "gomap::runtime::Hmap::<i64, i64>",
        "Hmap<i64, i64>",
        "Hmap",
        "gomap::runtime::grow::hash_grow",
        "grow.rs:41",
    )
)
targets.append(
    (
        "(b) mapscope release",
        M,
        "mapscope::types::Layout",
        "mapscope::types::Layout",
        "Layout",
        "Layout",
        "mapscope::types::render_table",
        "types.rs:300",
    )
)
large = os.path.join(root, "target/bench-corpus/release/mapscope-bench-corpus")
if os.path.exists(large):
    targets.append(
        (
            "(c) large corpus (bench/corpus)",
            large,
            "regex_automata::meta::regex::Regex",
            "regex_automata::meta::regex::Regex",
            "Regex",
            "Regex",
            "regex::regex::string::Regex::new",
            "regex/string.rs:180",
        )
    )

load = open("/proc/loadavg").read().split()[:3]
rows, checks = [], []
cache_dir = os.path.join(root, "target/bench-cache")
for label, binary, ours, gdbname, dumpname, pahname, sym, fileline in targets:
    dsize = section_size(binary, ".debug_info") / 1e6
    alldbg = section_size(binary, ".debug_") / 1e6
    slow_runs = 1 if dsize > 40 else min(runs, 3)
    fast = measure_alternating(
        {
            "floor": [FLOOR, binary],
            "own": [M, "read-sections", binary],
            "me": [M, "offsets", binary, ours],
            "me1": ["env", "MAPSCOPE_THREADS=1", M, "offsets", binary, ours],
            "syi": [M, "symbols", binary, sym],
            "sy": [M, "symbols", binary, sym, "--no-inlined"],
            "fl": [M, "lines", binary, fileline],
        }
    )
    floor, own, me, me1, syi, sy, fl = (fast[k] for k in ("floor", "own", "me", "me1", "syi", "sy", "fl"))
    # What the first hmap command of a debugger session waits for, on a program with a map runtime.
    prof = measure([M, "profile", binary]) if binary == fixture else None
    cache_env = ["env", "MAPSCOPE_CACHE_DIR=" + cache_dir, "MAPSCOPE_CACHE_MIN_BYTES=0"]
    subprocess.run(["rm", "-rf", cache_dir])
    build = measure(cache_env + [M, "offsets", "--cache", binary, ours], 1)
    cached = measure(cache_env + [M, "offsets", "--cache", binary, ours])
    gdb = measure(["gdb", "-nx", "-batch", "-ex", "ptype /o " + gdbname, binary], slow_runs)
    dd = measure(["llvm-dwarfdump", "--name=" + dumpname, binary], slow_runs)
    ph = measure(["pahole", "-C", pahname, binary], slow_runs)
    base = floor[0]

    def row(tool, r, note="", label=label, dsize=dsize, base=base):
        rows.append(f"| {label} | {dsize:.1f} | {tool} | {r[0]:.1f} | {r[0] / base:.2f}x | {r[1]:.0f} | {note} |")

    row("floor (independent): `floor.c` reads all .debug_* once", floor)
    row("mapscope read-sections (its own floor)", own)
    row("mapscope offsets (default threads)", me)
    row("mapscope offsets (1 thread)", me1)
    row("mapscope offsets --cache, first query (builds catalog)", build)
    row("mapscope offsets --cache, later queries", cached)
    row("gdb `ptype /o`", gdb)
    row("llvm-dwarfdump `--name`", dd)
    row("pahole `-C`", ph, "cannot show Rust generic structs" if "<" in ours else "")
    row("mapscope symbols (default: with inlined instances)", syi)
    row("mapscope symbols --no-inlined", sy)
    row("mapscope lines FILE:LINE", fl)
    if prof is not None:
        row("mapscope profile (the map-target profile)", prof)
    checks.append(
        f"- {label}: type lookup {me[0] / floor[0]:.1f}x the floor (goal <= 2x), 1 thread "
        f"{me1[0] / floor[0]:.1f}x, mapscope's own read-sections {own[0] / floor[0]:.1f}x; "
        f"gdb {gdb[0] / me[0]:.1f}x slower than mapscope (>= 20x; {gdb[0] / cached[0]:.0f}x with the warm cache); "
        f"pahole {ph[0] / me[0]:.1f}x slower (>= 100x; {ph[0] / cached[0]:.0f}x with the warm cache); "
        f"first --cache query {build[0]:.0f} ms (<= 300 ms); "
        f"peak RSS {me[1]:.0f} MB for {alldbg:.0f} MB of DWARF = {me[1] / max(alldbg, 1e-9):.2f}x (<= 1.5x); "
        f"symbols {syi[0]:.1f} ms (<= 100 ms; --no-inlined {sy[0]:.1f} ms); file:line {fl[0]:.1f} ms (< 60 ms)"
        + (f"; profile {prof[0]:.1f} ms (<= 60 ms)" if prof is not None else "")
    )

load_after = open("/proc/loadavg").read().split()[0]
cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
section = (
    [
        "## DWARF inspector",
        "",
        f"Command: `crates/mapscope/bench/bench.sh` (`BENCH_LARGE=1` adds target (c)); median of {runs} runs "
        f"(1 to 3 for the slow tools), warm page cache; the floor, read-sections, offsets, symbols and lines runs "
        f"alternate (one of each per round). Machine: {cpu}, `nproc` = {os.cpu_count() or 0}, "
        f"{platform.platform()}; load average before the run {load[0]}, after {load_after}. Peak RSS from "
        "wait4(2). Ratios are against the independent floor: `crates/mapscope/bench/floor.c` (cc -O2) maps the "
        "file and reads every byte of every .debug_* section once, the least any reader of the whole DWARF must do.",
        "",
        "| target | .debug_info MB | tool | median ms | x floor | peak RSS MB | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    + rows
    + ["", "Goals (issue 15):", ""]
    + checks
    + [""]
)
path = os.path.join(root, "docs/BENCHMARKS.md")
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n"
block = "\n".join(section) + "\n"
pat = re.compile(r"^## DWARF inspector\n.*?(?=^## |\Z)", re.S | re.M)
text = pat.sub(lambda _: block, text) if pat.search(text) else text.rstrip("\n") + "\n\n" + block
open(path, "w").write(text)
print(block)
