"""The fleet table: which pods a host's edge forwards, to which edge, and the config nginx gets."""

from __future__ import annotations

import subprocess

import pytest

from pinacle.edge.commands import RELOAD_EDGE, sha512
from pinacle.edge.config import render_edge_conf, render_edge_table
from pinacle.edge.fleet import (
    FleetEdge,
    FleetTableState,
    RemotePod,
    fleet_table_commands,
    fleet_trust,
    remote_pods,
    render_fleet_table,
)
from pinacle.edge.settings import EDGE_FLEET_CONF, EDGE_FLEET_TRUST, SYSTEM_CA_BUNDLE, EdgeSettings
from pinacle.errors import SpecError
from pinacle.readers.edge import FLEET_TABLE_COMMAND, parse_fleet_table
from tests.unit.edge.conftest import MakeEdgePod, NginxCheck

HTTP = EdgeSettings()
EMPTY = FleetTableState(None, None, frozenset(), True)


def edges(**addresses: str) -> dict[str, FleetEdge]:
    return {name: FleetEdge(name, address, HTTP) for name, address in addresses.items()}


def test_a_host_forwards_the_pods_its_peers_serve(edge_pod: MakeEdgePod) -> None:
    fleet = edges(h1="10.0.0.1", h2="10.0.0.2", h3="10.0.0.3")
    served = {"h1": [edge_pod("a")], "h2": [edge_pod("b")], "h3": [edge_pod("c")]}
    forwarded = remote_pods("h1", fleet, served)
    assert [(r.pod.slug, r.holder.host) for r in forwarded] == [("b", "h2"), ("c", "h3")]


def test_a_pod_the_host_serves_itself_is_never_forwarded(edge_pod: MakeEdgePod) -> None:
    fleet = edges(h1="10.0.0.1", h2="10.0.0.2")
    assert remote_pods("h1", fleet, {"h1": [edge_pod("a")], "h2": [edge_pod("a")]}) == []


def test_a_slug_two_peers_serve_goes_to_the_first_host_by_name(edge_pod: MakeEdgePod) -> None:
    fleet = edges(h1="10.0.0.1", h2="10.0.0.2", h3="10.0.0.3")
    forwarded = remote_pods("h1", fleet, {"h3": [edge_pod("a")], "h2": [edge_pod("a")]})
    assert [r.holder.host for r in forwarded] == ["h2"]


def test_pods_of_a_host_without_an_edge_are_not_forwarded(edge_pod: MakeEdgePod) -> None:
    assert remote_pods("h1", edges(h1="10.0.0.1"), {"h2": [edge_pod("b")]}) == []


def test_pods_of_an_edge_whose_local_ca_could_not_be_read_are_not_forwarded(edge_pod: MakeEdgePod) -> None:
    fleet = {"h1": FleetEdge("h1", "a", HTTP), "h2": FleetEdge("h2", "b", EdgeSettings(tls=True), None)}
    assert remote_pods("h1", fleet, {"h2": [edge_pod("b")]}) == []


def test_every_name_of_a_remote_pod_goes_to_its_holders_edge(edge_pod: MakeEdgePod) -> None:
    fleet = edges(h1="10.0.0.1", h2="10.0.0.2")
    table = render_fleet_table(remote_pods("h1", fleet, {"h2": [edge_pod("b")]}), HTTP)
    upstream = fleet["h2"].upstream
    assert f"upstream {upstream} {{\n    server 10.0.0.2:80;" in table
    for name in ("pod-b.localhost", "localhost-7681.pod-b.localhost", "localhost-3000.pod-b.localhost"):
        assert f"server_name {name};" in table
    assert table.count(f"proxy_pass http://{upstream};") == 3


def test_the_hop_keeps_host_and_websocket_upgrades_and_marks_itself(edge_pod: MakeEdgePod) -> None:
    table = render_fleet_table(remote_pods("h1", edges(h1="a", h2="b"), {"h2": [edge_pod("b")]}), HTTP)
    for header in (
        "Host $host",
        "Upgrade $http_upgrade",
        "Connection $pinacle_connection",
        "X-Pinacle-Fleet-Hop 1",
    ):
        assert f"proxy_set_header {header};" in table
    assert "if ($http_x_pinacle_fleet_hop) {\n            return 508" in table


def test_the_forwarding_hop_asks_for_no_credential(edge_pod: MakeEdgePod) -> None:
    table = render_fleet_table(remote_pods("h1", edges(h1="a", h2="b"), {"h2": [edge_pod("b")]}), HTTP)
    assert "auth_request" not in table and "private.conf" not in table


def test_a_hop_to_an_edge_with_a_local_ca_verifies_it_against_the_fleets_cas(edge_pod: MakeEdgePod) -> None:
    holder = FleetEdge("h2", "10.0.0.2", EdgeSettings(tls=True, https_port=8443), "PEM\n")
    table = render_fleet_table(
        remote_pods("h1", {"h1": edges(h1="x")["h1"], "h2": holder}, {"h2": [edge_pod("b")]}), HTTP
    )
    assert "server 10.0.0.2:8443;" in table
    assert f"proxy_pass https://{holder.upstream};" in table
    assert "proxy_ssl_verify on;" in table and "proxy_ssl_name $host;" in table
    assert f"proxy_ssl_trusted_certificate {EDGE_FLEET_TRUST};" in table


