"""Profiles: loading, refusing bad or stale ones, and naming map types."""

import copy
import json
import shutil
import struct
import subprocess

import fuzzing
import pytest
from conftest import DATA, TARGET, missing
from mapscope_core import elf, profile_cache
from mapscope_core.errors import MapscopeError
from mapscope_core.profile import Profile, key_elem_of


def base():
    with open(DATA / "grow-profile.json") as f:
        return json.load(f)


def test_loads_the_captured_profile():
    p = Profile(base())
    assert p.family == "gomap"
    assert [mt.description for mt in p.map_types] == ["map[i64]i64"]
    mt = p.map_types[0]
    assert mt.header["oldbuckets"].offset == 24 and mt.bucket_size == 144


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(schema_version=99), "schema version 99"),
        (lambda d: d.pop("layouts"), "lacks layouts"),
        (lambda d: d.update(family="java"), "unknown family"),
        (lambda d: d["layouts"]["header"][0]["fields"].pop("nevacuate"), "lacks field"),
    ],
)
def test_refuses_malformed_profiles(change, message):
    data = base()
    change(data)
    with pytest.raises(MapscopeError, match=message):
        Profile(data)


def test_a_probe_whose_params_are_not_a_list_is_refused():
    # Found by bench/fuzz_python.py: a TypeError escaped before.
    data = copy.deepcopy(fuzzing.GOMAP_PROFILE)
    next(iter(data["probes"].values()))[0]["params"] = 0.5
    with pytest.raises(MapscopeError, match="params is not a list"):
        Profile(data)


def test_file_errors_are_one_line(tmp_path):
    with pytest.raises(MapscopeError, match="cannot read profile"):
        Profile.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(MapscopeError, match="is not JSON"):
        Profile.load(bad)


def test_stale_profile_is_refused(tmp_path):
    binary = TARGET / "grow"
    if not binary.exists():
        missing("fixtures not built")
    data = base()
    data["binary"]["build_id"] = elf.build_id(binary)
    Profile(data).check_binary(binary)
    data["binary"]["build_id"] = "00" * 20
    with pytest.raises(MapscopeError, match="stale profile"):
        Profile(data).check_binary(binary)


def test_build_id_matches_readelf(tmp_path):
    binary = TARGET / "grow"
    if not binary.exists() or not shutil.which("readelf"):
        missing("fixtures or readelf missing")

    notes = subprocess.run(["readelf", "-n", str(binary)], capture_output=True, text=True).stdout
    assert f"Build ID: {elf.build_id(binary)}" in notes
    not_elf = tmp_path / "x"
    not_elf.write_bytes(b"hello")
    with pytest.raises(MapscopeError, match="not an ELF"):
        elf.build_id(not_elf)


def _elf_header(shoff, shnum):
    head = bytearray(64)
    head[:6] = b"\x7fELF\x02\x01"
    struct.pack_into("<Q", head, 0x28, shoff)
    struct.pack_into("<HH", head, 0x3A, 64, shnum)
    return bytes(head)


def _note_section(offset, size):
    section = bytearray(64)
    struct.pack_into("<I", section, 4, 7)  # SHT_NOTE
    struct.pack_into("<QQ", section, 0x18, offset, size)
    return bytes(section)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"\x7fELF", "only 64-bit little-endian"),
        (_elf_header(2**64 - 1, 3), "truncated or corrupt"),  # a section table past 2**63
        (_elf_header(64, 3), "truncated or corrupt"),  # a section table past the end
        (_elf_header(64, 1) + _note_section(2**63 + 5, 2**62), "truncated or corrupt"),
    ],
    ids=["four-bytes", "table-beyond-2**63", "table-past-end", "note-beyond-2**63"],
)
def test_damaged_elf_headers_are_one_line_errors(tmp_path, content, message):
    """Only the headers and note sections are read (binaries run to hundreds of megabytes), and
    offsets or sizes a damaged file makes up are refused, not followed."""
    path = tmp_path / "damaged"
    path.write_bytes(content)
    with pytest.raises(MapscopeError, match=message):
        elf.build_id(path)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("gomap::Map<i64, i64>", ("i64", "i64")),
        ("*mut gomap::runtime::Hmap<alloc::string::String, u32>", ("alloc::string::String", "u32")),
        ("&gomap::Map<(u16, u16), u32>", ("(u16, u16)", "u32")),
        ("map[int64]int64", ("int64", "int64")),
        ("map[string]map[int]bool", ("string", "map[int]bool")),
        ("u64", None),
    ],
)
def test_key_elem_of(name, expected):
    assert key_elem_of(name) == expected


def test_unknown_or_ambiguous_map_types():
    p = Profile(base())
    with pytest.raises(MapscopeError, match="no map of u8 to u8"):
        p.map_type("gomap::Map<u8, u8>")
    data = base()
    second = json.loads(json.dumps(data["layouts"]["buckets"][0]))
    second["key_type"] = "u64"
    data["layouts"]["buckets"].append(second)
    with pytest.raises(MapscopeError, match="several"):
        Profile(data).map_type(None)


