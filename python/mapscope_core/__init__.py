"""Debugger-neutral core of mapscope's gdb and lldb front-ends.

Everything here is plain Python (standard library only) and talks to a debugger only through
the small interface in :mod:`mapscope_core.adapter`, so it runs under gdb, under lldb, and under
pytest with a fake debugger that serves memory images.

Modules, each with one job:

- :mod:`errors`   the one exception type users see, as a single line
- :mod:`elf`      the build-id of a binary, to match profiles to binaries
- :mod:`profile`  loading, checking, building and caching the profile that ``mapscope`` writes
- :mod:`layout`   the layouts of one map type (header, bucket, key and elem), from a profile
- :mod:`decode`   headers, buckets, tophash states and live entries from raw memory
- :mod:`values`   rendering keys and elems from raw bytes
"""

from .errors import MapscopeError

__all__ = ["MapscopeError"]
