"""Rendering slot bytes by type."""

import struct

import pytest
from mapscope_core.values import Renderer, format_map


@pytest.mark.parametrize(
    "type_name, raw, text",
    [
        ("i64", (-5).to_bytes(8, "little", signed=True), "-5"),
        ("u8", b"\xff", "255"),
        ("int", (7).to_bytes(8, "little"), "7"),
        ("f64", struct.pack("<d", 1.5), "1.5"),
        ("float32", struct.pack("<f", 0.25), "0.25"),
        ("bool", b"\x01", "true"),
        ("char", ord("é").to_bytes(4, "little"), "'é'"),
        ("()", b"", "()"),
        ("*mut u8", (0x1234).to_bytes(8, "little"), "0x1234"),
        ("Weird<T>", b"\x01\x02", "Weird<T>{0x0102}"),
    ],
)
def test_scalars(type_name, raw, text):
    assert Renderer(lambda a, n: b"").render(type_name, raw) == text


def test_strings_use_the_profiles_layout():
    memory = {0x5000: b'say "hi"'}
    layout = {"kind": "string", "fields": {"ptr": {"offset": 8, "size": 8}, "len": {"offset": 0, "size": 8}}}
    r = Renderer(lambda a, n: memory[a][:n], {"&str": layout})
    raw = (8).to_bytes(8, "little") + (0x5000).to_bytes(8, "little")
    assert r.render("&str", raw) == '"say \\"hi\\""'
    assert r.render("&str", bytes(16)) == '""'


def test_indirect_slots_show_the_pointer():
    assert Renderer(None).render("[u8; 200]", (0xABC).to_bytes(8, "little"), indirect=True) == "(*[u8; 200]) 0xabc"


def test_format_map():
    assert format_map([("1", "10"), ("2", "20")]) == "{[1] = 10, [2] = 20}"
    assert format_map([]) == "{}"
