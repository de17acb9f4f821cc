"""Breakpoint conditions: the text each debugger is given, from the profile's parameter places."""

import pytest
from mapscope_core import places
from mapscope_core.conditions import Term, render
from mapscope_core.errors import MapscopeError
from mapscope_core.profile import Param, RoleFunction


def function(name, *params):
    return RoleFunction("evacuate", name, name, name, name, 0x1000, 0x100, None, tuple(Param(*p) for p in params))


EVACUATE = function(
    "gomap::runtime::grow::evacuate_fast64",
    ("t", 8, {"register": "rsp", "offset": 176}),
    ("h", 8, {"register": "rsp", "offset": 184}),
    ("oldbucket", 8, {"register": "rsp", "offset": 192}),
)


def test_no_terms_no_condition():
    assert render(EVACUATE, [], 24) is None


def test_each_term():
    assert render(EVACUATE, [Term("map", 0x1000)], 24).text == "*(unsigned long *)($rsp + 184) == 0x1000"
    assert render(EVACUATE, [Term("bucket", 3)], 24).text == "*(unsigned long *)($rsp + 192) == 3"
    assert (
        render(EVACUATE, [Term("growing")], 24).text == "*(unsigned long *)(*(unsigned long *)($rsp + 184) + 24) != 0"
    )


def test_terms_combine_with_and():
    text = render(EVACUATE, [Term("map", 0x10), Term("bucket", 1)], 24).text
    assert text == "(*(unsigned long *)($rsp + 184) == 0x10) && (*(unsigned long *)($rsp + 192) == 1)"


def test_register_parameters_and_sizes():
    fn = function("f", ("bucket", 4, {"register": "rdx"}))
    assert render(fn, [Term("bucket", 9)], 24).text == "$rdx == 9"
    fn = function("f", ("bucket", 4, {"register": "rbp", "offset": -20}))
    assert render(fn, [Term("bucket", 9)], 24).text == "*(unsigned int *)($rbp + -20) == 9"


def test_what_cannot_be_expressed_is_an_error():
    assign = function("assign", ("h", 8, None))
    with pytest.raises(MapscopeError, match="no parameter oldbucket or bucket"):
        render(assign, [Term("bucket", 1)], 24)
    with pytest.raises(MapscopeError, match="has no place a condition can read"):
        render(assign, [Term("map", 1)], 24)
    with pytest.raises(MapscopeError, match="no parameter h"):
        render(function("fatal"), [Term("growing")], 24)


def test_a_callers_register_is_trusted_only_where_the_abi_keeps_it():
    go, c = places.CALLER_KEEPS_GO, places.CALLER_KEEPS_C
    # Go's register ABI: oldbucket in rcx is gone once evacuate has called on.
    assert places.lost_in_caller({"register": "rcx"}, go) and places.lost_in_caller({"register": "rcx"}, c)
    assert places.lost_in_caller({"register": "rbx"}, go) and not places.lost_in_caller({"register": "rbx"}, c)
    # Memory a frame register points to is still there.
    assert not places.lost_in_caller({"register": "rsp", "offset": 8}, go)
    assert not places.lost_in_caller({"cfa": 8}, go)
    pieces = {"pieces": [{"size": 8, "cfa": 0}, {"size": 8, "register": "rdi"}]}
    assert places.lost_in_caller(pieces, c)
