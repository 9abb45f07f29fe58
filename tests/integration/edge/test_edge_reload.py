"""A pod-table reload keeps open WebSockets: a terminal typed into before and after one."""

from __future__ import annotations

import uuid

import pytest
from tests.integration.edge.conftest import EdgePodInfo, Terminal, edge_get, edge_workers, pinacle

pytestmark = pytest.mark.integration


def test_an_open_terminal_survives_a_pod_table_reload(edge_pods: tuple[EdgePodInfo, EdgePodInfo]) -> None:
    a, b = edge_pods
    mark = uuid.uuid4().hex[:12]
    try:
        with Terminal(a.name(7681), a.cookie("web-terminal")) as terminal:
            terminal.run(f"echo before-$((6*7))-{mark}", f"before-42-{mark}")
            before = edge_workers()
            pinacle("stop", b.slug)  # b leaves the table: the edge reloads
            assert edge_get(b.name(3000)).status == 421
            after = edge_workers()
            assert set(after) - set(before), f"no new workers: the edge was not reloaded ({after})"
            # The terminal's connection is held by an old worker that finishes it before exiting.
            assert any("shutting down" in title for pid, title in after.items() if pid in before), after
            terminal.run(f"echo after-$((6*7))-{mark}", f"after-42-{mark}")
    finally:
        pinacle("start", b.slug)
