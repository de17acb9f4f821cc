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

    @property
    def description(self):
        return f"map[{self.key_type}]{self.elem_type}"

    def key_offset(self, slot):
        return self.bucket["keys"].offset + slot * self.key_size

    def elem_offset(self, slot):
        return self.bucket["elems"].offset + slot * self.elem_size


def _members(layout):
    return {canonical: f.get("name", canonical) for canonical, f in layout.get("fields", {}).items()}


def _fields(layout, names, what):
    fields = layout.get("fields", {})
    missing = [n for n in names if n not in fields]
    if missing:
        raise MapscopeError(f"profile: {what} {layout.get('name')} lacks field(s) {', '.join(missing)}")
    return {n: Field(int(fields[n]["offset"]), int(fields[n]["size"])) for n in names}


def map_types(profile_data):
    """Every map type a profile describes: one per bucket layout."""
    layouts = profile_data["layouts"]
    constants = Constants(
        bucket_count=int(profile_data["constants"]["bucket_count"]),
        tophash=dict(profile_data["constants"]["tophash"]),
        flags=dict(profile_data["constants"]["flags"]),
    )
    headers = {h["name"]: h for h in layouts["header"]}
    result = []
    for b in layouts["buckets"]:
        header = headers.get(b.get("header") or "")
        if header is None:
            if len(headers) != 1:
                continue  # a bucket type with no header in this binary: no map to decode
            header = next(iter(headers.values()))
        result.append(
            MapType(
                header_name=header["name"],
                bucket_name=b["name"],
                header=_fields(header, HEADER_FIELDS, "header"),
                header_size=int(header["size"]),
                bucket=_fields(b, BUCKET_FIELDS, "bucket"),
                bucket_size=int(b["size"]),
                key_type=b["key_type"],
                elem_type=b["elem_type"],
                key_size=int(b["key_size"]),
                elem_size=int(b["elem_size"]),
                key_indirect=bool(b["key_indirect"]),
                elem_indirect=bool(b["elem_indirect"]),
                pointer_size=int(profile_data.get("pointer_size", 8)),
                constants=constants,
                header_members=_members(header),
                bucket_members=_members(b),
            )
        )
    return result
