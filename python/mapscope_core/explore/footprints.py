"""What a point of a schedule is (:class:`Label`), and what a thread may touch between two of its
points (:func:`footprint`), from the map algorithm: two steps of different threads *commute* when
neither writes what the other touches. The search prunes schedules by it."""

from dataclasses import dataclass

# -- points and what happens between them ---------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A point a thread stopped at: ``kind`` is ``role`` or ``probe`` (``name`` the role or
    probe), or how it ended: ``fatal``, ``exit`` (it ended the program), ``thread-exit``,
    ``signal`` (``name`` the signal). ``role`` is the role whose code the point is in; ``bucket``
    the role's bucket parameter there (grow_work's ``bucket``, evacuate's ``oldbucket``)."""

    kind: str
    name: str
    role: str = ""
    bucket: object = None

    @property
    def key(self):
        """What a step's breakpoints match: kind, name and bucket (not the role)."""
        return (self.kind, self.name, self.bucket)

    @property
    def until(self):
        """The step target that stops here."""
        if self.kind in ("role", "probe"):
            return f"{self.kind} {self.name}"
        return "fatal" if self.kind == "fatal" else "exit"

    def describe(self):
        if self.kind not in ("role", "probe"):
            return f"{self.kind} {self.name}".strip()
        text = f"{self.kind} {self.name}"
        return text + (f" (bucket {self.bucket})" if self.bucket is not None else "")


@dataclass(frozen=True)
class Footprint:
    """What a thread may read and write between two of its points. Objects: ``flags``,
    ``header`` (B, bucket arrays, growth progress, count), ``alloc`` (overflow allocation),
    ``old:N`` (old bucket N and the new buckets it evacuates into), ``program`` (the program's
    own code and data), ``*`` (anything)."""

    reads: frozenset = frozenset()
    writes: frozenset = frozenset()

    def __or__(self, other):
        return Footprint(self.reads | other.reads, self.writes | other.writes)

    def conflicts(self, other):
        """Whether the two may not be swapped: one writes what the other reads or writes."""
        return _overlap(self.writes, other.reads | other.writes) or _overlap(other.writes, self.reads)

    @property
    def writes_map(self):
        return bool(self.writes - {"program"})


def _overlap(a, b):
    return bool(a and b and ("*" in a or "*" in b or a & b))


def _fp(reads=(), writes=()):
    return Footprint(frozenset(reads), frozenset(writes))


EVERYTHING = _fp(["*"], ["*"])
NOTHING = Footprint()
_EVACUATE_STEPS = ("evacuate-start", "evacuate-marked", "evacuate-copied")


def footprint(before, after, precise=True):
    """What a thread touches from point ``before`` (None: its gate) to point ``after``, from
    the map algorithm (Go 1.19's, which gomap follows). Anything not known exactly is
    :data:`EVERYTHING`. ``precise`` is False when not every role entry and probe is a point:
    then a thread may pass calls unseen, and nothing is known exactly."""
    if not precise:
        return EVERYTHING
    a, b = before, after
    if a is None:
        # From the gate to the first map call: the program's code, then the role's prologue.
        # Code outside the roles reaches the buckets only through a role; it may read the
        # header (len, Go's inlined len(m)).
        return _fp(["header", "flags", "program"], ["program"]) if b.kind == "role" else EVERYTHING
    if b.kind == "fatal":
        # A misuse check failed: it read the flags since the last point.
        if a.kind == "role" and a.name in ("assign", "access", "delete", "iterate"):
            return _fp(["flags", "header"])
        return EVERYTHING
    if a.role == "evacuate" and b.role == "evacuate" and a.bucket is not None:
        old = f"old:{a.bucket}"
        if b.kind == "probe" and b.name in _EVACUATE_STEPS and b.bucket == a.bucket:
            # Inside one evacuation (a new call would have passed the role's entry point).
            if b.name == "evacuate-start":
                return _fp(["header", old])
            if b.name == "evacuate-marked":
                return _fp(["header", "flags", old], [old])
            return _fp(["header", old], [old, "alloc"])
        if b.kind == "role" and b.name == "evacuate" and b.bucket is not None:
            # The rest of one evacuation (clearing the old bucket), back in grow_work, the next.
            return _fp(["header", old, f"old:{b.bucket}"], [old])
    if a.role == "evacuate" and a.bucket is not None and b.kind == "role" and b.name == "advance_evacuation_mark":
        return _fp(["header", f"old:{a.bucket}"], [f"old:{a.bucket}"])
    if a.role in ("access", "iterate") and b.kind == "role" and b.name in ("access", "iterate"):
        # The rest of a read (readers never write the map), the program's code, the next read.
        return _fp(["*"], ["program"])
    pair = (a.kind, a.name, b.kind, b.name)
    known = {
        ("role", "grow_work", "role", "evacuate"): _fp(["header"]),
        ("role", "advance_evacuation_mark", "probe", "grow-finished"): _fp(["header"], ["header"]),
        ("role", "advance_evacuation_mark", "role", "evacuate"): _fp(["header"], ["header"]),
        ("role", "hash_grow", "probe", "grow-started"): _fp(["header", "flags"], ["header", "flags"]),
        ("probe", "grow-started", "role", "grow_work"): _fp(["header"], ["header", "alloc"]),
        ("role", "assign", "probe", "writer-entry-checked"): _fp(["flags", "header"]),
        ("probe", "writer-entry-checked", "probe", "writer-set-writing"): _fp(["flags"], ["flags"]),
        ("probe", "writer-set-writing", "role", "grow_work"): _fp(["header"]),
        ("role", "access", "probe", "reader-entry-checked"): _fp(["flags", "header"]),
        ("role", "iterate", "probe", "iter-entry-checked"): _fp(["flags", "header"]),
    }
    return known.get(pair, EVERYTHING)


def independent(step, block):
    """Whether a step commutes with a block of other threads' steps."""
    return not step.conflicts(block)
