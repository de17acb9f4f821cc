"""Type names as debuggers and DWARF spell them, and the rules that recognise map types.

The profile names types as DWARF does (``gomap::runtime::Hmap<i64, i64>``, Go's
``map[int64]int64``). Debuggers do not always: lldb rebuilds a generic struct's name from its
template parameters in C terms (``gomap::Map<long, long>``), gdb adds spaces to Go's
``bucket<int64,int64>``. Scalars are therefore compared by what they are (signed or not, integer or
float, their size), everything else by name with spaces ignored.
"""

#: Scalar type names -> (class, bytes). Rust, Go and C (LP64) spellings.
_SCALARS = {}
for _names, _kind in (
    (("i8", "int8", "signed char"), ("int", 1)),
    (("i16", "int16", "short", "short int"), ("int", 2)),
    (("i32", "int32", "int", "rune"), ("int", 4)),
    (("i64", "int64", "long", "long int", "long long", "long long int"), ("int", 8)),
    (("isize",), ("int", 8)),
    (("i128", "__int128"), ("int", 16)),
    (("u8", "uint8", "byte", "unsigned char"), ("uint", 1)),
    (("u16", "uint16", "unsigned short", "unsigned short int"), ("uint", 2)),
    (("u32", "uint32", "unsigned int"), ("uint", 4)),
    (("u64", "uint64", "uintptr", "unsigned long", "unsigned long int", "unsigned long long"), ("uint", 8)),
    (("usize",), ("uint", 8)),
    (("u128", "unsigned __int128"), ("uint", 16)),
    (("f32", "float32", "float"), ("float", 4)),
    (("f64", "float64", "double"), ("float", 8)),
    (("bool", "_Bool"), ("bool", 1)),
):
    for _name in _names:
        _SCALARS[_name] = _kind


def _norm(name):
    return name.replace(" ", "")


def same_type(debugger_name, dwarf_name, exact=False):
    """Whether a debugger's type name denotes the DWARF type ``dwarf_name``. ``exact`` compares
    spellings (spaces aside); otherwise scalars match by class and size, generic arguments
    recursively, so that lldb's ``gomap::Map<long, long>`` is ``gomap::Map<i64, i64>``."""
    a, b = debugger_name.strip(), dwarf_name.strip()
    if _norm(a) == _norm(b):
        return True
    if exact:
        return False
    if a in _SCALARS or b in _SCALARS:
        return _SCALARS.get(a) is not None and _SCALARS.get(a) == _SCALARS.get(b)
    sa, sb = _split_generic(a), _split_generic(b)
    if sa and sb:
        (base_a, args_a), (base_b, args_b) = sa, sb
        return (
            _norm(base_a) == _norm(base_b)
            and len(args_a) == len(args_b)
            and all(same_type(x, y) for x, y in zip(args_a, args_b, strict=True))
        )
    return False


def _split_generic(name):
    """(base, [arguments]) of ``Base<A, B>``, or None."""
    if "<" not in name or not name.endswith(">"):
        return None
    start = name.index("<")
    return name[:start], _split_top_level(name[start + 1 : -1])


def _split_top_level(args):
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(args):
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(args[start:i].strip())
            start = i + 1
    parts.append(args[start:].strip())
    return parts


def strip_pointers(type_name):
    """``*mut T``, ``&T``, ``T *`` and ``const T &`` -> ``T``."""
    name = type_name.strip()
    while True:
        if name.startswith(("*mut ", "*const ", "&mut ")):
            name = name.split(" ", 1)[1].strip()
        elif name.startswith(("&", "*")):
            name = name[1:].strip()
        elif name.endswith(("*", "&")):
            name = name[:-1].strip()
        elif name.startswith("const "):
            name = name[6:].strip()
        else:
            return name


def key_elem_of(type_name):
    """(key, elem) type names of a map type name, or None when it names no map type:
    ``map[K]V`` (Go), ``X<K, V>`` (gomap's ``Map``, ``Hmap``), behind pointers or references."""
    name = strip_pointers(type_name)
    if name.startswith("map["):
        depth = 0
        for i, ch in enumerate(name[3:], start=3):
            depth += ch == "["
            depth -= ch == "]"
            if depth == 0:
                return name[4:i], name[i + 1 :]
        return None
    generic = _split_generic(name)
    if generic and len(generic[1]) == 2:
        return generic[1][0], generic[1][1]
    return None


#: Generic structs whose values the printer shows as maps: gomap's handle and header. Go maps are
#: pointers whose type name starts with ``map[``.
PRINTED_STRUCTS = ("gomap::Map", "gomap::runtime::Hmap")


def printer_wants(kind, type_name):
    """Whether a value of this kind and type name is a map the printer shows. Decided from the
    name alone: it runs for every value the debugger prints, before any profile is loaded."""
    name = type_name.strip()
    if kind == "pointer":
        return name.startswith("map[")
    if kind == "struct":
        return name.startswith(tuple(f"{s}<" for s in PRINTED_STRUCTS)) and key_elem_of(name) is not None
    return False
