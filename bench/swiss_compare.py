#!/usr/bin/env python3
"""Swiss-table maps side by side: mapscope (in gdb and in lldb), Go's own runtime-gdb.py (gdb's
auto-load, no mapscope) and Delve print the same map at the same checkpoints of the same Go 1.26
program, each checked against the program's own truth for that run (the contents of the shadow
it keeps beside the map). Writes the table into docs/COMPARISON.md, section "Swiss-table maps".

usage: bench/swiss_compare.py [--dlv PATH] [--no-write]

Delve is not vendored: install a release into a temporary GOBIN first, for example
    GOBIN=/tmp/dlv-bin /usr/local/go/bin/go install github.com/go-delve/delve/cmd/dlv@latest
(the default --dlv is /tmp/dlv-bin/dlv; without it the Delve column says so).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python" / "tests"))
sys.path.insert(0, str(ROOT / "python"))

from swissgo import build, installed_go, parse_truth  # noqa: E402

CHECKPOINTS = 7
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(args, timeout=600, **kw):
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)
    return _ANSI.sub("", done.stdout + done.stderr)


GDB_LOOP = """
python
import gdb
while gdb.selected_inferior().pid:
    n = int(gdb.selected_frame().read_var("id"))
    try:
        text = gdb.execute("print m", to_string=True)
    except gdb.error as e:
        text = "ERROR " + str(e)
    print("CP", n, text.replace("\\n", " "))
    gdb.execute("continue")
end
"""


def gdb_run(binary, truth, mapscope, printer=None, args=""):
    """``{checkpoint: printed text}`` of ``print m`` in gdb, with mapscope's printer, with Go's
    runtime-gdb.py (auto-loaded, mapscope not loaded), or with the printer script ``printer``;
    ``args`` are the program's arguments."""
    head = "set pagination off\nset confirm off\nset print elements unlimited\n"
    head += "set environment GODEBUG=asyncpreemptoff=1\n"
    if mapscope:
        head += "source gdb-scripts/mapscope.py\n"
    if printer:
        head += f"source {printer}\n"
    script = head + f"break main.checkpoint\nrun {args} > {truth}\n" + GDB_LOOP + "quit 0\n"
    with tempfile.NamedTemporaryFile("w", suffix=".gdb") as f:
        f.write(script)
        f.flush()
        iex = [] if mapscope or printer else ["-iex", "set auto-load safe-path /"]
        out = run(["gdb", "-nx", "-batch", *iex, "-x", f.name, str(binary)])
    found = {}
    for line in out.splitlines():
        m = re.match(r"CP (\d+) (.*)", line)
        if m:
            found[int(m.group(1))] = m.group(2)
    return found


def lldb_run(binary, truth, args="", checkpoints=CHECKPOINTS):
    commands = [
        "command script import lldb-scripts/mapscope.py",
        "settings set target.env-vars GODEBUG=asyncpreemptoff=1",
        "process handle SIGURG -n false -p true -s false",
        "hmap profile",
        "b main.checkpoint",
        f"process launch -o {truth} -- {args}",
    ] + ["hmap print m --all", "c"] * checkpoints
    with tempfile.NamedTemporaryFile("w", suffix=".lldb") as f:
        f.write("\n".join(commands) + "\n")
        f.flush()
        out = run(["lldb-16", "-b", "-o", f"command source -e false -c false {f.name}", str(binary)])
    prints = [p.split("(lldb) ", 1)[0].strip() for p in out.split("(lldb) hmap print m --all\n")[1:]]
    return {i + 1: text for i, text in enumerate(prints)}


def dlv_run(dlv, binary, truth, args=(), checkpoints=CHECKPOINTS, flags=()):
    lines = ["config max-array-values 1000000", "config source-list-line-count 0", "break main.checkpoint"]
    lines += ["continue", "print m"] * checkpoints + ["exit"]
    with tempfile.NamedTemporaryFile("w", suffix=".dlv") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        out = run(
            [
                dlv,
                "exec",
                *flags,
                "--allow-non-terminal-interactive=true",
                "--init",
                f.name,
                "-r",
                f"stdout:{truth}",
                "-r",
                "stdin:/dev/null",
                str(binary),
                *(["--", *args] if args else []),
            ],
            stdin=subprocess.DEVNULL,
            env=dict(os.environ, GODEBUG="asyncpreemptoff=1", TERM="dumb"),
        )
    blocks = re.findall(r"map\[int64\]int64 \[(.*?)\]", out, re.S)
    return {i + 1: "{" + b + "}" for i, b in enumerate(blocks)}


def fixed_runtime_gdb(go, work):
    """A copy of the GOROOT's runtime-gdb.py whose directory walk indexes the directory array
    rather than a pointer to it (``tables[t]`` -> ``tables.dereference()[t]``), to see what its
    loop does with shared directory entries once it reads them. None if the line is not there."""
    original = Path(go).resolve().parents[1] / "src" / "runtime" / "runtime-gdb.py"
    text = original.read_text()
    if "\t\t\ttable = tables[t]\n" not in text:
        return None
    fixed = work / "runtime-gdb-indexing-fixed.py"
    fixed.write_text(text.replace("\t\t\ttable = tables[t]\n", "\t\t\ttable = tables.dereference()[t]\n"))
    return fixed


