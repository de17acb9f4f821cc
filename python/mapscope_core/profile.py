"""Profiles: the JSON contract between ``mapscope`` (Rust) and the debugger front-ends.

A profile says where a binary's map structures and functions are (docs/profile.md). This module
checks one thoroughly (a profile may come from a cache file anybody can edit: every value the core
reads is checked for its type and range before it is used) and turns it into typed records: map
types (:mod:`layout`), :class:`RoleFunction`, :class:`ProbeSite`. Raw profile dicts stay inside
this module. Building and caching profiles is :mod:`profile_cache`'s job.

Addresses in a profile are link-time addresses; :mod:`target` relocates runtime pcs first.
"""

import bisect
import json
from dataclasses import dataclass

from . import elf, layout
from .errors import MapscopeError
from .typenames import key_elem_of, same_type

SCHEMA_VERSION = 1
FAMILIES = ("gomap", "go")
_REQUIRED = ("schema_version", "family", "binary", "layouts", "constants", "roles", "probes")


@dataclass(frozen=True)
class Param:
    """A formal parameter of a role function and where it lives from the function's
    breakpoint address on (None: DWARF gives no simple place there)."""

    name: str
    size: int
    location: object  # {"register": NAME} or {"register": NAME, "offset": N}, or None


@dataclass(frozen=True, eq=False)
class RoleFunction:
    """One copy of a role's function (a monomorphised copy, a fast variant)."""

    role: str
    function: str  # demangled name without hash
    variant: str  # short name: evacuate_fast64, mapassign_faststr
    symbol: str  # the ELF symbol, unique per copy
    dwarf_name: str  # DWARF's name, generic arguments included
    address: int  # link-time entry
    size: int
    breakpoint_address: object  # after the prologue, or None
    params: tuple

    @property
    def name(self):
        """The name the debugger knows the function by."""
        return self.dwarf_name or self.function

    @property
    def stop_address(self):
        """Where a debugger's ``break FUNCTION`` stops: after the prologue."""
        return self.breakpoint_address or self.address

    def contains(self, link_address):
        return self.address <= link_address < self.address + max(self.size, 1)

    def param(self, *names):
        """The first parameter named in ``names``, or None."""
        return next((p for p in self.params if p.name in names), None)


@dataclass(frozen=True)
class ProbeSite:
    """One address of a probe point: inside ``function``, before the statement on ``line``."""

    probe: str
    function: RoleFunction
    file: str
    line: int
    address: int  # link-time

    @property
    def role(self):
        return self.function.role