def test_a_hop_to_an_operators_certificate_verifies_it_against_the_systems_cas(edge_pod: MakeEdgePod) -> None:
    operator = EdgeSettings(tls=True, tls_cert="/etc/ssl/pods.crt", tls_key="/etc/ssl/pods.key")
    holder = FleetEdge("h2", "10.0.0.2", operator)
    table = render_fleet_table(
        remote_pods("h1", {"h1": edges(h1="x")["h1"], "h2": holder}, {"h2": [edge_pod("b")]}), HTTP
    )
    assert f"proxy_ssl_trusted_certificate {SYSTEM_CA_BUNDLE};" in table


def test_a_tls_edge_serves_remote_names_with_its_own_ca_and_redirects_http(edge_pod: MakeEdgePod) -> None:
    local_ca = EdgeSettings(tls=True)
    table = render_fleet_table(remote_pods("h1", edges(h1="a", h2="b"), {"h2": [edge_pod("b")]}), local_ca)
    assert "listen 443 ssl;" in table
    assert "ssl_certificate /etc/pinacle/edge/tls/pods/pod-b.localhost.crt;" in table
    assert "return 308 https://$host$request_uri;" in table


def test_an_address_outside_the_grammar_is_refused(edge_pod: MakeEdgePod) -> None:
    with pytest.raises(SpecError, match="not a host name"):
        render_fleet_table(remote_pods("h1", edges(h1="a", h2="b; evil"), {"h2": [edge_pod("b")]}), HTTP)


def test_the_trust_file_holds_the_local_cas_of_the_holders_by_host_name(edge_pod: MakeEdgePod) -> None:
    two, one = (
        FleetEdge("h2", "b", EdgeSettings(tls=True), "TWO\n"),
        FleetEdge("h1", "a", EdgeSettings(tls=True), "ONE\n"),
    )
    remote = [RemotePod(edge_pod("x"), two), RemotePod(edge_pod("y"), one), RemotePod(edge_pod("z"), two)]
    remote.append(RemotePod(edge_pod("w"), FleetEdge("h3", "c", HTTP)))
    assert fleet_trust(remote) == "ONE\nTWO\n"


def test_nothing_is_done_when_the_table_and_trust_are_as_they_should_be() -> None:
    current = FleetTableState(sha512("T"), sha512("CA"), frozenset({"pod-b.localhost"}), True)
    assert fleet_table_commands("T", "CA", current, ["pod-b.localhost"]) == []


def test_a_changed_table_is_written_checked_and_reloaded() -> None:
    commands = fleet_table_commands("T", "", EMPTY)
    assert len(commands) == 2
    assert EDGE_FLEET_CONF in commands[0] and "nginx refused the new fleet table" in commands[0]
    assert commands[1] == RELOAD_EDGE


def test_an_edge_that_is_not_running_is_not_reloaded() -> None:
    stopped = FleetTableState(None, None, frozenset(), False)
    assert RELOAD_EDGE not in fleet_table_commands("T", "", stopped)


def test_certificates_and_trust_come_before_the_table_that_names_them() -> None:
    commands = fleet_table_commands("T", "CA", EMPTY, ["pod-b.localhost"])
    assert "issue pod-b.localhost" in commands[0]
    assert EDGE_FLEET_TRUST in commands[1]
    assert EDGE_FLEET_CONF in commands[2]


def test_the_fleet_read_parses_digests_certificates_and_the_ca() -> None:
    state = parse_fleet_table(["table abc -", "trust absent", "cert pod-b.localhost", "ca UEVNCg==", "running yes"])
    assert state == FleetTableState("abc", None, frozenset({"pod-b.localhost"}), True, "PEM\n")


def test_a_ca_line_that_is_not_base64_is_no_certificate() -> None:
    assert parse_fleet_table(["table absent", "ca not*base64", "running no"]).ca_certificate is None


def test_the_fleet_read_is_valid_shell() -> None:
    assert subprocess.run(["sh", "-n", "-c", FLEET_TABLE_COMMAND], check=False).returncode == 0


@pytest.mark.parametrize("tls", [False, True], ids=["http", "local-ca"])
def test_nginx_accepts_a_config_with_a_fleet_table(edge_pod: MakeEdgePod, nginx_check: NginxCheck, tls: bool) -> None:
    edge, layout = EdgeSettings(tls=tls), nginx_check.layout
    holder = FleetEdge("h2", "127.0.0.2", EdgeSettings(tls=tls), "its CA (the trust file below is what nginx reads)")
    fleet = {"h1": FleetEdge("h1", "127.0.0.1", edge), "h2": holder}
    remote = remote_pods("h1", fleet, {"h1": [edge_pod("a")], "h2": [edge_pod("b", host_port=30002)]})
    assert [r.pod.slug for r in remote] == ["b"]
    nginx_check.self_signed("pod-a.localhost", "pod-b.localhost")
    trust = nginx_check.root / "fleet-ca.pem"
    trust.write_text((nginx_check.certs / "pod-b.localhost.crt").read_text())
    report = nginx_check.accepts(
        {
            **render_edge_conf(edge, "apt", layout),
            f"{layout.config_dir}/pods.conf": render_edge_table([edge_pod("a")], edge, layout),
            f"{layout.config_dir}/fleet.conf": render_fleet_table(remote, edge, layout).replace(
                EDGE_FLEET_TRUST, str(trust)
            ),
        }
    )
    assert "conflicting server name" not in report


def test_the_main_config_includes_the_fleet_table_only_if_there_is_one() -> None:
    conf = render_edge_conf(HTTP, "apt")["/etc/pinacle/edge/nginx.conf"]
    assert "include /etc/pinacle/edge/fleet.con[f];" in conf
