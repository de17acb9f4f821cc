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

from . import elf, layout, places, swiss
from .errors import MapscopeError
from .typenames import key_elem_of, same_type

SCHEMA_VERSION = 1
FAMILIES = ("gomap", "go", swiss.FAMILY)
_REQUIRED = ("schema_version", "family", "binary", "layouts", "constants", "roles", "probes")


def _covering(ranges, link_pc):
    """The item of ``(low, high, item)`` ranges that covers ``link_pc``, or None."""
    return next((item for low, high, item in ranges if low <= link_pc < high), None)


@dataclass(frozen=True)
class Param:
    """A formal parameter of a role function: its size, type and places by pc."""

    name: str
    size: int
    location: object  # a register-based place valid from the breakpoint address on, or None
    type: str = ""
    locations: tuple = ()  # (low, high, place), link-time, half-open

    def place_at(self, link_pc):
        """Where the parameter is at ``link_pc`` (None: no known place there)."""
        found = _covering(self.locations, link_pc)
        return found if found is not None or self.locations else self.location


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
    cfa: tuple = ()  # (low, high, places.CfaRule): the canonical frame address by pc

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

    def cfa_at(self, link_pc):
        """The CfaRule at ``link_pc``, or None."""
        return _covering(self.cfa, link_pc)


@dataclass(frozen=True)
class ProbeSite:
    """One address of a probe point: inside ``function``, before the statement on ``line``."""

    probe: str
    function: RoleFunction
    file: str
    line: int
    address: int  # link-time
    params: dict = None  # name -> Param whose place holds at this address (profiles since places)
    cfa: object = None  # the CfaRule at this address, or None

    @property
    def role(self):
        return self.function.role


@dataclass(frozen=True)
class Runtime:
    """Go's goroutine bookkeeping, from DWARF: field offsets of ``runtime.g`` and ``runtime.m``,
    and where the current g is (a register under ABIInternal, a thread-local slot)."""

    g: dict  # field name -> layout.Field: goid, m, atomicstatus, startpc, gopc, labels
    m: dict  # procid, curg, id
    g_register: object  # "r14", or None
    g_tls: object  # {"register": "fs_base", "offset": -8}, or None


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
        self.go_version = binary.get("go_version") if isinstance(binary.get("go_version"), str) else None
        self.binary_path = binary.get("path")
        self.warnings = list(data.get("warnings") or [])
        self.types = _string_types(data.get("types") or {}, where)
        try:
            if self.family == swiss.FAMILY:
                self.map_types = swiss.map_types(data)
            else:
                self.map_types = layout.map_types(data)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise MapscopeError(f"{where}: malformed layouts or constants ({type(e).__name__}: {e})") from None
        if self.family != swiss.FAMILY:
            _check_layouts(self.map_types, where)
        self.map_handle_field, self.map_handle_offset = _map_handle(data, where)
        self._roles = {
            role: [_role_function(role, fn, where) for fn in _list(fns, where, f"roles.{role}")]
            for role, fns in data["roles"].items()
        }
        by_symbol = {fn.symbol: fn for fns in self._roles.values() for fn in fns}
        self._probes = {
            name: [_probe_site(name, s, by_symbol, where) for s in _list(sites, where, f"probes.{name}")]
            for name, sites in data["probes"].items()
        }
        self.runtime = _runtime(data.get("runtime"), where)
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
    for key in ("header", "buckets"):
        _require(isinstance(data["layouts"].get(key), list), where, f"layouts.{key} is not a list")
    if data["family"] == swiss.FAMILY:
        return  # its constants and layouts are checked by swiss.map_types
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
        for name, fld in mt.header.items():
            _require(1 <= fld.size <= 8, where, f"header {mt.header_name}: {name} is not a scalar of 1 to 8 bytes")


def _map_handle(data, where):
    """``(member name, offset)`` of the member of gomap's ``Map<K, V>`` that points at the
    header, or (None, None): Go has no handle, a map value is the header pointer."""
    handles = data["layouts"].get("map_handle") or []
    _require(isinstance(handles, list), where, "layouts.map_handle is not a list")
    found = set()
    for handle in handles:
        fields = handle.get("fields") if isinstance(handle, dict) else None
        field = fields.get("header") if isinstance(fields, dict) else None
        name = field.get("name") if isinstance(field, dict) else None
        offset = field.get("offset") if isinstance(field, dict) else None
        ok = isinstance(name, str) and name.isidentifier() and _is_int(offset, 0, 1 << 16)
        _require(ok, where, "layouts.map_handle has no header field")
        found.add((name, offset))
    _require(len(found) <= 1, where, "layouts.map_handle differ in their header field")
    return found.pop() if found else (None, None)


