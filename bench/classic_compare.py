#!/usr/bin/env python3
"""Classic maps side by side: mapscope (in gdb and in lldb), the runtime-gdb.py of the program's
own Go version (gdb's auto-load, no mapscope) and Delve print the same map at the same
checkpoints of fixtures/go/cmd/grow, built with Go 1.19 and Go 1.22, each checked against the
program's own truth for that run (``-print``: the shadow it keeps beside the map). Writes the
table into docs/COMPARISON.md, section "Classic maps".

usage: bench/classic_compare.py [--dlv PATH] [--no-write]

Go 1.19 is Debian's (/usr/lib/go-1.19/bin/go); Go 1.22 is the toolchain the go command fetches
through the module proxy (``GOTOOLCHAIN=go1.22.12 go version`` fetches it once; a version that
cannot be had is skipped with a line saying so). Delve as for bench/swiss_compare.py:
    GOBIN=/tmp/dlv-bin /usr/local/go/bin/go install github.com/go-delve/delve/cmd/dlv@latest
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
sys.path.insert(0, str(ROOT / "bench"))

from swiss_compare import dlv_run, gdb_run, lldb_run, markdown_table, row, run  # noqa: E402

GO119 = "/usr/lib/go-1.19/bin/go"
GO_OTHER = "go1.22.12"
ARGS = "-print"
#: grow's checkpoints with its default -b 5 (it says how many it passed: "grow: 8 checkpoints ok").
CHECKPOINTS = 8
SECTION = "Classic maps"


def go_of(version):
    """The go command of ``version`` (fetched by the installed go command if needed), or None."""
    if version == "go1.19":
        return GO119 if os.path.exists(GO119) else None
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = dict(os.environ, GOTOOLCHAIN=version)
    env.pop("GO111MODULE", None)
    done = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, env=env, cwd="/", timeout=600)
    path = Path(done.stdout.strip()) / "bin" / "go"
    return str(path) if done.returncode == 0 and path.exists() else None


def build(go, work, optimised):
    """fixtures/go/cmd/grow built by ``go`` into ``work``; returns its path and version line."""
    version = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.split()[2]
    out = work / f"grow-{version}{'-O' if optimised else ''}"
    env = dict(
        os.environ,
        GOCACHE=str(work / "cache"),
        GOPATH=str(work / "gopath"),
        GOFLAGS="",
        GOWORK="off",
        GO111MODULE="on",
        GOPROXY="off",
        GOTOOLCHAIN="local",
    )
    env.pop("GOEXPERIMENT", None)
    flags = [] if optimised else ["-gcflags=all=-N -l"]
    subprocess.run(
        [go, "build", *flags, "-o", str(out), "./cmd/grow"],
        cwd=ROOT / "fixtures" / "go",
        env=env,
        check=True,
        capture_output=True,
    )
    return out, version


def parse_truth(path):
    """``{checkpoint: (label, header text, {key: value})}`` from grow's ``-print`` output."""
    found = {}
    lines = Path(path).read_text().splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"checkpoint (\d+) (\S+): (.*)", line)
        if not m or i + 1 >= len(lines):
            continue
        body = lines[i + 1].strip("{}")
        pairs = [p.split(": ") for p in body.split(", ")] if body else []
        found[int(m.group(1))] = (m.group(2), m.group(3), {int(k): int(v) for k, v in pairs})
    return found


def shape(header):
    """``105 entries, B=5, growing`` from grow's header line."""
    fields = dict(p.split("=") for p in header.split())
    text = f"{fields['count']} entries, B={fields['B']}"
    return text + (", growing" if fields.get("growing") == "true" else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlv", default="/tmp/dlv-bin/dlv")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    dlv = args.dlv if os.path.exists(args.dlv) else shutil.which("dlv")
    dlv_version = run([dlv, "version"]).split("Version: ")[1].split()[0] if dlv else None
    tools = [
        "mapscope (gdb)",
        "mapscope (lldb)",
        "runtime-gdb.py of that Go (gdb)",
        f"Delve {dlv_version or '(not installed)'}",
    ]
    rows, versions = [], []
    work = Path(tempfile.mkdtemp(prefix="classic-compare-"))
    for wanted in ("go1.19", GO_OTHER):
        go = go_of(wanted)
        if go is None:
            print(f"classic_compare: skipping {wanted}: its go command cannot be had", file=sys.stderr)
            continue
        for optimised in (False, True):
            binary, version = build(go, work, optimised)
            if not optimised:
                versions.append(version)
            flavour = f"{version}, {'optimised' if optimised else '-N -l'}"
            results, truths = [], []
            for i in range(len(tools)):
                truth_file = work / f"truth-{version}-{optimised}-{i}.txt"
                if i == 0:
                    printed = gdb_run(binary, truth_file, mapscope=True, args=ARGS)
                elif i == 1:
                    printed = lldb_run(binary, truth_file, args=ARGS, checkpoints=CHECKPOINTS)
                elif i == 2:
                    printed = gdb_run(binary, truth_file, mapscope=False, args=ARGS)
                elif dlv:
                    # Delve refuses Go versions older than its support window unless told not to.
                    flags = ["--check-go-version=false"]
                    printed = dlv_run(dlv, binary, truth_file, [ARGS], CHECKPOINTS, flags)
                else:
                    printed, truth_file = {}, None
                results.append(printed)
                truths.append(parse_truth(truth_file) if truth_file and truth_file.exists() else {})
            for n in range(1, CHECKPOINTS + 1):
                if n not in truths[0]:
                    continue
                label, header, _ = truths[0][n]
                rows.append(row(flavour, f"{n} {label} ({shape(header)})", n, truths, results))
    shutil.rmtree(work, ignore_errors=True)
    table = markdown_table(tools, rows)
    print(table)
    if args.no_write:
        return 0
    section = "\n".join(
        [
            f"## {SECTION}",
            "",
            f"`bench/classic_compare.py` on {' and '.join(versions)}: `fixtures/go/cmd/grow -print`, built with",
            "`-gcflags=all=-N -l` and optimised, stopped at each of its checkpoints (a doubling just started,",
            "half done and finished, deletes, a same-size grow started, half done and finished, the end);",
            "`print m` (gdb, with mapscope's printer or with the runtime-gdb.py that gdb auto-loads from the",
            "program's own GOROOT; Delve) or `hmap print m --all` (lldb), all entries. Each run has its own hash",
            "seed; each cell is judged against the truth its own run printed: `exact (N)`, or how many entries",
            "were printed, missing, printed twice, or printed with a key or value the map does not hold.",
            "",
            table,
        ]
    )
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "update-section.py"), str(ROOT / "docs" / "COMPARISON.md"), SECTION],
        input=section + "\n",
        text=True,
        check=True,
    )
    print("written to docs/COMPARISON.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
