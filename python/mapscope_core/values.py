"""Rendering keys and elems from the raw bytes of their slots.

Scalars are rendered from their type name alone (their encoding is fixed by the type). Types with
an inner layout, such as strings, are rendered from the layout the profile gives for them
(``profile["types"]``, read from DWARF), never from assumed offsets. Anything else is shown as
hex bytes, marked with its type.
"""

import struct

_SIGNED = {
    "i8": 1,
    "i16": 2,
    "i32": 4,
    "i64": 8,
    "i128": 16,
    "isize": 8,
    "int8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "int": 8,
    "rune": 4,
}
_UNSIGNED = {
    "u8": 1,
    "u16": 2,
    "u32": 4,
    "u64": 8,
    "u128": 16,
    "usize": 8,
    "uint8": 1,
    "uint16": 2,
    "uint32": 4,
    "uint64": 8,
    "uint": 8,
    "uintptr": 8,
    "byte": 1,
}
_FLOAT = {"f32": "<f", "f64": "<d", "float32": "<f", "float64": "<d"}
_STRING_MAX = 256


class Renderer:
    """Renders values of the types a profile knows, reading pointed-to memory through ``read``."""

    def __init__(self, read, type_layouts=None):
        self.read = read
        self.types = type_layouts or {}

    def render(self, type_name, raw, indirect=False):
        """Text for a slot of ``type_name`` holding ``raw``; ``indirect`` slots hold a pointer."""
        if indirect:
            return f"(*{type_name}) 0x{int.from_bytes(raw, 'little'):x}"
        name = type_name.strip()
        if name in _SIGNED:
            return str(int.from_bytes(raw[: _SIGNED[name]], "little", signed=True))
        if name in _UNSIGNED:
            return str(int.from_bytes(raw[: _UNSIGNED[name]], "little"))
        if name in _FLOAT:
            return repr(struct.unpack(_FLOAT[name], raw[: struct.calcsize(_FLOAT[name])])[0])
        if name == "bool":
            return "true" if raw[0] else "false"
        if name == "char":
            code = int.from_bytes(raw[:4], "little")
            return repr(chr(code)) if code < 0x110000 else f"char({code:#x})"
        if name in ("()", "struct {}"):
            return "()"
        if name.startswith(("*", "&")) and name not in self.types:
            return f"0x{int.from_bytes(raw, 'little'):x}"
        described = self.types.get(name)
        if described and described.get("kind") == "string":
            return self._string(described, raw)
        return f"{name}{{0x{raw.hex()}}}"

    def _string(self, described, raw):
        fields = described["fields"]
        ptr = _field(raw, fields["ptr"])
        length = _field(raw, fields["len"])
        if length == 0:
            return '""'
        if ptr == 0 or length > 1 << 32:
            return f"<bad string ptr=0x{ptr:x} len={length}>"
        shown = min(length, _STRING_MAX)
        try:
            data = self.read(ptr, shown)
        except Exception:  # noqa: BLE001 - any unreadable memory is shown, not raised
            return f"<unreadable string at 0x{ptr:x}>"
        text = data.decode("utf-8", errors="replace")
        suffix = "…" if shown < length else ""
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + suffix + '"'


def _field(raw, fld):
    return int.from_bytes(raw[fld["offset"] : fld["offset"] + fld["size"]], "little")


def format_map(pairs):
    """gdb's style for maps: ``{[k] = v, ...}``."""
    return "{" + ", ".join(f"[{k}] = {v}" for k, v in pairs) + "}"
