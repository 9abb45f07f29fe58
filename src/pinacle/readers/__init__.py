"""Reads of a host, without pyinfra: each is one shell command and a pure parser of its output.

A :class:`Read` is what a pyinfra fact is (``pinacle.facts`` wraps these in ``FactBase`` classes),
as plain data: :mod:`pinacle.executor` runs its command on ``@local`` with a subprocess, and through
pyinfra's connectors on every other target, and hands the output lines to the same parser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Read(Generic[T]):
    """One read of a host: a shell command, the parser of its standard output, and what no output means."""

    command: str
    parse: Callable[[list[str]], T]
    default: Callable[[], T]

    def result(self, lines: list[str]) -> T:
        """The parsed output; as with pyinfra's facts, a command that printed nothing is the default."""
        return self.parse(lines) if lines else self.default()


def split_output(stdout: bytes) -> list[str]:
    """A command's standard output as pyinfra's connectors split it: one string per line, no newlines."""
    text = stdout.decode("utf-8", errors="replace")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines
