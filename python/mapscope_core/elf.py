"""The identity of an ELF file (its GNU build-id, or Go's build ID), read without any library.

Profiles record the build-id of the binary they describe; a debugger session refuses a profile
whose build-id differs from the loaded binary's. Go's linker writes no GNU build-id but a Go
build ID note (`.note.go.buildid`), which serves the same purpose.
"""

import os
import struct

from .errors import MapscopeError

_NT_GNU_BUILD_ID = 3
_NT_GO_BUILD_ID = 4
_SHT_NOTE = 7


def build_id(path):
    """The GNU build-id of the ELF file at ``path`` as lowercase hex, or None if it has none."""
    return _notes(path)[0]


def go_build_id(path):
    """Go's build ID of the ELF file at ``path``, or None if it has none."""
    return _notes(path)[1]


#: Note sections and section names are small: more than this is not read (a damaged size).
_MAX_READ = 1 << 20


def _notes(path):
    """(GNU build-id as hex, Go build ID) of the file, each None when absent."""
    gnu = go = None
    for name, ntype, desc in _read(path, _note_descriptors):
        if ntype == _NT_GNU_BUILD_ID and name == b"GNU":
            gnu = desc.hex()
        elif ntype == _NT_GO_BUILD_ID and name == b"Go":
            go = desc.decode("ascii", errors="replace")
    return gnu, go


def may_hold_maps(path):
    """Whether the ELF file at ``path`` can be a map target, from its headers alone: a Go
    program (it has a Go build ID) or one that links gomap (gomap embeds its gdb auto-load
    script in ``.debug_gdb_scripts``). False for anything unreadable."""
    try:
        return _notes(path)[1] is not None or ".debug_gdb_scripts" in _read(path, _section_names)
    except MapscopeError:
        return False


def _read(path, what):
    """``what(file, sections)`` for the ELF file at ``path``, ``sections`` being (name offset,
    type, offset, size) of each section. Reads the ELF header, the section table and what
    ``what`` reads only: binaries with debug info run to hundreds of megabytes."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
            if head[:4] != b"\x7fELF":
                raise MapscopeError(f"{path} is not an ELF file")
            if len(head) < 6 or head[4] != 2 or head[5] != 1:
                raise MapscopeError(f"{path}: only 64-bit little-endian ELF is supported")
            try:
                (shoff,) = struct.unpack_from("<Q", head, 0x28)
                shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
                f.seek(shoff)
                table = f.read(shentsize * shnum)
                sections = []
                for i in range(shnum):
                    base = i * shentsize
                    name, sh_type = struct.unpack_from("<II", table, base)
                    offset, size = struct.unpack_from("<QQ", table, base + 0x18)
                    sections.append((name, sh_type, offset, size))
                return what(f, sections, shstrndx)
            except (struct.error, OverflowError, ValueError):  # short reads, offsets past 2**63
                raise MapscopeError(f"{path}: truncated or corrupt ELF headers") from None
    except OSError as e:
        raise MapscopeError(f"cannot read {path}: {e.strerror}") from None


def _contents(f, section):
    _, _, offset, size = section
    f.seek(offset)
    return f.read(min(size, _MAX_READ))


def _note_descriptors(f, sections, _shstrndx):
    """(name, type, descriptor) of every note of every note section."""
    return [note for s in sections if s[1] == _SHT_NOTE for note in _scan_notes(_contents(f, s))]


def _section_names(f, sections, shstrndx):
    if shstrndx >= len(sections):
        return set()
    names = _contents(f, sections[shstrndx])
    return {names[s[0] : names.find(b"\0", s[0])].decode("latin-1") for s in sections}


def _scan_notes(notes):
    """(name, type, descriptor) of each note in a note section."""
    pos = 0
    while pos + 12 <= len(notes):
        namesz, descsz, ntype = struct.unpack_from("<III", notes, pos)
        name_start = pos + 12
        desc_start = name_start + _align4(namesz)
        name = notes[name_start : name_start + namesz].rstrip(b"\0")
        yield name, ntype, notes[desc_start : desc_start + descsz]
        pos = desc_start + _align4(descsz)


def _align4(n):
    return (n + 3) & ~3


def _lowest_load_address(path):
    """The lowest p_vaddr of the file's PT_LOAD segments (0 for position-independent code)."""
    with open(path, "rb") as f:
        head = f.read(64)
        (phoff,) = struct.unpack_from("<Q", head, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
    lowest = None
    for i in range(phnum):
        p_type, _flags, _offset, vaddr = struct.unpack_from("<IIQQ", table, i * phentsize)
        if p_type == 1 and (lowest is None or vaddr < lowest):
            lowest = vaddr
    return (lowest or 0) & ~0xFFF


def load_bias(path, pid):
    """How far the running process ``pid`` moved the executable ``path`` from its link-time
    addresses (0 unless it is position-independent). Profiles hold link-time addresses."""
    real = os.path.realpath(path)
    try:
        with open(f"/proc/{pid}/maps") as maps:
            for line in maps:
                parts = line.split()
                if len(parts) >= 6 and os.path.realpath(parts[5]) == real and int(parts[2], 16) == 0:
                    start = int(parts[0].split("-")[0], 16)
                    return start - _lowest_load_address(path)
    except OSError:
        pass
    return 0
