"""Debugger-neutral core of mapscope's gdb and lldb front-ends.

Everything here is plain Python (standard library only) and talks to a debugger only through
the primitives of :class:`mapscope_core.adapter.Adapter`, so it runs under gdb, under lldb, and
under pytest with a fake debugger over memory images.

Modules, each with one job:

- :mod:`errors`        the one exception type users see, one line, and the boundary that makes it
- :mod:`adapter`       the debugger primitives and their typed handles (Value, Type, Stop, ...)
- :mod:`elf`           the build-id of a binary and its load bias in a process
- :mod:`profile`       checking a profile and reading it as typed records
- :mod:`profile_cache` building profiles with ``mapscope profile`` and caching them
- :mod:`layout`        the layouts of one map type (header, bucket, key and elem)
- :mod:`typenames`     type names as debuggers spell them; which names are maps
- :mod:`decode`        headers, buckets, tophash states and live entries from raw memory
- :mod:`swiss`         Swiss-table maps (Go 1.24+) from raw memory; :mod:`swiss_text` their text
- :mod:`values`        rendering keys and elems from raw bytes
- :mod:`recognize`     which values are maps, and where their headers are
- :mod:`conditions`    breakpoint conditions the debugger evaluates itself
- :mod:`places`        reading a variable where DWARF puts it (register, stack slot, pieces)
- :mod:`inspector`     the DWARF inspector's variable service (``mapscope variables --stdin``)
- :mod:`target`        the program seen through an adapter: roles, maps, sites, watches, fatal reports
- :mod:`printer`       the map printer: summary and lazy children, and ``hmap print``'s text
- :mod:`commands`      the ``hmap`` command table, its handlers and the stop reports
- :mod:`scenario`      replay scenarios; :mod:`replay` the engine; :mod:`transcript` its record
- :mod:`explore`       the search for failing interleavings (``mapscope explore``) on the engine
  (a package: footprints, search, executor, output, batch)
- :mod:`report`        a transcript drawn as an HTML page or SVG (``mapscope report``)
"""

from .errors import MapscopeError

__all__ = ["MapscopeError"]
