"""The edge's facts: their parsers, and their commands run by a real shell against a fake root."""

from __future__ import annotations

from pinacle.edge.commands import EdgeTableState
from pinacle.edge.settings import EdgeSettings
from pinacle.facts.edge import EdgeState, EdgeTable


def test_the_table_fact_reads_sha_certificates_secrets_and_process() -> None:
    output = ["table abc -", "cert pod-a.localhost", "secret a", "secret b", "running yes"]
    assert EdgeTable().process(output) == EdgeTableState(
        "abc", frozenset({"pod-a.localhost"}), frozenset({"a", "b"}), True
    )


def test_an_absent_table_and_stopped_edge() -> None:
    assert EdgeTable().process(["table absent", "running no"]) == EdgeTableState(None, frozenset(), frozenset(), False)


def test_the_recorded_settings_are_read_back() -> None:
    edge = EdgeSettings(http_port=8080)
    assert EdgeState().process(edge.to_json().splitlines()) == edge


def test_no_recorded_settings_is_no_edge() -> None:
    assert EdgeState().process(["absent"]) is None