def pairs(text):
    """The (key, value) pairs a tool printed, in its order: gdb's ``[k] = v``, Delve's ``k: v``."""
    found = re.findall(r"\[(-?\d+)\] = (-?\d+)", text)
    if not found:
        found = re.findall(r"(-?\d+): (-?\d+)", text)
    return [(int(k), int(v)) for k, v in found]


def judge(truth, text):
    """A cell: ``exact`` or what is wrong."""
    if text is None:
        return "no output"
    if text.startswith("ERROR") or "<map:" in text:
        return "error: " + text[:60]
    got = pairs(text)
    keys = [k for k, _ in got]
    missing = len(set(truth) - set(keys))
    twice = len(keys) - len(set(keys))
    wrong = sum(1 for k, v in got if truth.get(k) != v)
    if not (missing or twice or wrong) and len(got) == len(truth):
        return f"exact ({len(got)})"
    parts = [f"{len(got)} printed"]
    parts += [f"{missing} missing"] if missing else []
    parts += [f"{twice} twice"] if twice else []
    parts += [f"{wrong} wrong"] if wrong else []
    error = re.search(r"<error reading variable: ([^>]*)>", text)
    parts += [f"then an error ({error.group(1)[:40]})"] if error else []
    # A printer that raises (runtime-gdb.py): gdb prints the exception instead of the children.
    raised = re.search(r"Python Exception <[^>]*>: ([^.]*)", text)
    parts += [f"then an error ({raised.group(1)})"] if raised else []
    more = re.search(r"\.\.\.\+(\d+) more", text)
    parts += [f'"...+{more.group(1)} more"'] if more else []
    return ", ".join(parts)


def row(flavour, checkpoint, n, truths, results):
    """One table row: each tool's printout at checkpoint ``n`` judged against its own run's truth."""
    cells = [judge(t[n][2], r.get(n)) if n in t else "not run" for t, r in zip(truths, results, strict=True)]
    return f"| {flavour} | {checkpoint} | " + " | ".join(cells) + " |"


def markdown_table(tools, rows):
    return "\n".join(
        [
            "| build | checkpoint (the run of the mapscope/gdb column) | " + " | ".join(tools) + " |",
            "| --- | --- | " + " | ".join("---" for _ in tools) + " |",
            *rows,
        ]
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlv", default="/tmp/dlv-bin/dlv")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    go, version = installed_go()
    dlv = args.dlv if os.path.exists(args.dlv) else shutil.which("dlv")
    dlv_version = run([dlv, "version"]).split("Version: ")[1].split()[0] if dlv else None
    tools = [
        "mapscope (gdb)",
        "mapscope (lldb)",
        "runtime-gdb.py (gdb)",
        "runtime-gdb.py, indexing fixed",
        f"Delve {dlv_version or '(not installed)'}",
    ]
    rows = []
    work = Path(tempfile.mkdtemp(prefix="swiss-compare-"))
    fixed = fixed_runtime_gdb(go, work)
    for optimised in (False, True):
        binary = build("checkpoints", go, optimised=optimised)
        flavour = "optimised" if optimised else "-N -l"
        results, truths = [], []
        for i in range(len(tools)):
            truth_file = work / f"truth-{optimised}-{i}.txt"
            if i == 0:
                printed = gdb_run(binary, truth_file, mapscope=True)
            elif i == 1:
                printed = lldb_run(binary, truth_file)
            elif i == 2:
                printed = gdb_run(binary, truth_file, mapscope=False)
            elif i == 3:
                printed = gdb_run(binary, truth_file, mapscope=False, printer=fixed) if fixed else {}
            elif dlv:
                printed = dlv_run(dlv, binary, truth_file)
            else:
                printed, truth_file = {}, None
            results.append(printed)
            truths.append(parse_truth(truth_file) if truth_file and truth_file.exists() else {})
        for n in range(1, CHECKPOINTS + 1):
            label, view, _ = truths[0][n]
            shape = f"{view['used']} entries" + (
                f", {view['tables']} tables in {view['dirLen']} entries" if view["dirLen"] else ", small"
            )
            shape += f", {view['tombstones']} tombstones" if view["tombstones"] else ""
            rows.append(row(flavour, f"{n} {label} ({shape})", n, truths, results))
    shutil.rmtree(work, ignore_errors=True)
    table = markdown_table(tools, rows)
    print(table)
    if args.no_write:
        return 0
    section = "\n".join(
        [
            "## Swiss-table maps",
            "",
            f"`bench/swiss_compare.py` on {version}: `crates/mapscope/tests/go/swiss/checkpoints.go`, built with",
            "`-gcflags=all=-N -l` and optimised, stopped at each of its 7 checkpoints; `print m` (gdb, Delve) or",
            "`hmap print m --all` (lldb), all entries (`set print elements unlimited`, Delve's",
            "`max-array-values` raised). Each run has its own hash seed, so the maps' shapes differ between",
            "columns; each cell is judged against the truth its own run printed: `exact (N)`, or how many",
            "entries were printed, missing, printed twice, or printed with a key or value the map does not hold.",
            "",
            table,
        ]
    )
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "update-section.py"),
            str(ROOT / "docs" / "COMPARISON.md"),
            "Swiss-table maps",
        ],
        input=section + "\n",
        text=True,
        check=True,
    )
    print("written to docs/COMPARISON.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
