"""The error users see."""


class MapscopeError(Exception):
    """A problem to report to the user as one line, never as a traceback.

    Front-ends turn it into ``gdb.GdbError`` or an lldb command failure.
    """