class Profile:
    """A loaded, checked profile."""

    def __init__(self, data, source=None):
        where = f"profile {source}" if source else "profile"
        _check_top(data, where)
        self.source = source
        self.family = data["family"]
        binary = data["binary"]
        self.build_id = binary.get("build_id")
        self.go_build_id = binary.get("go_build_id")
        self.binary_path = binary.get("path")
        self.warnings = list(data.get("warnings") or [])
        self.types = _string_types(data.get("types") or {}, where)
        try:
            self.map_types = layout.map_types(data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise MapscopeError(f"{where}: malformed layouts or constants ({type(e).__name__}: {e})") from None
        _check_layouts(self.map_types, where)
        self.map_handle_field = _map_handle_field(data, where)
        self._roles = {
            role: [_role_function(role, fn, where) for fn in _list(fns, where, f"roles.{role}")]
            for role, fns in data["roles"].items()
        }
        by_symbol = {fn.symbol: fn for fns in self._roles.values() for fn in fns}
        self._probes = {
            name: [_probe_site(name, s, by_symbol, where) for s in _list(sites, where, f"probes.{name}")]
            for name, sites in data["probes"].items()
        }
        # Role functions sorted by address, for looking a pc up.
        self._by_address = sorted((fn for fns in self._roles.values() for fn in fns), key=lambda f: f.address)
        self._starts = [fn.address for fn in self._by_address]

    @classmethod
    def load(cls, path):
        """Reads and checks the profile at ``path``."""
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except OSError as e:
            raise MapscopeError(f"cannot read profile {path}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise MapscopeError(f"profile {path} is not text (a binary? give the program, not a profile)") from None
        except json.JSONDecodeError as e:
            raise MapscopeError(f"profile {path} is not JSON: {e.msg} at line {e.lineno}") from None
        except RecursionError:
            raise MapscopeError(f"profile {path} nests too deeply to be a profile") from None
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
                f"{actual[:12]}…; rebuild it with 'hmap profile --rebuild'"
            )

    # -- map types -------------------------------------------------------------------------------

    def header_field_name(self, canonical):
        """The DWARF member name of a header field given by its canonical (Go) name."""
        members = self.map_types[0].header_members if self.map_types else {}
        return members.get(canonical, canonical)

    def map_type(self, type_name=None):
        """The map type a type name denotes (``gomap::Map<i64, i64>``, ``*mut
        gomap::runtime::Hmap<i64, i64>``, Go's ``map[int64]int64``, lldb's ``gomap::Map<long,
        long>``), or the only one when no name is given."""
        if not self.map_types:
            raise MapscopeError("the profile describes no map type: the program has no map")
        if type_name:
            kv = key_elem_of(type_name)
            if kv:
                return self._map_type_of(*kv)
        if len(self.map_types) == 1:
            return self.map_types[0]
        raise MapscopeError(
            f"which map type? the program has several ({self._known()}); give a typed expression, or --type 'map[K]V'"
        )

    def _map_type_of(self, key, elem):
        exact = [
            mt
            for mt in self.map_types
            if same_type(key, mt.key_type, exact=True) and same_type(elem, mt.elem_type, exact=True)
        ]
        if len(exact) == 1:
            return exact[0]
        alike = [mt for mt in self.map_types if same_type(key, mt.key_type) and same_type(elem, mt.elem_type)]
        if len(alike) == 1:
            return alike[0]
        if not alike:
            raise MapscopeError(f"no map of {key} to {elem} in the profile ({self._known()})")
        raise MapscopeError(
            f"map of {key} to {elem} is ambiguous: it may be {', '.join(mt.description for mt in alike)}; give --type"
        )

    def _known(self):
        return ", ".join(mt.description for mt in self.map_types)

    # -- roles and probes ------------------------------------------------------------------------

    def roles(self):
        return sorted(self._roles)

    def role_functions(self, role):
        """Every function copy of ``role``."""
        if role not in self._roles:
            raise MapscopeError(f"unknown role {role!r}; roles: {', '.join(self.roles())}")
        return self._roles[role]

    def probes(self):
        return sorted(self._probes)

    def probe_sites(self, name):
        """Every address of probe ``name``."""
        if name not in self._probes:
            known = ", ".join(self.probes()) or "none in this binary"
            raise MapscopeError(f"unknown probe {name!r}; probes: {known}")
        return self._probes[name]

    def role_function_containing(self, link_address):
        """The role function whose code contains the link-time address, or None."""
        i = bisect.bisect_right(self._starts, link_address) - 1
        # Functions do not overlap, but a zero-size entry may share a start: look back a little.
        for fn in reversed(self._by_address[max(0, i - 2) : i + 1]):
            if fn.contains(link_address):
                return fn
        return None


# -- checking --------------------------------------------------------------------------------------
#
# A cache file is input like any other. The checks below cover every value the core reads, so that
# a damaged profile is refused with one line naming the bad key, and never reaches the decoder as a
# wrong number.


def _is_int(value, low=0, high=1 << 64):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < high


def _list(value, where, what):
    _require(isinstance(value, list), where, f"{what} is not a list")
    return value


def _require(ok, where, what):
    if not ok:
        raise MapscopeError(f"{where}: {what}; rebuild it with 'hmap profile --rebuild'")


def _check_top(data, where):
    if not isinstance(data, dict):
        raise MapscopeError(f"{where} is not a JSON object: not a mapscope profile")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise MapscopeError(f"{where} lacks {', '.join(missing)}: not a mapscope profile")
    if data["schema_version"] != SCHEMA_VERSION:
        raise MapscopeError(
            f"{where} has schema version {data['schema_version']!r}, this mapscope reads "
            f"{SCHEMA_VERSION}; rebuild it with 'hmap profile --rebuild'"
        )
    _require(data["family"] in FAMILIES, where, f"unknown family {data['family']!r}")
    binary = data["binary"]
    _require(isinstance(binary, dict), where, "'binary' is not an object")
    for key in ("build_id", "go_build_id", "path"):
        _require(binary.get(key) is None or isinstance(binary[key], str), where, f"binary.{key} is not a string")
    _require(_is_int(data.get("pointer_size", 8), 4, 9), where, "pointer_size is not 4 or 8")
    for key in ("layouts", "constants", "roles", "probes"):
        _require(isinstance(data[key], dict), where, f"'{key}' is not an object")
    warnings = data.get("warnings", [])
    _require(
        isinstance(warnings, list) and all(isinstance(w, str) for w in warnings),
        where,
        "'warnings' is not a list of strings",
    )
    c = data["constants"]
    _require(_is_int(c.get("bucket_count"), 1, 257), where, "constants.bucket_count is not a bucket count")
    for group, high in (("tophash", 256), ("flags", 256)):
        values = c.get(group)
        _require(
            isinstance(values, dict) and values and all(_is_int(v, 0, high) for v in values.values()),
            where,
            f"constants.{group} is not a table of small integers",
        )
    for name in ("emptyRest", "emptyOne", "evacuatedX", "evacuatedY", "evacuatedEmpty", "minTopHash"):
        _require(name in c["tophash"], where, f"constants.tophash lacks {name}")
    for name in ("iterator", "oldIterator", "hashWriting", "sameSizeGrow"):
        _require(name in c["flags"], where, f"constants.flags lacks {name}")
    for key in ("header", "buckets"):
        _require(isinstance(data["layouts"].get(key), list), where, f"layouts.{key} is not a list")


def _check_layouts(map_types, where):
    """Every field inside its struct, every slot array inside its bucket."""
    for mt in map_types:
        for what, fields, size in (("header", mt.header, mt.header_size), ("bucket", mt.bucket, mt.bucket_size)):
            name = mt.header_name if what == "header" else mt.bucket_name
            _require(_is_int(size, 1, 1 << 20), where, f"{what} {name} has size {size}")
            for field_name, fld in fields.items():
                _require(
                    # Zero-sized members (Go's struct{} elems) sit anywhere up to the end.
                    _is_int(fld.offset, 0, size + 1)
                    and _is_int(fld.size, 0, size + 1)
                    and fld.offset + fld.size <= size,
                    where,
                    f"{what} {name}: field {field_name} ({fld.offset}+{fld.size}) lies outside its {size} bytes",
                )
        n = mt.constants.bucket_count
        _require(
            _is_int(mt.key_size, 1, 1 << 16) and _is_int(mt.elem_size, 0, 1 << 16),
            where,
            f"bucket {mt.bucket_name} has bad slot sizes",
        )
        for array, slot in (("keys", mt.key_size), ("elems", mt.elem_size)):
            fld = mt.bucket[array]
            _require(
                fld.offset + n * slot <= mt.bucket_size,
                where,
                f"bucket {mt.bucket_name}: {n} {array} do not fit its {mt.bucket_size} bytes",
            )
        _require(
            mt.bucket["tophash"].offset + n <= mt.bucket_size, where, f"bucket {mt.bucket_name}: tophash does not fit"
        )
        _require(
            mt.bucket["overflow"].size == mt.pointer_size, where, f"bucket {mt.bucket_name}: overflow is not a pointer"
        )
        for ptr in ("buckets", "oldbuckets", "extra"):
            _require(mt.header[ptr].size == mt.pointer_size, where, f"header {mt.header_name}: {ptr} is not a pointer")


def _map_handle_field(data, where):
    """The member of gomap's ``Map<K, V>`` that points at the header, or None (Go has no handle:
    a map value is the header pointer)."""
    handle = data["layouts"].get("map_handle")
    if handle is None:
        # Profiles written before the handle was recorded: gomap's handle field was always this.
        return "hmap" if data["family"] == "gomap" else None
    field = handle.get("field") if isinstance(handle, dict) else None
    _require(isinstance(field, str) and field.isidentifier(), where, "layouts.map_handle has no field name")
    return field


def _string_types(types, where):
    _require(isinstance(types, dict), where, "'types' is not an object")
    for name, t in types.items():
        if not isinstance(t, dict) or t.get("kind") != "string":
            continue
        size = t.get("size")
        fields = t.get("fields")
        ok = _is_int(size, 1, 1 << 16) and isinstance(fields, dict)
        for part in ("ptr", "len"):
            f = fields.get(part) if ok else None
            ok = ok and isinstance(f, dict) and _is_int(f.get("offset"), 0, size) and _is_int(f.get("size"), 1, 9)
            ok = ok and f["offset"] + f["size"] <= size
        _require(ok, where, f"types.{name} is not a string layout")
    return types


def _role_function(role, fn, where):
    here = f"{where}: role {role}"
    _require(isinstance(fn, dict), here, "an entry is not an object")
    for key in ("function", "symbol"):
        _require(isinstance(fn.get(key), str) and fn[key], here, f"an entry has no {key}")
    _require(
        _is_int(fn.get("address")) and _is_int(fn.get("size", 0)), here, f"{fn['function']} has a bad address or size"
    )
    bp = fn.get("breakpoint_address")
    _require(bp is None or _is_int(bp), here, f"{fn['function']} has a bad breakpoint_address")
    params = fn.get("params") or []
    _require(isinstance(params, list), here, f"{fn['function']}: params is not a list")
    return RoleFunction(
        role=role,
        function=fn["function"],
        variant=str(fn.get("variant") or fn["function"]),
        symbol=fn["symbol"],
        dwarf_name=str(fn.get("dwarf_name") or ""),
        address=fn["address"],
        size=fn.get("size", 0),
        breakpoint_address=bp,
        params=tuple(_param(p, f"{here} {fn['function']}") for p in params),
    )


def _param(p, where):
    _require(isinstance(p, dict) and isinstance(p.get("name"), str), where, "a parameter has no name")
    _require(_is_int(p.get("size", 8), 0, 1 << 16), where, f"parameter {p['name']} has a bad size")
    loc = p.get("location")
    if loc is not None:
        ok = isinstance(loc, dict) and isinstance(loc.get("register"), str) and loc["register"].isalnum()
        ok = ok and ("offset" not in loc or _is_int(loc["offset"], -(1 << 31), 1 << 31))
        _require(ok, where, f"parameter {p['name']} has a bad location")
    return Param(name=p["name"], size=p.get("size", 8), location=loc)


def _probe_site(name, s, by_symbol, where):
    here = f"{where}: probe {name}"
    _require(isinstance(s, dict), here, "an entry is not an object")
    _require(_is_int(s.get("address")) and _is_int(s.get("line", 0), 0, 1 << 32), here, "bad address or line")
    _require(isinstance(s.get("symbol"), str), here, "an entry has no symbol")
    fn = by_symbol.get(s["symbol"])
    _require(fn is not None, here, f"{s.get('file')}:{s.get('line')} is in no role function")
    _require(fn.contains(s["address"]), here, f"address {s['address']:#x} is outside {fn.function}")
    return ProbeSite(
        probe=name, function=fn, file=str(s.get("file") or ""), line=s.get("line", 0), address=s["address"]
    )
