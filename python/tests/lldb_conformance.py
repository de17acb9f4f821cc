"""Runs the conformance suite inside lldb, as a command (lldb's SB values are reliable in a
command's context, which is where mapscope's own commands run):

    lldb-16 -b -o 'command script import lldb-scripts/mapscope.py' \\
        -o 'command script import python/tests/lldb_conformance.py' -o 'conformance-run TRUTH' grow
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import conformance  # noqa: E402
import mapscope_lldb  # noqa: E402


def run(debugger, command, exe_ctx, result, internal_dict):
    conformance.run_in_debugger(mapscope_lldb.commands_of(debugger).adapter, command.strip())


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand(f"command script add -o -f {__name__}.run conformance-run")
