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


def _notes(path):
    """(GNU build-id as hex, Go build ID) of the file, each None when absent."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MapscopeError(f"cannot read {path}: {e.strerror}") from None
    if data[:4] != b"\x7fELF":
        raise MapscopeError(f"{path} is not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise MapscopeError(f"{path}: only 64-bit little-endian ELF is supported")
    try:
        return _find_ids(data)
    except struct.error:
        raise MapscopeError(f"{path}: truncated or corrupt ELF headers") from None


def _find_ids(data):
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    gnu = go = None
    for i in range(shnum):
        base = shoff + i * shentsize
        (sh_type,) = struct.unpack_from("<I", data, base + 4)
        if sh_type != _SHT_NOTE:
            continue
        offset, size = struct.unpack_from("<QQ", data, base + 0x18)
        for name, ntype, desc in _scan_notes(data[offset : offset + size]):
            if ntype == _NT_GNU_BUILD_ID and name == b"GNU":
                gnu = desc.hex()
            elif ntype == _NT_GO_BUILD_ID and name == b"Go":
                go = desc.decode("ascii", errors="replace")
    return gnu, go


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
