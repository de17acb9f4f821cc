"""Places: where a value lives at a pc, in the profile's closed set of forms (docs/profile.md).

| form | the value |
| --- | --- |
| ``{"register": R}`` | is register R |
| ``{"register": R, "offset": K}`` | is in memory at R + K |
| ``{"cfa": K}`` | is in memory at CFA + K, the CFA given by the function's rule at that pc |
| ``{"address": A}`` | is in memory at link-time address A (plus the load bias) |
| ``{"pieces": [{"size": N, <form>}, ...]}`` | is the parts' bytes in order (a Go string in two registers) |

This module checks a place read from a profile, reads a value from a place in a stopped frame
(given that frame's registers), and writes a place as a C expression for a breakpoint condition
that the debugger evaluates itself. Every number comes from DWARF through the profile.
"""

from dataclasses import dataclass

from .adapter import C_WORDS
from .errors import MapscopeError

_BYTE_ORDER = "little"  # x86-64


@dataclass(frozen=True)
class CfaRule:
    """The canonical frame address at some pcs: ``register + offset``."""

    register: str
    offset: int


def _is_int(value, low=-(1 << 63), high=1 << 64):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value < high


def _register(name):
    return isinstance(name, str) and name.isalnum() and len(name) < 16


def check(place, allow_pieces=True):
    """The place if it is one of the closed forms, else None (a profile error for the caller)."""
    if not isinstance(place, dict):
        return None
    keys = set(place)
    if keys == {"register"} and _register(place["register"]):
        return place
    if (
        keys == {"register", "offset"}
        and _register(place["register"])
        and _is_int(place["offset"], -(1 << 31), 1 << 31)
    ):
        return place
    if keys == {"cfa"} and _is_int(place["cfa"], -(1 << 31), 1 << 31):
        return place
    if keys == {"address"} and _is_int(place["address"], 0):
        return place
    if keys == {"pieces"} and allow_pieces and isinstance(place["pieces"], list) and 0 < len(place["pieces"]) <= 8:
        for piece in place["pieces"]:
            if not isinstance(piece, dict) or not _is_int(piece.get("size"), 1, 65):
                return None
            if check({k: v for k, v in piece.items() if k != "size"}, allow_pieces=False) is None:
                return None
        return place
    return None


def check_cfa(rule):
    """A CfaRule from a profile's ``{register, offset}``, or None."""
    if isinstance(rule, dict) and _register(rule.get("register")) and _is_int(rule.get("offset"), -(1 << 31), 1 << 31):
        return CfaRule(rule["register"], rule["offset"])
    return None


#: Registers whose values a caller's frame still has after a call: the stack and frame
#: pointers, which unwinding restores, and for C and Rust the System V callee-saved ones. Go's
#: ABI saves none: a caller's rbx holds whatever the callee left there.
CALLER_KEEPS_GO = frozenset({"rsp", "rbp", "rip"})
CALLER_KEEPS_C = CALLER_KEEPS_GO | {"rbx", "r12", "r13", "r14", "r15"}


def lost_in_caller(place, kept):
    """Whether a place's value is in a register (itself, not memory it points to) outside
    ``kept``: then a caller's frame, below the innermost, cannot know it."""
    if "pieces" in place:
        return any(lost_in_caller(piece, kept) for piece in place["pieces"])
    return "register" in place and "offset" not in place and place["register"] not in kept


def read(place, size, registers, read_memory, cfa=None, bias=0):
    """The ``size`` bytes of a value at ``place`` in a stopped frame. ``registers(name)`` gives
    that frame's register values; ``cfa`` is the function's CfaRule at the frame's pc."""
    if "pieces" in place:
        data = b"".join(read(p, p["size"], registers, read_memory, cfa, bias) for p in place["pieces"])
        return data[:size]
    if "offset" in place:
        return read_memory(registers(place["register"]) + place["offset"], size)
    if "register" in place:
        value = registers(place["register"]) & ((1 << 64) - 1)
        return value.to_bytes(8, _BYTE_ORDER)[:size].ljust(size, b"\0")
    if "cfa" in place:
        if cfa is None:
            raise MapscopeError("no CFA rule at this pc: the value's place cannot be read")
        return read_memory(registers(cfa.register) + cfa.offset + place["cfa"], size)
    return read_memory(place["address"] + bias, size)


def condition(place, size, cfa=None):
    """A C expression for the value at ``place`` at a breakpoint, or None when a condition
    cannot read it (pieces, statics)."""
    word = C_WORDS.get(size)
    if word is None:
        return None
    if "offset" in place:
        return f"*({word} *)(${place['register']} + {place['offset']})"
    if "register" in place:
        return f"${place['register']}"
    if "cfa" in place and cfa is not None:
        return f"*({word} *)(${cfa.register} + {cfa.offset + place['cfa']})"
    return None
