"""mapscope for gdb: the ``hmap`` commands, a map printer, and ``replay_main``.

Load with ``source gdb-scripts/mapscope.py`` (or ``gdb -x gdb-scripts/mapscope.py``), or let gdb
auto-load it from a program that links gomap:

    gdb -iex 'add-auto-load-safe-path .' target/debug/grow

This file only puts the front-end on Python's path and imports it, so that the names of the
front-end do not land in the namespace all sourced gdb scripts share.
"""

import os as _os
import sys as _sys

_here = _os.path.dirname(_os.path.abspath(_os.path.expanduser(__file__)))
for _path in (_here, _os.path.join(_os.path.dirname(_here), "python")):
    if _path not in _sys.path:
        _sys.path.insert(0, _path)


def _prefetch():
    """Starts the program's profile build before the rest of mapscope loads (the build and the
    import then overlap on two cores)."""
    import gdb
    from mapscope_core import profile_cache

    if gdb.current_progspace().filename:
        profile_cache.prefetch(gdb.current_progspace().filename)


_prefetch()
del _prefetch

from mapscope_gdb import explore_main, replay_main  # noqa: E402,F401  (importing installs the commands)
