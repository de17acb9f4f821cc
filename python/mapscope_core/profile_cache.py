"""Making profiles: running ``mapscope profile`` on a binary, and caching the result.

The cache (``$XDG_CACHE_HOME/mapscope``) is keyed by the binary's identity (GNU build-id, or Go's
build ID) and by the mapscope executable that wrote the entry, so a rebuilt mapscope (which may
describe more) makes new entries. An entry is trusted only after it passes the same checks as any
profile and describes the binary at hand; otherwise it is rebuilt.

A front-end calls :func:`prefetch` as soon as it knows the program: the build then runs in a
process of its own while the debugger reads symbols and starts the program, and the first command
that needs the profile only waits for what is left of it.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

from . import elf
from .errors import MapscopeError

_REPO = Path(__file__).resolve().parents[2]
#: How long ``mapscope profile`` may take before the debugger gives up on it.
BUILD_TIMEOUT = 120


def find_mapscope():
    """The ``mapscope`` executable: $MAPSCOPE, PATH, or this checkout's target directory."""
    explicit = os.environ.get("MAPSCOPE")
    if explicit:
        return explicit
    found = shutil.which("mapscope")
    if found:
        return found
    built = [_REPO / "target" / build / "mapscope" for build in ("release", "debug")]
    built = [p for p in built if p.is_file()]
    if built:
        return str(max(built, key=lambda p: p.stat().st_mtime))  # the freshest build
    raise MapscopeError("mapscope not found: put it on PATH, set $MAPSCOPE, or run 'cargo build -p mapscope'")


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mapscope"


def _tool_stamp(tool):
    try:
        st = os.stat(shutil.which(tool) or tool)
    except OSError:
        return "0"
    return f"{st.st_size:x}{int(st.st_mtime_ns):x}"


def cache_path(binary, tool):
    """The cache entry for ``binary`` made by ``tool``, or None when the binary has no identity."""
    identity = elf.build_id(binary) or elf.go_build_id(binary)
    if not identity:
        return None
    return cache_dir() / f"{identity.replace('/', '_')}-{_tool_stamp(tool)}.json"


def build(binary, rebuild=False):
    """The checked profile of ``binary``: from the cache unless ``rebuild``, else made by
    running ``mapscope profile`` and cached."""
    from .profile import Profile  # not at import: prefetch() runs before the rest of the core loads

    tool = find_mapscope()
    _await_prefetch(binary, tool)  # its output is the cache entry
    cached = cache_path(binary, tool)
    if cached is not None and cached.is_file() and not rebuild:
        try:
            profile = Profile.load(cached)
            profile.check_binary(binary)
            return profile
        except MapscopeError:
            pass  # damaged, edited or stale: make a new one
    text = _run_mapscope(tool, binary)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise MapscopeError("mapscope profile printed something that is not JSON") from None
    profile = Profile(data, f"mapscope profile {binary}")
    profile.check_binary(binary)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(cached)
            profile.source = str(cached)
        except OSError:
            pass  # caching is an optimisation
    return profile


#: Builds started by :func:`prefetch`: binary path -> (process, tool). ``mapscope profile -o``
#: writes the cache entry whole (a new file renamed into place), so a build that outlives the
#: session still leaves a good entry for the next one.
_pending = {}


def prefetch(binary):
    """Starts ``mapscope profile`` on ``binary`` in the background when its cache entry does not
    exist yet and its headers say it can be a map target (a debugger that sources mapscope for
    every program does not build profiles of every program). Never raises: a build that fails
    is reported by the command that needs it."""
    try:
        if not elf.may_hold_maps(binary):
            return
        tool = find_mapscope()
        cached = cache_path(binary, tool)
        if cached is None or cached.is_file() or str(binary) in _pending:
            return
        cached.parent.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [tool, "profile", str(binary), "-o", str(cached)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    except (MapscopeError, OSError):
        return
    _pending[str(binary)] = (process, tool)


def _await_prefetch(binary, tool):
    """Waits for a prefetched build of ``binary`` by ``tool``, if one was started; a build that
    failed raises its error as :func:`_run_mapscope` would."""
    process, by = _pending.pop(str(binary), (None, None))
    if process is None or by != tool:
        return
    try:
        _, err = process.communicate(timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise MapscopeError(f"{tool} profile {binary} took over {BUILD_TIMEOUT} s") from None
    if process.returncode != 0:
        lines = err.strip().splitlines()
        raise MapscopeError(lines[-1] if lines else f"mapscope profile failed with status {process.returncode}")


def _run_mapscope(tool, binary):
    try:
        done = subprocess.run(
            [tool, "profile", str(binary)], capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except OSError as e:
        raise MapscopeError(f"cannot run {tool}: {e.strerror}") from None
    except subprocess.TimeoutExpired:
        raise MapscopeError(f"{tool} profile {binary} took over {BUILD_TIMEOUT} s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise MapscopeError(lines[-1] if lines else f"mapscope profile failed with status {done.returncode}")
    return done.stdout
