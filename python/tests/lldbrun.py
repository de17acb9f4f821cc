"""Running lldb in batch mode on a fixture, for the front-end tests.

The commands go into a file that lldb sources with errors and continues allowed, as a user types
them; the file ends with a marker, so a missing marker means lldb stopped early.
"""

import shutil
import subprocess
import tempfile

from conftest import REPO, DebuggerFailed, missing


def lldb(binary, commands, timeout=180):
    """Runs ``commands`` (lldb command lines) on ``binary`` and returns everything printed."""
    if not shutil.which("lldb-16"):
        missing("lldb-16 is not installed")
    text = "command script import lldb-scripts/mapscope.py\n" + commands.strip() + '\nscript print("LLDB-DONE")\n'
    with tempfile.NamedTemporaryFile("w", suffix=".lldb") as f:
        f.write(text)
        f.flush()
        try:
            done = subprocess.run(
                ["lldb-16", "-b", "-o", f"command source -e false -c false {f.name}", str(binary)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,  # errors in order with the commands that made them
                text=True,
                cwd=REPO,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise DebuggerFailed(f"lldb did not end within {timeout} s:\n{e.stdout or ''}") from None
    out = done.stdout
    assert "Traceback" not in out, out
    assert "LLDB-DONE" in out, out
    return out


def repeat(times, *commands):
    """The same command lines ``times`` over (lldb's command files have no loops); after the
    program has ended, the rest fail harmlessly ("error: Process must be launched")."""
    return "\n".join(list(commands) * times)
