# Embedded into every binary that links gomap (see crates/gomap/src/lib.rs) and run by gdb when
# the binary is on the auto-load safe-path:
#     gdb -iex 'add-auto-load-safe-path .' target/debug/grow
# It finds this checkout's gdb-scripts/mapscope.py ($MAPSCOPE_HOME, or the nearest directory
# above the binary that has one) and sources it.
import os

import gdb


def _mapscope_autoload():
    objfile = gdb.current_objfile()
    start = os.environ.get("MAPSCOPE_HOME") or (objfile and os.path.dirname(os.path.abspath(objfile.filename)))
    here = start
    while here:
        script = os.path.join(here, "gdb-scripts", "mapscope.py")
        if os.path.isfile(script):
            gdb.execute(f"source {script}")
            return
        parent = os.path.dirname(here)
        here = parent if parent != here else None
    print(f"mapscope: gdb-scripts/mapscope.py not found above {start}; set MAPSCOPE_HOME")


_mapscope_autoload()
