"""Which pods the edge serves, from the host's state."""

from __future__ import annotations

from pinacle.edge.table import edge_pods
from tests.unit.edge.conftest import MakeHost


def test_running_pods_are_served_on_their_host_port(host_with: MakeHost) -> None:
    pods = edge_pods(host_with(a={}, b={}))
    assert [(p.slug, p.host_port) for p in pods] == [("a", 30001), ("b", 30002)]
    assert [r.port for r in pods[0].routes] == [7681, 3000]


def test_a_stopped_pod_is_left_out(host_with: MakeHost) -> None:
    assert [p.slug for p in edge_pods(host_with(a={"running": False}, b={}))] == ["b"]


def test_a_pod_without_its_host_record_is_left_out(host_with: MakeHost) -> None:
    assert [p.slug for p in edge_pods(host_with(a={"record": False}, b={}))] == ["b"]


def test_a_pod_not_under_gvisor_is_left_out(host_with: MakeHost) -> None:
    assert [p.slug for p in edge_pods(host_with(a={"runtime": "runc"}, b={}))] == ["b"]


def test_public_ports_come_from_the_pods_record(host_with: MakeHost) -> None:
    pods = {p.slug: p for p in edge_pods(host_with(a={"public_app": True}, b={}))}
    assert pods["a"].public_ports == frozenset({3000})
    assert pods["b"].public_ports == frozenset()