def _runtime(data, where):
    """Go's Runtime, or None (gomap, or a profile without it)."""
    if data is None:
        return None
    _require(isinstance(data, dict), where, "'runtime' is not an object")
    tables = {}
    for struct, fields in (("g", ("goid", "m")), ("m", ("procid",))):
        layout_ = data.get(struct)
        found = layout_.get("fields") if isinstance(layout_, dict) else None
        _require(isinstance(found, dict), where, f"runtime.{struct} has no fields")
        table = {}
        for name, f in found.items():
            ok = isinstance(f, dict) and _is_int(f.get("offset"), 0, 1 << 16) and _is_int(f.get("size"), 1, 9)
            _require(ok, where, f"runtime.{struct}.{name} is not a field")
            table[name] = layout.Field(f["offset"], f["size"])
        _require(all(n in table for n in fields), where, f"runtime.{struct} lacks {', '.join(fields)}")
        tables[struct] = table
    register = data.get("g_register")
    _require(register is None or isinstance(register, str) and register.isalnum(), where, "runtime.g_register")
    tls = data.get("g_tls")
    ok = (
        tls is None
        or isinstance(tls, dict)
        and isinstance(tls.get("register"), str)
        and _is_int(tls.get("offset"), -(1 << 31), 1 << 31)
    )
    _require(ok, where, "runtime.g_tls is not a register and an offset")
    return Runtime(tables["g"], tables["m"], register, tls)


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
        cfa=_ranges(fn.get("cfa") or [], None, places.check_cfa, here, f"{fn['function']} cfa"),
    )


def _param(p, where):
    _require(isinstance(p, dict) and isinstance(p.get("name"), str), where, "a parameter has no name")
    _require(_is_int(p.get("size", 8), 0, 1 << 16), where, f"parameter {p['name']} has a bad size")
    loc = p.get("location")
    if loc is not None:
        ok = places.check(loc, allow_pieces=False) is not None and "register" in loc
        _require(ok, where, f"parameter {p['name']} has a bad location")
    return Param(
        name=p["name"],
        size=p.get("size", 8),
        location=loc,
        type=p["type"] if isinstance(p.get("type"), str) else "",
        locations=_ranges(p.get("locations") or [], "location", places.check, where, f"parameter {p['name']}"),
    )


def _ranges(entries, key, check, where, what):
    """``(low, high, item)`` triples of a profile's ``[{low, high, KEY: ...}]`` list (or, for CFA
    rules, ``[{low, high, register, offset}]``), each item checked."""
    _require(isinstance(entries, list), where, f"{what}: ranges are not a list")
    found = []
    for e in entries:
        ok = isinstance(e, dict) and _is_int(e.get("low")) and _is_int(e.get("high")) and e["low"] <= e["high"]
        item = check(e.get(key) if key else e) if ok else None
        _require(item is not None, where, f"{what}: a bad range")
        found.append((e["low"], e["high"], item))
    return tuple(found)


def _probe_site(name, s, by_symbol, where):
    here = f"{where}: probe {name}"
    _require(isinstance(s, dict), here, "an entry is not an object")
    _require(_is_int(s.get("address")) and _is_int(s.get("line", 0), 0, 1 << 32), here, "bad address or line")
    _require(isinstance(s.get("symbol"), str), here, "an entry has no symbol")
    fn = by_symbol.get(s["symbol"])
    _require(fn is not None, here, f"{s.get('file')}:{s.get('line')} is in no role function")
    _require(fn.contains(s["address"]), here, f"address {s['address']:#x} is outside {fn.function}")
    listed = s.get("params") or []
    _require(isinstance(listed, list), here, "params is not a list")
    params = {}
    for p in listed:
        ok = isinstance(p, dict) and isinstance(p.get("name"), str) and _is_int(p.get("size", 8), 0, 1 << 16)
        ok = ok and (p.get("location") is None or places.check(p["location"]) is not None)
        _require(ok, here, "a bad parameter")
        params[p["name"]] = Param(
            p["name"],
            p.get("size", 8),
            None,
            str(p.get("type") or ""),
            ((s["address"], s["address"] + 1, p.get("location")),),
        )
    cfa = places.check_cfa(s["cfa"]) if s.get("cfa") is not None else None
    _require(s.get("cfa") is None or cfa is not None, here, "a bad cfa")
    return ProbeSite(
        probe=name,
        function=fn,
        file=str(s.get("file") or ""),
        line=s.get("line", 0),
        address=s["address"],
        params=params,
        cfa=cfa,
    )
