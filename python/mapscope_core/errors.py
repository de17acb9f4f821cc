"""The error users see, and the boundary that turns every failure into it."""

import os
import sys


class MapscopeError(Exception):
    """A problem to report to the user as one line, never as a traceback.

    Front-ends turn it into ``gdb.GdbError`` or a failed lldb command result. ``output`` is text
    the command produced before it failed (a replay's account), which front-ends print first.
    """

    def __init__(self, message, output=None):
        super().__init__(message)
        self.output = output

    def __str__(self):
        return one_line_text(super().__str__())


class BadInput(MapscopeError):
    """The user's input (a scenario, its program) is wrong: batch replays exit with 2."""


def one_line_text(text):
    """``text`` as one line: line breaks become " | ", other control characters are escaped
    (a user's argument echoed into a message must not move the cursor or ring the terminal)."""
    lines = [line.rstrip() for line in text.strip().splitlines() if line.strip()]
    joined = " | ".join(lines)
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in joined)


def one_line(exc):
    """The one-line message of any exception."""
    if isinstance(exc, MapscopeError):
        return str(exc)
    return one_line_text(f"internal error: {type(exc).__name__}: {exc} (MAPSCOPE_DEBUG=1 shows the traceback)")


def guarded(function, *args, **kwargs):
    """Calls ``function``; any exception but MapscopeError comes out as one (with the traceback
    on stderr when ``MAPSCOPE_DEBUG`` is set), so no front-end ever shows a Python traceback."""
    try:
        return function(*args, **kwargs)
    except MapscopeError:
        raise
    except Exception as e:  # noqa: BLE001 - this is the boundary
        if os.environ.get("MAPSCOPE_DEBUG"):
            import traceback

            traceback.print_exc(file=sys.stderr)
        raise MapscopeError(one_line(e)) from None
