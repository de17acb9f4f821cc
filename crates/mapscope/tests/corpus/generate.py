#!/usr/bin/env python3
"""Writes the malformed-input corpus used by tests/bad_input.rs.

Each file is small and deterministic. Run from this directory:
    python3 generate.py
Files found by the fuzzer (fuzz/artifacts) that once crashed mapscope are copied
here by hand with a name starting with `fuzz-`.
"""

import struct
import zlib


def elf(sections, shoff_override=None, shstrndx_override=None, truncate=None, size_override=None):
    """A minimal little-endian ELF64 x86-64 executable with the given sections
    [(name, type, flags, data)]; a null section and .shstrtab are added.
    size_override {section index: sh_size} writes a size that does not match the data."""
    names = b"\0"
    offs = []
    for name, *_ in sections:
        offs.append(len(names))
        names += name.encode() + b"\0"
    shstr_name = len(names)
    names += b".shstrtab\0"
    body = b""
    placed = []
    base = 64
    for (_name, typ, flags, data), noff in zip(sections, offs, strict=True):
        placed.append((noff, typ, flags, base + len(body), len(data)))
        body += data
        body += b"\0" * (-len(body) % 8)
    placed.append((shstr_name, 3, 0, base + len(body), len(names)))
    body += names
    body += b"\0" * (-len(body) % 8)
    shoff = base + len(body)
    shnum = len(placed) + 1
    shstrndx = shnum - 1
    if shoff_override is not None:
        shoff = shoff_override
    if shstrndx_override is not None:
        shstrndx = shstrndx_override
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    hdr = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x401000, 0, shoff, 0, 64, 56, 0, 64, shnum, shstrndx)
    sh = b"\0" * 64
    for i, (noff, typ, flags, off, size) in enumerate(placed):
        size = (size_override or {}).get(i, size)
        sh += struct.pack("<IIQQQQIIQQ", noff, typ, flags, 0, off, size, 0, 0, 1, 0)
    out = hdr + body + sh
    if truncate is not None:
        out = out[:truncate]
    return out


SHF_COMPRESSED = 0x800
abbrev = bytes([1, 0x11, 0, 0x03, 0x08, 0, 0, 0])  # CU, no children, DW_AT_name string
good_cu_body = struct.pack("<HIB", 4, 0, 8) + bytes([1]) + b"x.c\0"
good_cu = struct.pack("<I", len(good_cu_body)) + good_cu_body

files = {
    "empty.bin": b"",
    "short.bin": b"\x7fEL",
    "text.txt": b"this is not an ELF file\n",
    "elf-magic-only.bin": b"\x7fELF" + b"\0" * 12,
    "elf-header-truncated.bin": elf([])[:40],
    "elf-shoff-past-eof.bin": elf([(".debug_info", 1, 0, good_cu)], shoff_override=0xFFFFFF00),
    "elf-bad-shstrndx.bin": elf([(".debug_info", 1, 0, good_cu)], shstrndx_override=77),
    "elf-no-sections-table.bin": elf([(".debug_info", 1, 0, good_cu)], truncate=120),
    "elf-no-debug.bin": elf([(".text", 1, 6, b"\xc3" * 16)]),
    "elf-debug-info-garbage.bin": elf(
        [
            (".debug_abbrev", 1, 0, abbrev),
            (".debug_info", 1, 0, b"\xff\xff\xff\xff" + b"\x41" * 60),
        ]
    ),
    "elf-debug-info-bad-abbrev.bin": elf(
        [
            (".debug_abbrev", 1, 0, bytes([1, 0x11, 0, 0x03, 0x7F, 0, 0, 0])),  # unknown form 0x7f
            (".debug_info", 1, 0, good_cu),
        ]
    ),
    "elf-debug-info-unit-past-end.bin": elf(
        [
            (".debug_abbrev", 1, 0, abbrev),
            (".debug_info", 1, 0, struct.pack("<I", 4000) + good_cu_body),
        ]
    ),
    "elf-compressed-garbage.bin": elf(
        [
            (".debug_abbrev", 1, 0, abbrev),
            (".debug_info", 1, SHF_COMPRESSED, struct.pack("<IIQQ", 1, 0, 64, 1) + b"not zlib at all"),
        ]
    ),
    "elf-compressed-huge-size.bin": elf(
        [
            (".debug_abbrev", 1, 0, abbrev),
            (".debug_info", 1, SHF_COMPRESSED, struct.pack("<IIQQ", 1, 0, 1 << 60, 1) + zlib.compress(good_cu)),
        ]
    ),
    # gimli describes this one on two lines; mapscope must say it on one.
    "elf-abbrev-tag-zero.bin": elf(
        [
            (".debug_abbrev", 1, 0, bytes([1, 0x00, 0, 0x03, 0x08, 0, 0, 0])),
            (".debug_info", 1, 0, good_cu),
        ]
    ),
    # Nothing is compressed: the error must say the section runs past the end of the file.
    "elf-section-past-eof.bin": elf(
        [
            (".debug_abbrev", 1, 0, abbrev),
            (".debug_info", 1, 0, good_cu),
        ],
        size_override={1: 0x10000},
    ),
    # A struct whose DW_FORM_strp name points past the end of .debug_str: damage,
    # not "no struct type matches" (offsets and profile say so; the file has no
    # functions or lines for symbols and lines to find).
    "elf-strp-past-debug-str.bin": elf(
        [
            (".debug_abbrev", 1, 0, bytes([1, 0x11, 1, 0, 0, 2, 0x13, 0, 0x03, 0x0E, 0x0B, 0x0B, 0, 0, 0])),
            (
                ".debug_info",
                1,
                0,
                (lambda body: struct.pack("<I", len(body)) + body)(
                    struct.pack("<HIB", 4, 0, 8) + bytes([1, 2]) + struct.pack("<I", 0x100) + bytes([8, 0])
                ),
            ),
            (".debug_str", 1, 0, b"x\0"),
        ]
    ),
    "elf-minimal-valid-dwarf.bin": elf(
        [
            (".debug_abbrev", 1, 0, abbrev),
            (".debug_info", 1, 0, good_cu),
        ]
    ),
}

for name, data in files.items():
    with open(name, "wb") as f:
        f.write(data)
print(f"wrote {len(files)} files")
