"""Hypothesis strategies that turn a valid document (a profile, a scenario) into the kinds of
damage a cache file or a hand-edited file holds: a value of the wrong type or of an extreme size
at any path, a key removed or added, a list emptied or repeated, a string with control characters.

Used by test_fuzz.py (a quick run in `make test`) and bench/fuzz_python.py (the long run that
docs/RELIABILITY.md reports).
"""

import copy
import math

from hypothesis import strategies as st

#: Values that break code which trusts a type or a range.
NASTY_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 2**64 + 1, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308]),
    st.text(max_size=20),
    st.sampled_from(["", "\x00", "\x1b[2J", "é", "../../etc/passwd", "map[", "<", "a" * 5000]),
)
NASTY = st.recursive(
    NASTY_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def paths(document, prefix=()):
    """Every path (tuple of keys and indices) to a value inside ``document``."""
    found = [prefix]
    if isinstance(document, dict):
        for k, v in document.items():
            found += paths(v, prefix + (k,))
    elif isinstance(document, list):
        for i, v in enumerate(document):
            found += paths(v, prefix + (i,))
    return found


def _parent(document, path):
    for key in path[:-1]:
        document = document[key]
    return document


@st.composite
def mutated(draw, document, max_edits=4):
    """``document`` with 1 to ``max_edits`` random edits."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(min_value=1, max_value=max_edits))):
        all_paths = [p for p in paths(doc) if p]
        if not all_paths:
            break
        path = draw(st.sampled_from(all_paths))
        parent, key = _parent(doc, path), path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "duplicate", "nudge"]))
        if action == "replace":
            parent[key] = draw(NASTY)
        elif action == "delete":
            del parent[key]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(NASTY)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif action == "nudge" and isinstance(parent[key], int) and not isinstance(parent[key], bool):
            parent[key] += draw(st.sampled_from([-1, 1, 8, -8, 2**32, -(2**32)]))
    return doc
