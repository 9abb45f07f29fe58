"""What doctor says about the edge, from facts."""

from __future__ import annotations

import hashlib

from pinacle.edge.commands import EdgeTableState
from pinacle.edge.config import render_edge_table
from pinacle.edge.health import edge_health
from pinacle.edge.settings import EdgeSettings
from pinacle.edge.table import edge_pods
from tests.unit.edge.conftest import MakeHost


def table_of(host_pods: object, edge: EdgeSettings, running: bool = True) -> EdgeTableState:
    text = render_edge_table(edge_pods(host_pods), edge)  # type: ignore[arg-type]
    return EdgeTableState(hashlib.sha512(text.encode()).hexdigest(), frozenset(), frozenset(), running)


def test_an_edge_serving_the_hosts_pods_is_ok(host_with: MakeHost) -> None:
    pods = host_with(a={}, b={"running": False})
    status, message, _fix = edge_health(EdgeSettings(), table_of(pods, EdgeSettings()), True, pods)
    assert status == "ok"
    assert "1 running pod(s) on HTTP port 80" in message


def test_no_edge_is_a_warning(host_with: MakeHost) -> None:
    pods = host_with()
    assert edge_health(None, table_of(pods, EdgeSettings()), False, pods)[0] == "warn"


def test_a_stopped_edge_fails(host_with: MakeHost) -> None:
    pods = host_with(a={})
    assert edge_health(EdgeSettings(), table_of(pods, EdgeSettings(), running=False), True, pods)[0] == "fail"


def test_a_stopped_daemon_fails_unless_forward_auth_decides(host_with: MakeHost) -> None:
    pods = host_with(a={})
    assert edge_health(EdgeSettings(), table_of(pods, EdgeSettings()), False, pods)[0] == "fail"
    sso = EdgeSettings(forward_auth_url="http://127.0.0.1:4180/oauth2/auth")
    assert edge_health(sso, table_of(pods, sso), False, pods)[0] == "ok"


def test_a_table_behind_the_hosts_pods_is_a_warning(host_with: MakeHost) -> None:
    before = host_with(a={})
    after = host_with(a={}, b={})  # b appeared without the table following (docker run by hand)
    status, message, _fix = edge_health(EdgeSettings(), table_of(before, EdgeSettings()), True, after)
    assert status == "warn"
    assert "pod table" in message
