"""Breakpoint conditions, as text the debugger evaluates itself (no Python on each hit).

A condition is built from a few terms over the stopped function's parameters: ``h`` the header,
``bucket`` in grow_work, ``oldbucket`` in evacuate, ``t`` the map type descriptor (Go), names
that Go's runtime and gomap share. Where a parameter is at the breakpoint's address comes from
DWARF through the profile: a register, a stack slot relative to a register, or a slot relative
to the canonical frame address (Go's register ABI moves arguments between registers and the
stack; the profile has the place for every pc). The text uses registers and casts only, in C
syntax, so it parses without the debugger's symbol lookup and without a Rust or Go expression
parser; gdb is told to parse it as C, lldb does anyway.
"""

from dataclasses import dataclass

from . import places
from .adapter import C_WORDS
from .errors import MapscopeError

#: What each term compares, by the parameter names that carry it.
_HEADER = ("h",)
_BUCKET = ("oldbucket", "bucket")
_TYPE = ("t",)


@dataclass(frozen=True)
class Term:
    """One comparison: ``header == address``, ``bucket == n``, ``growing``, or ``type ==
    descriptor``."""

    kind: str  # "map", "bucket", "growing", "type"
    value: int = 0


def _value(function, names, at, probe):
    """The C expression of the first parameter in ``names`` at link address ``at``. A probe site
    carries its parameters' places at its address (and its CFA rule); otherwise the role
    function's places by pc serve."""
    at_probe = probe.params if probe is not None and probe.params else None
    found = (at_probe.get(n) if at_probe is not None else function.param(n) for n in names)
    param = next((p for p in found if p is not None), None)
    if param is None:
        raise MapscopeError(f"{function.function} has no parameter {' or '.join(names)} to filter on")
    cfa = probe.cfa if at_probe is not None else function.cfa_at(at)
    place = param.place_at(at)
    text = places.condition(place, param.size, cfa) if place else None
    if text is None:
        if param.size not in C_WORDS:
            raise MapscopeError(f"cannot compare parameter {param.name} of {param.size} bytes")
        raise MapscopeError(
            f"parameter {param.name} of {function.function} has no place a condition can read at "
            f"{at:#x} (optimised out there); filter at another probe, or build without optimisation"
        )
    return text


def render(function, terms, oldbuckets_offset, at=None, probe=None):
    """Condition text for ``terms`` at link address ``at`` inside ``function`` (a
    RoleFunction; the probe site when stopping at a probe), or None for no condition."""
    at = function.stop_address if at is None else at
    parts = []
    for term in terms:
        if term.kind == "map":
            parts.append(f"{_value(function, _HEADER, at, probe)} == {term.value:#x}")
        elif term.kind == "bucket":
            parts.append(f"{_value(function, _BUCKET, at, probe)} == {term.value}")
        elif term.kind == "type":
            parts.append(f"{_value(function, _TYPE, at, probe)} == {term.value:#x}")
        elif term.kind == "growing":
            h = _value(function, _HEADER, at, probe)
            parts.append(f"*({C_WORDS[8]} *)({h} + {oldbuckets_offset}) != 0")
        else:
            raise ValueError(f"unknown term {term.kind}")
    if not parts:
        return None
    return " && ".join(f"({p})" for p in parts) if len(parts) > 1 else parts[0]
