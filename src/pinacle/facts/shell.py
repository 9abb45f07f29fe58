"""How reads (:mod:`pinacle.readers`) reach pyinfra hosts: a fact that is a command's output lines."""

from __future__ import annotations

from pyinfra.api import FactBase


class ShellOutput(FactBase[list[str]]):
    """The standard output lines of ``command``; its reader parses them (``pinacle.executor.read``)."""

    def command(self, command: str) -> str:
        return command

    def process(self, output: list[str]) -> list[str]:
        return list(output)

    @staticmethod
    def default() -> list[str]:
        return []
