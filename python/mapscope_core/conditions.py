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
BUCKET_PARAMS = ("oldbucket", "bucket")
_TYPE = ("t",)


@dataclass(frozen=True)
class Term:
    """One comparison: ``header == address``, ``bucket == n``, ``growing``, or ``type ==
    descriptor``."""

    kind: str  # "map", "bucket", "growing", "type"
    value: int = 0


@dataclass(frozen=True)
class Operand:
    """A parameter at the breakpoint's address: its place, size and the CFA rule there."""

    place: dict
    size: int
    cfa: object

    @property
    def text(self):
        return places.condition(self.place, self.size, self.cfa)

    def value(self, register, read_memory):
        return int.from_bytes(places.read(self.place, self.size, register, read_memory, self.cfa), "little")


@dataclass(frozen=True)
class Comparison:
    """``operand == value``, or, for ``growing``, ``*(u64 *)(operand + offset) != 0``."""

    operand: Operand
    value: int = 0
    growing_offset: object = None  # the header's oldbuckets offset, for the growing test
    address: bool = True  # the value is an address (written in hex), else a count

    @property
    def text(self):
        if self.growing_offset is not None:
            return f"*({C_WORDS[8]} *)({self.operand.text} + {self.growing_offset}) != 0"
        return f"{self.operand.text} == {self.value:#x}" if self.address else f"{self.operand.text} == {self.value}"

    def holds(self, register, read_memory):
        found = self.operand.value(register, read_memory)
        if self.growing_offset is not None:
            return int.from_bytes(read_memory(found + self.growing_offset, 8), "little") != 0
        return found == self.value


@dataclass(frozen=True)
class Condition:
    """What a breakpoint's hit must satisfy, both as C text for debuggers that evaluate it
    themselves and as a check the core can make (lldb cannot evaluate expressions in Go frames:
    it has no type system for Go, so its adapter asks :meth:`holds` from a callback)."""

    comparisons: tuple

    @property
    def text(self):
        texts = [c.text for c in self.comparisons]
        return " && ".join(f"({t})" for t in texts) if len(texts) > 1 else texts[0]

    def holds(self, register, read_memory):
        """Whether the hit counts, given the stopped frame's ``register(name)`` and
        ``read_memory(address, size)``."""
        return all(c.holds(register, read_memory) for c in self.comparisons)

    def __str__(self):
        return self.text


def _operand(function, names, at, probe):
    """The first parameter in ``names`` at link address ``at``. A probe site carries its
    parameters' places at its address (and its CFA rule); otherwise the role function's places
    by pc serve."""
    at_probe = probe.params if probe is not None and probe.params else None
    found = (at_probe.get(n) if at_probe is not None else function.param(n) for n in names)
    param = next((p for p in found if p is not None), None)
    if param is None:
        raise MapscopeError(f"{function.function} has no parameter {' or '.join(names)} to filter on")
    cfa = probe.cfa if at_probe is not None else function.cfa_at(at)
    place = param.place_at(at)
    if place is None or places.condition(place, param.size, cfa) is None:
        if param.size not in C_WORDS:
            raise MapscopeError(f"cannot compare parameter {param.name} of {param.size} bytes")
        raise MapscopeError(
            f"parameter {param.name} of {function.function} has no place a condition can read at "
            f"{at:#x} (optimised out there); filter at another probe, or build without optimisation"
        )
    return Operand(place, param.size, cfa)


def render(function, terms, oldbuckets_offset, at=None, probe=None, names=None):
    """The Condition for ``terms`` at link address ``at`` inside ``function`` (a RoleFunction;
    the probe site when stopping at a probe), or None for no condition. ``names`` overrides, per
    term kind (``map``, ``type``), the parameters that carry it (Swiss maps' functions call the
    map ``m`` and its type ``typ``)."""
    at = function.stop_address if at is None else at
    header = (names or {}).get("map", _HEADER)
    type_ = (names or {}).get("type", _TYPE)
    comparisons = []
    for term in terms:
        if term.kind == "map":
            comparisons.append(Comparison(_operand(function, header, at, probe), term.value))
        elif term.kind == "bucket":
            comparisons.append(Comparison(_operand(function, BUCKET_PARAMS, at, probe), term.value, address=False))
        elif term.kind == "type":
            comparisons.append(Comparison(_operand(function, type_, at, probe), term.value))
        elif term.kind == "growing":
            comparisons.append(Comparison(_operand(function, _HEADER, at, probe), 0, oldbuckets_offset))
        else:
            raise ValueError(f"unknown term {term.kind}")
    return Condition(tuple(comparisons)) if comparisons else None
