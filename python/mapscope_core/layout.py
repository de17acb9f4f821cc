"""The layout of one map type, gathered from a profile.

A :class:`MapType` holds everything needed to decode a map of one key/elem type from raw
memory: header field offsets, bucket field offsets and size, key and elem slot sizes and types,
and the algorithm's constants. Every number comes from the profile, which ``mapscope`` reads from
DWARF; nothing here is a literal offset.
"""

from dataclasses import dataclass

from .errors import MapscopeError

HEADER_FIELDS = ("count", "flags", "B", "noverflow", "hash0", "buckets", "oldbuckets", "nevacuate", "extra")
BUCKET_FIELDS = ("tophash", "keys", "elems", "overflow")


@dataclass(frozen=True)
class Field:
    """A field's offset and size in bytes."""

    offset: int
    size: int


@dataclass(frozen=True)
class Constants:
    """The algorithm's constants, by Go's names."""

    bucket_count: int
    tophash: dict  # name -> value: emptyRest, emptyOne, evacuatedX, evacuatedY, evacuatedEmpty, minTopHash
    flags: dict  # name -> bit: iterator, oldIterator, hashWriting, sameSizeGrow

    def state_name(self, tophash):
        """The name of a tophash state, or None for a live slot's hash byte."""
        if tophash >= self.tophash["minTopHash"]:
            return None
        for name, value in self.tophash.items():
            if value == tophash and name != "minTopHash":
                return name
        return f"state{tophash}"

    def flag_names(self, flags):
        """Names of the bits set in ``flags``, in bit order; unknown bits as hex."""
        names = [name for name, bit in sorted(self.flags.items(), key=lambda kv: kv[1]) if flags & bit]
        unknown = flags & ~sum(self.flags.values())
        if unknown:
            names.append(hex(unknown))
        return names


@dataclass(frozen=True)
class MapType:
    """Layouts of one map instantiation (``Hmap<K, V>`` / Go's ``map[K]V``)."""

    header_name: str
    bucket_name: str
    header: dict  # field name -> Field
    header_size: int
    bucket: dict  # field name -> Field
    bucket_size: int
    key_type: str
    elem_type: str
    key_size: int
    elem_size: int
    key_indirect: bool
    elem_indirect: bool
    pointer_size: int
    constants: Constants
    #: DWARF member names by canonical name, for the header and the bucket (Go's DWARF calls
    #: ``elems`` ``values``; gomap's ``extra`` fields are snake case).
    header_members: dict
    bucket_members: dict
    #: Go: the map type's DWARF name (``map[int64]int64``) and the link-time address of its type
    #: descriptor (what the runtime functions get as ``t``); None for gomap.
    go_type: object = None
    descriptor: object = None

    @property
    def description(self):
        return f"map[{self.key_type}]{self.elem_type}"

    def key_offset(self, slot):
        return self.bucket["keys"].offset + slot * self.key_size

    def elem_offset(self, slot):
        return self.bucket["elems"].offset + slot * self.elem_size


def _get(obj, key, kind, what):
    """``obj[key]``, which must be of ``kind`` (int: never a bool); else a one-line error."""
    value = obj.get(key) if isinstance(obj, dict) else None
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise MapscopeError(f"profile: {what}: '{key}' is not a {kind.__name__}")
    return value


def _optional(obj, key, kind, what):
    return None if obj.get(key) is None else _get(obj, key, kind, what)


def _members(layout):
    fields = _get(layout, "fields", dict, "a layout")
    return {
        canonical: f.get("name", canonical) if isinstance(f, dict) else canonical for canonical, f in fields.items()
    }


def _fields(layout, names, what):
    fields = _get(layout, "fields", dict, what)
    missing = [n for n in names if n not in fields]
    if missing:
        raise MapscopeError(f"profile: {what} {layout.get('name')} lacks field(s) {', '.join(missing)}")
    return {
        n: Field(_get(fields[n], "offset", int, f"{what} field {n}"), _get(fields[n], "size", int, f"{what} field {n}"))
        for n in names
    }


def map_types(profile_data):
    """Every map type a profile describes: one per bucket layout. Every value is checked for its
    type here; :mod:`profile` checks the ranges."""
    layouts, constants = profile_data["layouts"], profile_data["constants"]
    constants = Constants(
        bucket_count=_get(constants, "bucket_count", int, "constants"),
        tophash=dict(_get(constants, "tophash", dict, "constants")),
        flags=dict(_get(constants, "flags", dict, "constants")),
    )
    headers = {}
    for h in layouts["header"]:
        headers[_get(h, "name", str, "a header layout")] = h
    result = []
    for b in layouts["buckets"]:
        name = _get(b, "name", str, "a bucket layout")
        what = f"bucket {name}"
        header = headers.get(b.get("header")) if isinstance(b.get("header"), str) else None
        if header is None:
            if len(headers) != 1:
                continue  # a bucket type with no header in this binary: no map to decode
            header = next(iter(headers.values()))
        result.append(
            MapType(
                header_name=header["name"],
                bucket_name=name,
                header=_fields(header, HEADER_FIELDS, "header"),
                header_size=_get(header, "size", int, "header"),
                bucket=_fields(b, BUCKET_FIELDS, what),
                bucket_size=_get(b, "size", int, what),
                key_type=_get(b, "key_type", str, what),
                elem_type=_get(b, "elem_type", str, what),
                key_size=_get(b, "key_size", int, what),
                elem_size=_get(b, "elem_size", int, what),
                key_indirect=_get(b, "key_indirect", bool, what),
                elem_indirect=_get(b, "elem_indirect", bool, what),
                pointer_size=_get(profile_data, "pointer_size", int, "the profile")
                if "pointer_size" in profile_data
                else 8,
                constants=constants,
                header_members=_members(header),
                bucket_members=_members(b),
                go_type=_optional(b, "map_type", str, what),
                descriptor=_optional(b, "type_descriptor", int, what),
            )
        )
    return result
