"""Go programs for the Swiss-table map tests: built with Go 1.26 (/usr/local/go) or, when the go
command has them cached, Go 1.24 and 1.25 toolchains (never downloaded here)."""

import os
import re
import shutil
import subprocess

from conftest import REPO, TARGET, missing

GO = os.environ.get("MAPSCOPE_GO126", "/usr/local/go/bin/go")
SOURCES = REPO / "crates" / "mapscope" / "tests" / "go" / "swiss"
#: Toolchains besides the installed one, tested when cached.
OTHER = ("go1.24.13", "go1.25.7")
_OUT = TARGET / "swiss-go"


def go_version(go):
    try:
        out = subprocess.run([go, "version"], capture_output=True, text=True, env=_env(), timeout=60).stdout
    except OSError:
        return None
    m = re.search(r"go version (go\d+\.\d+(\.\d+)?)", out)
    return m.group(1) if m else None


def _env(**extra):
    env = dict(os.environ, GOTOOLCHAIN="local", GO111MODULE="off", GOFLAGS="", GOPROXY="off")
    env.pop("GOEXPERIMENT", None)
    env.update(extra)
    return env


def installed_go():
    """The Go 1.26 go command (the tests fail under MAPSCOPE_REQUIRE_FIXTURES without it)."""
    version = go_version(GO) if os.path.exists(GO) else None
    if not version or not version.startswith("go1.26"):
        missing(f"Go 1.26 is not installed at {GO}")
    return GO, version


def cached_go(version):
    """The go command of a cached toolchain, or None (with a skip line printed by the caller)."""
    if not shutil.which("go") and not os.path.exists(GO):
        return None
    env = dict(os.environ, GOTOOLCHAIN=version, GOPROXY="off")
    env.pop("GO111MODULE", None)  # the go command switches toolchains in module mode only
    try:
        out = subprocess.run([GO, "env", "GOROOT"], capture_output=True, text=True, env=env, cwd="/", timeout=60)
    except OSError:
        return None
    root = out.stdout.strip()
    go = os.path.join(root, "bin", "go")
    if out.returncode != 0 or not os.path.exists(go) or go_version(go) != version:
        return None
    return go


def build(name, go=None, optimised=False):
    """Builds ``name``.go from the Swiss test programs; returns the binary's path."""
    if go is None:
        go, _ = installed_go()
    version = go_version(go)
    _OUT.mkdir(parents=True, exist_ok=True)
    binary = _OUT / f"{name}-{version}{'-O' if optimised else ''}"
    flags = [] if optimised else ["-gcflags=all=-N -l"]
    env = _env(GOCACHE=str(_OUT / "cache"), GOPATH=str(_OUT / "gopath"))
    subprocess.run(
        [go, "build", *flags, "-o", str(binary), str(SOURCES / f"{name}.go")],
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )
    return binary


def parse_truth(path):
    """``{checkpoint: (label, view, {key: value})}`` from the program's output: ``view`` is its
    own account of its map (used, dirLen, tables, tombstones)."""
    found = {}
    lines = open(path).read().splitlines()
    for i, line in enumerate(lines):
        m = re.fullmatch(r"checkpoint (\d+) (\S+): (.*)", line)
        if not m:
            continue
        view = {k: int(v) for k, v in (p.split("=") for p in m.group(3).split())}
        body = lines[i + 1].strip("{}")
        pairs = [p.split(": ") for p in body.split(", ")] if body else []
        found[int(m.group(1))] = (m.group(2), view, {int(k): int(v) for k, v in pairs})
    return found


def parse_entries(text):
    """``(count, {key: value}, duplicates)`` of a printed ``map[K]V with N entries = {...}``."""
    m = re.search(r"with (\d+) entries = \{(.*)\}", text, re.S)
    if m is None and re.search(r"with 0 entries$", text.strip()):
        return 0, {}, 0  # gdb prints an empty map's summary alone
    assert m, text[:500]
    pairs = re.findall(r"\[(-?\d+)\] = (-?\d+)", m.group(2))
    keys = [int(k) for k, _ in pairs]
    return int(m.group(1)), {int(k): int(v) for k, v in pairs}, len(keys) - len(set(keys))
