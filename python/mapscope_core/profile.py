"""Profiles: the JSON contract between ``mapscope`` (Rust) and the debugger front-ends.

A profile says where a binary's map structures and functions are (docs/profile.md). This module
loads and checks one, builds one on demand by running ``mapscope profile``, caches it by build-id,
and answers the front-ends' questions: which map type is this, where are the functions of a role,
where is a probe point.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

from . import elf, layout
from .errors import MapscopeError

SCHEMA_VERSION = 1
_REQUIRED = ("schema_version", "family", "binary", "layouts", "constants", "roles", "probes")
_REPO = Path(__file__).resolve().parents[2]


class Profile:
    """A loaded, checked profile."""

    def __init__(self, data, source=None):
        _validate(data, source)
        self.data = data
        self.source = source
        self.family = data["family"]
        self.build_id = data["binary"].get("build_id")
        self.go_build_id = data["binary"].get("go_build_id")
        self.binary_path = data["binary"].get("path")
        self.map_types = layout.map_types(data)

    @classmethod
    def load(cls, path):
        """Reads and checks the profile at ``path``."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as e:
            raise MapscopeError(f"cannot read profile {path}: {e.strerror}") from None
        except json.JSONDecodeError as e:
            raise MapscopeError(f"profile {path} is not JSON: {e.msg} at line {e.lineno}") from None
        return cls(data, str(path))

    def check_binary(self, path):
        """Refuses the profile unless it describes the binary at ``path`` (same GNU build-id, or
        for Go binaries, which have none, the same Go build ID)."""
        expected, actual = self.build_id, elf.build_id(path)
        if expected is None and actual is None:
            expected, actual = self.go_build_id, elf.go_build_id(path)
        if expected is None or actual is None:
            raise MapscopeError(f"cannot match profile to {path}: no build-id (link with --build-id)")
        if actual != expected:
            raise MapscopeError(
                f"stale profile: it describes build-id {expected[:12]}…, but {path} has "
                f"{actual[:12]}…; rebuild it with 'hmap profile'"
            )

    # -- map types -----------------------------------------------------------------------

    def map_type(self, type_name=None):
        """The map type a debugger type name denotes (``gomap::Map<i64, i64>``,
        ``*mut gomap::runtime::Hmap<i64, i64>``, Go's ``map[int64]int64``), or the only one."""
        if not self.map_types:
            raise MapscopeError("the profile describes no map type: the program has no map")
        if type_name:
            kv = key_elem_of(type_name)
            if kv:
                for mt in self.map_types:
                    if (_norm(mt.key_type), _norm(mt.elem_type)) == (_norm(kv[0]), _norm(kv[1])):
                        return mt
                raise MapscopeError(f"no map of {kv[0]} to {kv[1]} in the profile ({self._known()})")
        if len(self.map_types) == 1:
            return self.map_types[0]
        raise MapscopeError(
            f"which map type? the program has several ({self._known()}); "
            "give a typed expression rather than a bare address"
        )

    def _known(self):
        return ", ".join(mt.description for mt in self.map_types)

    # -- roles and probes ----------------------------------------------------------------

    def roles(self):
        return sorted(self.data["roles"])

    def role_functions(self, role):
        """Every function copy of ``role``: dicts with function, address, size."""
        if role not in self.data["roles"]:
            raise MapscopeError(f"unknown role {role!r}; roles: {', '.join(self.roles())}")
        return self.data["roles"][role]

    def probes(self):
        return sorted(self.data["probes"])

    def probe_sites(self, name):
        """Every address of probe ``name``: dicts with role, function, file, line, address."""
        if name not in self.data["probes"]:
            known = ", ".join(self.probes()) or "none in this binary"
            raise MapscopeError(f"unknown probe {name!r}; probes: {known}")
        return self.data["probes"][name]

    def role_at(self, pc):
        """The role whose function contains ``pc``, with that function's entry, or None."""
        for role, fns in self.data["roles"].items():
            for fn in fns:
                if fn["address"] <= pc < fn["address"] + max(fn.get("size", 0), 1):
                    return role, fn
        return None


def _validate(data, source):
    where = f"profile {source}" if source else "profile"
    if not isinstance(data, dict):
        raise MapscopeError(f"{where} is not a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise MapscopeError(f"{where} lacks {', '.join(missing)}: not a mapscope profile")
    if data["schema_version"] != SCHEMA_VERSION:
        raise MapscopeError(
            f"{where} has schema version {data['schema_version']}, this mapscope reads "
            f"{SCHEMA_VERSION}; rebuild it with 'hmap profile'"
        )
    if data["family"] not in ("gomap", "go"):
        raise MapscopeError(f"{where}: unknown family {data['family']!r}")


def _norm(name):
    return name.replace(" ", "")


def _split_top_level(args):
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    parts.append(args[start:].strip())
    return parts


def key_elem_of(type_name):
    """(key, elem) type names of a map type name, or None when it names no map type."""
    name = type_name.strip()
    while name.startswith(("*mut ", "*const ", "&mut ", "&", "*")):
        name = name.split(" ", 1)[1] if name.startswith(("*mut ", "*const ", "&mut ")) else name[1:]
        name = name.strip()
    if name.startswith("map["):
        depth = 0
        for i, ch in enumerate(name[3:], start=3):
            depth += ch == "["
            depth -= ch == "]"
            if depth == 0:
                return name[4:i], name[i + 1 :]
        return None
    if "<" in name and name.endswith(">"):
        args = _split_top_level(name[name.index("<") + 1 : -1])
        if len(args) == 2:
            return args[0], args[1]
    return None


# -- building profiles ---------------------------------------------------------------------


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


def _safe_name(text):
    """``text`` usable as a file name (Go build IDs contain '/'), or None."""
    return text.replace("/", "_") if text else None


def _tool_stamp(tool):
    try:
        st = os.stat(shutil.which(tool) or tool)
    except OSError:
        return "0"
    return f"{st.st_size:x}{int(st.st_mtime_ns):x}"


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "mapscope"


def build(binary):
    """The profile of ``binary``: from the cache when its build-id is known, else made by
    running ``mapscope profile`` and cached. The cache is keyed by the binary's build-id and by
    the mapscope executable (a rebuilt mapscope may describe more)."""
    bid = elf.build_id(binary) or _safe_name(elf.go_build_id(binary))
    tool = find_mapscope()
    cached = cache_dir() / f"{bid}-{_tool_stamp(tool)}.json" if bid else None
    if cached is not None and cached.is_file():
        try:
            return Profile.load(cached)
        except MapscopeError:
            pass  # a damaged cache entry: make a new one
    try:
        done = subprocess.run([tool, "profile", str(binary)], capture_output=True, text=True, timeout=120, check=False)
    except OSError as e:
        raise MapscopeError(f"cannot run {tool}: {e.strerror}") from None
    except subprocess.TimeoutExpired:
        raise MapscopeError(f"{tool} profile {binary} took over 120 s") from None
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise MapscopeError(lines[-1] if lines else f"mapscope profile failed with status {done.returncode}")
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise MapscopeError("mapscope profile printed something that is not JSON") from None
    profile = Profile(data, f"mapscope profile {binary}")
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_text(done.stdout, encoding="utf-8")
            tmp.replace(cached)
            profile.source = str(cached)
        except OSError:
            pass  # caching is an optimisation
    return profile
