"""Asking the DWARF inspector which variables are in scope at a pc, and where they are.

lldb has no Go support: it finds no Go locals or arguments at all. The core then asks
``mapscope variables BIN --stdin`` (one process per binary, kept running; about half a
millisecond per question after it has loaded the binary) for the variables at a frame's pc and
their places, and reads them with the frame's registers (:mod:`places`). Answers are cached by
address.
"""

import json
import os
import subprocess

from . import places, profile_cache
from .errors import MapscopeError


class NotInScope(MapscopeError):
    """No variable of that name in scope at the pc (or no answer for the pc at all)."""


class Inspector:
    """``mapscope variables --stdin`` for one binary."""

    def __init__(self, binary):
        self.binary = binary
        self.process = None
        self.answers = {}

    def variables(self, link_pc):
        """The answer for a link-time pc: ``{function, cfa, frames: [{function, inlined,
        variables: [{name, kind, type, size, location}]}]}`` (innermost frame first)."""
        if link_pc not in self.answers:
            self.answers[link_pc] = self._ask(link_pc)
        return self.answers[link_pc]

    def _ask(self, link_pc):
        if self.process is None or self.process.poll() is not None:
            tool = profile_cache.find_mapscope()
            if not os.path.isfile(self.binary):
                raise NotInScope(f"no program file {self.binary} to read variables from")
            try:
                self.process = subprocess.Popen(
                    [tool, "variables", str(self.binary), "--stdin"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    text=True,
                )
            except OSError as e:
                raise MapscopeError(f"cannot run {tool}: {e.strerror}") from None
        try:
            self.process.stdin.write(f"{link_pc:#x}\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (OSError, ValueError):
            line = ""
        if not line:
            self.close()
            raise NotInScope(f"mapscope variables ended while answering {link_pc:#x}")
        try:
            answer = json.loads(line)
        except json.JSONDecodeError:
            raise MapscopeError("mapscope variables answered something that is not JSON") from None
        if not isinstance(answer, dict):
            raise MapscopeError("mapscope variables answered something that is not an object")
        if "error" in answer:
            raise NotInScope(f"mapscope variables: {answer['error']}")
        return answer

    def find(self, link_pc, name):
        """``(variable, cfa rule)`` of the innermost variable called ``name`` in scope at the pc,
        or None. A variable's ``location`` is a checked place, or None when optimised out."""
        answer = self.variables(link_pc)
        cfa = places.check_cfa(answer.get("cfa")) if answer.get("cfa") else None
        for frame in answer.get("frames") or []:
            for variable in frame.get("variables") or []:
                if isinstance(variable, dict) and variable.get("name") == name:
                    return variable, cfa
        return None

    def close(self):
        if self.process is not None:
            try:
                self.process.kill()
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
            self.process = None
