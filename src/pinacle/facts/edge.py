"""Facts about a host's edge: pyinfra's view of the reads in :mod:`pinacle.readers.edge`."""

from __future__ import annotations

from pyinfra.api import FactBase

from pinacle.edge.commands import EdgeTableState
from pinacle.edge.settings import EdgeSettings
from pinacle.readers import edge as readers


class EdgeState(FactBase[EdgeSettings | None]):
    """The edge settings the host deploy wrote, or None: no edge on this host."""

    def command(self) -> str:
        return readers.EDGE_STATE_COMMAND

    def process(self, output: list[str]) -> EdgeSettings | None:
        return readers.parse_edge_state(output)


class EdgeRunning(FactBase[bool]):
    """Whether the edge's nginx master (its pid file's process) is alive."""

    def command(self) -> str:
        return readers.edge_running().command

    def process(self, output: list[str]) -> bool:
        return readers.parse_running(output)


class EdgeAuthRunning(FactBase[bool]):
    """Whether the credential daemon the host deploy started is alive."""

    def command(self) -> str:
        return readers.edge_auth_running().command

    def process(self, output: list[str]) -> bool:
        return readers.parse_running(output)


class EdgeTable(FactBase[EdgeTableState]):
    """What :func:`pinacle.operations.edge.edge_table` compares against, in one command."""

    def command(self) -> str:
        return readers.EDGE_TABLE_COMMAND

    def process(self, output: list[str]) -> EdgeTableState:
        return readers.parse_edge_table(output)
