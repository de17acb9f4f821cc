#!/usr/bin/env python3
"""The first map a user prints: a whole debugger session to that print, with and without mapscope.

Each session starts the debugger on a fixture, stops at its first checkpoint, prints the map there
and kills the program; the time is the session's wall time. Three kinds of session alternate, one
of each per round, in gdb and lldb:

- plain: no mapscope (gdb prints gomap's header struct, or a Go map as a pointer);
- cold: mapscope loaded, its profile cache empty (the profile is built in this session);
- warm: mapscope loaded, the profile cached by an earlier session.

On Go programs lldb has no language support: plain lldb shows the frame's variables
(`frame variable`), mapscope's sessions `hmap print m`. Python writes its bytecode caches (as on
a user's machine; this bench unsets PYTHONDONTWRITEBYTECODE and warms them first).

usage: bench/first_print.py [ROUNDS]     (default 15; writes the section of docs/BENCHMARKS.md)
"""

import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECTION = "The first map printed in a session"
GDB_SCRIPT = "gdb-scripts/mapscope.py"
LLDB_SCRIPT = "command script import lldb-scripts/mapscope.py"

# (label, binary, breakpoint, what gdb prints, lldb without mapscope, lldb with, text a printed map shows)
TARGETS = [
    ("gomap `grow`", "target/debug/grow", "grow::checkpoint", "print *map", "p *map", "p *map", "with 105 entries"),
    (
        "Go 1.19 `go-grow`",
        "target/debug/go-grow",
        "main.checkpoint",
        "print m",
        "frame variable",
        "hmap print m",
        "entries",
    ),
]


def session(debugger, binary, stop, show, mapscope, cache):
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if debugger == "gdb":
        load = ["-x", GDB_SCRIPT] if mapscope else []
        cmd = ["gdb", "-nx", "-batch", *load, "-ex", f"break {stop}", "-ex", "run", "-ex", show, "-ex", "kill", binary]
    else:
        load = ["-o", LLDB_SCRIPT] if mapscope else []
        cmd = ["lldb-16", "-b", *load, "-o", f"b {stop}", "-o", "run", "-o", show, "-o", "kill", binary]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    return time.perf_counter() - start, done.stdout + done.stderr


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    load = open("/proc/loadavg").read().split()[:3]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"{os.cpu_count()} CPUs ({cpu}), Linux {platform.release()}, load average {' '.join(load)} at start, {stamp}"


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    if rounds < 1:
        sys.exit("first_print.py: ROUNDS must be a positive number")
    for tool in ("gdb", "lldb-16"):
        if not shutil.which(tool):
            sys.exit(f"first_print.py: {tool} not found")
    tool = os.environ.get("MAPSCOPE") or str(ROOT / "target/release/mapscope")
    if not Path(tool).is_file():
        sys.exit(f"first_print.py: no mapscope at {tool}: cargo build --release -p mapscope")
    os.environ["MAPSCOPE"] = tool
    for _, binary, *_ in TARGETS:
        if not (ROOT / binary).is_file():
            sys.exit(f"first_print.py: {binary} not built (make fixtures go-fixtures)")
    about = machine()
    rows, verdicts = [], []
    with tempfile.TemporaryDirectory() as tmp:
        warm_cache = os.path.join(tmp, "warm")
        for label, binary, stop, gdb_show, lldb_plain, lldb_show, expect in TARGETS:
            for debugger in ("gdb", "lldb"):
                plain_show = gdb_show if debugger == "gdb" else lldb_plain
                with_show = gdb_show if debugger == "gdb" else lldb_show
                # Bytecode caches and the warm profile cache, made before any timed session.
                session(debugger, binary, stop, with_show, True, warm_cache)
                times = {"plain": [], "cold": [], "warm": []}
                for r in range(rounds):
                    print(f"\r{label}, {debugger}: round {r + 1} of {rounds}", end="", file=sys.stderr, flush=True)
                    cold_cache = os.path.join(tmp, f"cold-{debugger}-{r}")
                    for kind, mapscope, show, cache in (
                        ("plain", False, plain_show, cold_cache),
                        ("cold", True, with_show, cold_cache),
                        ("warm", True, with_show, warm_cache),
                    ):
                        seconds, out = session(debugger, binary, stop, show, mapscope, cache)
                        if mapscope and expect not in out:
                            sys.exit(f"\nfirst_print.py: {debugger} {kind} session printed no map:\n{out[-800:]}")
                        times[kind].append(seconds)
                print("\r\033[K", end="", file=sys.stderr)
                med = {k: statistics.median(v) * 1000 for k, v in times.items()}
                cold, warm = med["cold"] / med["plain"], med["warm"] / med["plain"]
                rows.append(
                    f"| {label} | {debugger} | `{plain_show}` / `{with_show}` | {med['plain']:.0f} | "
                    f"{med['cold']:.0f} | {cold:.2f}x | {med['warm']:.0f} | {warm:.2f}x |"
                )
                print(rows[-1])
                verdicts.append(f"{label} in {debugger} {cold:.2f}x ({'met' if cold <= 1.2 else 'missed'})")
    text = "\n".join(
        [
            f"## {SECTION}",
            "",
            "A whole session to the first map printed: the debugger starts on a fixture, stops at its first",
            "checkpoint, prints the map there and kills the program. Without mapscope (plain), with mapscope",
            "and an empty profile cache (cold: the profile is built in the session, in the background while",
            "the debugger loads the program), and with the profile cached by an earlier session (warm).",
            "lldb 16 has no Go support: there plain lldb shows the frame's variables, mapscope `hmap print m`.",
            f"Median wall time of {rounds} sessions of each kind, alternating; Python's bytecode caches warm.",
            "",
            f"Command: `bench/first_print.py {rounds}` (release `mapscope`).",
            f"Machine: {about}.",
            "",
            "| Program | Debugger | Plain / with mapscope | Plain (ms) | Cold (ms) | Cold / plain | Warm (ms) "
            "| Warm / plain |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
            *rows,
            "",
            "Target: the first print of a cold session within 1.2x of the plain session: " + "; ".join(verdicts) + ".",
        ]
    )
    subprocess.run(
        [sys.executable, str(ROOT / "bench/update-section.py"), str(ROOT / "docs/BENCHMARKS.md"), SECTION],
        input=text,
        text=True,
        check=True,
    )
    print(f"wrote section '{SECTION}' of docs/BENCHMARKS.md")


if __name__ == "__main__":
    main()
