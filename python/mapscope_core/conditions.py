"""Breakpoint conditions, as text the debugger evaluates itself (no Python on each hit).

A condition is built from a few terms over the stopped function's parameters, whose places
(a stack slot relative to a register, or a register) come from DWARF through the profile. Go's
runtime and gomap name them alike: ``h`` the header, ``bucket`` in grow_work, ``oldbucket`` in
evacuate. The text uses registers and casts only, in C syntax, so it parses without the
debugger's symbol lookup (which cannot see a function's parameters from inside an inlined call)
and without a Rust or Go expression parser; gdb is told to parse it as C, lldb does anyway.
"""

from dataclasses import dataclass

from .adapter import C_WORDS
from .errors import MapscopeError

#: What each term compares, by the parameter names that carry it.
_HEADER = ("h",)
_BUCKET = ("oldbucket", "bucket")


@dataclass(frozen=True)
class Term:
    """One comparison: ``header == address``, ``bucket == n`` or ``growing``."""

    kind: str  # "map", "bucket", "growing"
    value: int = 0


def _param(function, names):
    p = function.param(*names)
    if p is None:
        raise MapscopeError(f"{function.function} has no parameter {' or '.join(names)} to filter on")
    return p


def _value(function, param):
    loc = param.location
    if not loc:
        raise MapscopeError(
            f"parameter {param.name} of {function.function} has no simple DWARF location "
            "(an optimised build?); build the target with opt-level 0 to filter on it"
        )
    ctype = C_WORDS.get(param.size)
    if ctype is None:
        raise MapscopeError(f"cannot compare parameter {param.name} of {param.size} bytes")
    if "offset" in loc:
        return f"*({ctype} *)(${loc['register']} + {loc['offset']})"
    return f"${loc['register']}"


def render(function, terms, oldbuckets_offset):
    """Condition text for ``terms`` at a stop inside ``function`` (a RoleFunction), or None
    for no condition."""
    parts = []
    for term in terms:
        if term.kind == "map":
            parts.append(f"{_value(function, _param(function, _HEADER))} == {term.value:#x}")
        elif term.kind == "bucket":
            parts.append(f"{_value(function, _param(function, _BUCKET))} == {term.value}")
        elif term.kind == "growing":
            h = _value(function, _param(function, _HEADER))
            parts.append(f"*({C_WORDS[8]} *)({h} + {oldbuckets_offset}) != 0")
        else:
            raise ValueError(f"unknown term {term.kind}")
    if not parts:
        return None
    return " && ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