@pytest.fixture(scope="module")
def cached_grow(tmp_path_factory):
    """``(binary, mapscope, cache home, the good entry's path relative to it, its text)``: one
    profile of the grow fixture made through the cache."""
    binary, mapscope = TARGET / "grow", TARGET / "mapscope"
    if not binary.exists() or not mapscope.exists():
        missing("fixtures or mapscope not built")
    home = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("XDG_CACHE_HOME", str(home))
        m.setenv("MAPSCOPE", str(mapscope))
        profile_cache.build(binary)
        entry = profile_cache.cache_path(binary, str(mapscope))
    return binary, mapscope, home, entry.relative_to(home), entry.read_text()


def _cache_with(tmp_path, monkeypatch, cached_grow, text):
    binary, mapscope, _, relative, _ = cached_grow
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MAPSCOPE", str(mapscope))
    entry = tmp_path / relative
    entry.parent.mkdir(parents=True)
    entry.write_bytes(text if isinstance(text, bytes) else text.encode())
    return binary, entry


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d["layouts"]["header"][0]["fields"]["count"].update(offset=1 << 40),  # outside its struct
        lambda d: d["binary"].update(build_id="00" * 20),  # another build's entry under this key
        lambda d: d.update(schema_version="1"),
        lambda d: "{ truncated",
        lambda d: b"\xff\xfe not text",
    ],
    ids=["offset-outside-struct", "other-build", "schema-type", "not-json", "not-utf8"],
)
def test_a_damaged_cache_entry_is_rebuilt(tmp_path, monkeypatch, cached_grow, damage):
    good = cached_grow[4]
    data = json.loads(good)
    damaged = damage(data)
    binary, entry = _cache_with(tmp_path, monkeypatch, cached_grow, json.dumps(data) if damaged is None else damaged)
    profile = profile_cache.build(binary)
    assert entry.read_text() == good  # rebuilt and cached again
    assert (
        profile.map_types[0].header["count"].offset
        == json.loads(good)["layouts"]["header"][0]["fields"]["count"]["offset"]
    )


def test_rebuild_ignores_the_cache(tmp_path, monkeypatch, cached_grow):
    good = cached_grow[4]
    # An entry that passes every check (the same content, written another way) is still
    # replaced by --rebuild, and used as it is without it.
    other = json.dumps(json.loads(good), indent=7)
    binary, entry = _cache_with(tmp_path, monkeypatch, cached_grow, other)
    profile_cache.build(binary)
    assert entry.read_text() == other
    profile_cache.build(binary, rebuild=True)
    assert entry.read_text() == good


def _no_prefetch_left():
    assert not profile_cache._pending


def test_a_prefetched_profile_is_what_the_first_command_gets(tmp_path, monkeypatch, cached_grow):
    binary, mapscope, _, relative, good = cached_grow
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MAPSCOPE", str(mapscope))
    profile_cache.prefetch(binary)
    assert str(binary) in profile_cache._pending  # building in the background
    profile_cache.prefetch(binary)  # asked again while it runs: still one build
    assert len(profile_cache._pending) == 1
    profile = profile_cache.build(binary)
    _no_prefetch_left()
    assert (tmp_path / relative).read_text() == good
    assert profile.map_types  # a whole, checked profile
    assert [p.name for p in (tmp_path / relative).parent.iterdir()] == [relative.name]  # no temporary left


def test_a_prefetch_nobody_used_leaves_a_cache_entry(tmp_path, monkeypatch, cached_grow):
    binary, mapscope, _, relative, good = cached_grow
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MAPSCOPE", str(mapscope))
    profile_cache.prefetch(binary)
    profile_cache._pending.pop(str(binary))[0].wait(timeout=60)  # the session ended meanwhile
    assert (tmp_path / relative).read_text() == good
    profile_cache.prefetch(binary)  # an entry exists: nothing to build
    _no_prefetch_left()


def test_a_failed_prefetch_is_reported_by_the_command_that_needs_it(tmp_path, monkeypatch, cached_grow):
    _, mapscope, _, _, _ = cached_grow
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MAPSCOPE", str(mapscope))
    go = TARGET / "go-grow"
    if not go.exists() or not shutil.which("objcopy"):
        missing("go-grow (make go-fixtures) or objcopy missing")
    no_dwarf = tmp_path / "go-grow-no-dwarf"  # a Go program (so worth a prefetch) without DWARF
    subprocess.run(["objcopy", "--strip-debug", str(go), str(no_dwarf)], check=True)
    profile_cache.prefetch(no_dwarf)
    assert str(no_dwarf) in profile_cache._pending  # prefetch itself says nothing
    with pytest.raises(MapscopeError, match="has no DWARF debug info"):
        profile_cache.build(no_dwarf)
    _no_prefetch_left()


def test_only_possible_map_targets_are_prefetched(tmp_path, monkeypatch, cached_grow):
    """A debugger that sources mapscope for every program builds no profile of a program that
    cannot have one: neither Go nor linked with gomap."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MAPSCOPE", str(cached_grow[1]))
    other = shutil.which("true")
    assert not elf.may_hold_maps(other)
    assert elf.may_hold_maps(cached_grow[0])  # gomap's auto-load script is in .debug_gdb_scripts
    if (TARGET / "go-grow").exists():
        assert elf.may_hold_maps(TARGET / "go-grow")  # a Go build ID
    profile_cache.prefetch(other)
    _no_prefetch_left()


def test_a_prefetch_that_cannot_start_is_silent(tmp_path, monkeypatch, cached_grow):
    binary = cached_grow[0]
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("MAPSCOPE", str(tmp_path / "no-such-mapscope"))
    profile_cache.prefetch(binary)
    _no_prefetch_left()
