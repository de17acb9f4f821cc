"""Commands an adversarial user types before the program runs, each with the one-line error
both front-ends must give (test_gdb.py and test_lldb.py run the same list): garbage
addresses, numbers out of range, a binary given as a profile, filters that could never
match, and commands that need a running program. Where two messages are given, either is
right: before ``run`` gdb reads the executable's file at a link-time address, lldb reads
nothing."""

#: What a read at a garbage address says, in either debugger.
GARBAGE = ("0x1234 does not look like a map header", "cannot read 48 bytes at 0x1234: the program is not running")

BEFORE_RUN = {
    "hmap show 0x1234": GARBAGE,
    "hmap show -1": "-1 is not an address: out of the 64-bit range",
    "hmap show 0x10000000000000000": "0x10000000000000000 is not an address: out of the 64-bit range",
    "hmap buckets 0x1234": GARBAGE,
    "hmap watch oldbuckets 0x1234": GARBAGE,
    "hmap break assign --map 0x1234": GARBAGE,
    "hmap break evacuate --bucket -5": "a bucket index is never negative: -5",
    "hmap profile target/debug/grow": "is not text (a binary? give the program, not a profile)",
    "hmap print 0": "the map is nil (header address 0)",
    "hmap help foo": "unknown command 'hmap foo'; try 'hmap help'",
    "hmap snapshot": "the program is not running: nothing to snapshot",
    "hmap show": "hmap show: the following arguments are required: map",
}


def says(error, expected):
    """Whether ``error`` contains the expected text (or one of the expected texts)."""
    return any(e in error for e in ((expected,) if isinstance(expected, str) else expected))
