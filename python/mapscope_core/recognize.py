"""Which values are maps, and where their headers are.

A MAP argument or a printed value may be gomap's ``Map<K, V>`` handle (its header pointer is the
field the profile names), a header struct or a pointer to one, a Go map (a pointer to the
runtime's header), or a number taken as a header address. The rules work on the adapter's
:class:`~mapscope_core.adapter.Value` handles, so gdb and lldb recognise the same values.
"""

from .errors import MapscopeError

#: A header address is a pointer-sized integer (x86-64).
_ADDRESS_SIZE = 8


def parse_address(text):
    """The address a MAP argument spells as a number (``0x7ffe...`` or decimal), else None.
    Numbers outside the address space are refused here, not decoded."""
    try:
        value = int(text, 0)
    except ValueError:
        return None
    if not 0 <= value < 1 << 64:
        raise MapscopeError(f"{text} is not an address: out of the 64-bit range")
    return value


def header_of(value, profile, expression):
    """``(header address, type name or None)`` of a value that is a map."""
    handle = profile.map_handle_field
    oldbuckets = profile.header_field_name("oldbuckets")
    if value.kind == "reference":
        value = value.dereference()
    if value.kind == "int" and value.size == _ADDRESS_SIZE:
        return value.as_int(), None
    if value.kind == "pointer":
        target = value.dereference()
        if handle and target.kind == "struct" and handle in target.field_names():
            return header_of(target, profile, expression)
        return value.as_int(), value.type_name
    if value.kind == "struct":
        names = value.field_names()
        if handle and handle in names:
            return value.field(handle).as_int(), value.type_name
        if oldbuckets in names and value.address is not None:
            return value.address, value.type_name
    raise MapscopeError(f"{expression} is not a map (its type is {value.type_name})")
