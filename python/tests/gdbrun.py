"""Running gdb in batch mode on a fixture, for the front-end tests."""

import shutil
import subprocess
import tempfile

from conftest import REPO, TARGET, DebuggerFailed, missing


def fixture(name):
    path = TARGET / name
    if not path.exists():
        missing(f"{path} not built (cargo build -p fixtures)")
    return path


def gdb(binary, script, timeout=120, before_program=()):
    """Runs ``script`` (gdb commands, python blocks allowed) on ``binary`` and returns stdout;
    ``before_program`` are commands run before gdb reads the program (``-iex``).

    The script is followed by an explicit ``quit 0``: gdb exits 0 even when a sourced script
    raises, so the tests judge the output, and a missing final marker means gdb stopped early.
    """
    if not shutil.which("gdb"):
        missing("gdb is not installed")
    text = (
        "set pagination off\nset confirm off\nsource gdb-scripts/mapscope.py\n"
        + script
        + "\necho \\nGDB-DONE\\n\nquit 0\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".gdb") as f:
        f.write(text)
        f.flush()
        try:
            done = subprocess.run(
                ["gdb", "-nx", "-batch", *(a for c in before_program for a in ("-iex", c)), "-x", f.name, str(binary)],
                capture_output=True,
                text=True,
                cwd=REPO,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as e:
            raise DebuggerFailed(f"gdb did not end within {timeout} s:\n{e.stdout or ''}") from None
    out = done.stdout + done.stderr
    assert "Traceback" not in out, out
    if "GDB-DONE" not in done.stdout and "internal-error:" in out:
        raise DebuggerFailed(out)
    assert "GDB-DONE" in done.stdout, out
    return out
