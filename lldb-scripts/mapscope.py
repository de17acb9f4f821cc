"""mapscope for lldb: the ``hmap`` commands, the map summary and children providers, and the stop
reports.

    (lldb) command script import lldb-scripts/mapscope.py
    $ lldb-16 -b -o 'command script import lldb-scripts/mapscope.py' \\
          -o 'hmap replay fixtures/scenarios/ghost-read.toml'

This file only puts the front-end on Python's path and lets it register itself, so that its names
stay in their own module.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(os.path.expanduser(__file__)))
for _path in (_HERE, os.path.join(os.path.dirname(_HERE), "python")):
    if _path not in sys.path:
        sys.path.insert(0, _path)


def __lldb_init_module(debugger, internal_dict):
    # The program's profile build starts before the rest of mapscope loads (the build and the
    # import then overlap on two cores).
    from mapscope_core import profile_cache

    target = debugger.GetSelectedTarget()
    if target.IsValid() and target.GetExecutable().fullpath:
        profile_cache.prefetch(target.GetExecutable().fullpath)
    import mapscope_lldb

    mapscope_lldb.install(debugger)
