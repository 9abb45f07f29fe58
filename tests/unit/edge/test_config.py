"""The edge's nginx files: the pod table and the main config, rendered, refused, and checked by nginx."""

from __future__ import annotations

import re

import pytest

from pinacle.edge.config import render_edge_conf, render_edge_table
from pinacle.edge.settings import EDGE_DIR, EdgeSettings
from pinacle.errors import SpecError
from pinacle.router import Route
from tests.unit.edge.conftest import MakeEdgePod, NginxCheck


def servers(table: str) -> dict[str, str]:
    """server_name -> its server block's text."""
    blocks = re.findall(r"server \{\n(.*?)\n\}", table, re.DOTALL)
    return {re.search(r"server_name (\S+);", block)[1]: block for block in blocks}  # type: ignore[index]


def test_every_host_name_of_a_pod_gets_a_server(edge_pod: MakeEdgePod) -> None:
    table = render_edge_table([edge_pod("a")], EdgeSettings())
    assert set(servers(table)) == {
        "pod-a.localhost",
        "localhost-7681.pod-a.localhost",
        "localhost-3000.pod-a.localhost",
    }


def test_servers_proxy_to_the_pods_router_on_loopback(edge_pod: MakeEdgePod) -> None:
    table = render_edge_table([edge_pod("a", host_port=30007)], EdgeSettings())
    assert "upstream pinacle-pod-a {\n    server 127.0.0.1:30007;" in table
    assert all("set $pinacle_upstream pinacle-pod-a;" in block for block in servers(table).values())


def test_names_are_private_unless_their_port_is_public(edge_pod: MakeEdgePod) -> None:
    blocks = servers(render_edge_table([edge_pod("a", public=frozenset({3000}))], EdgeSettings()))
    assert f"include {EDGE_DIR}/public.conf;" in blocks["localhost-3000.pod-a.localhost"]
    assert f"include {EDGE_DIR}/private.conf;" in blocks["localhost-7681.pod-a.localhost"]
    assert f"include {EDGE_DIR}/private.conf;" in blocks["pod-a.localhost"]


def test_the_main_name_is_public_when_the_main_port_is(edge_pod: MakeEdgePod) -> None:
    blocks = servers(render_edge_table([edge_pod("a", public=frozenset({7681}))], EdgeSettings()))
    assert f"include {EDGE_DIR}/public.conf;" in blocks["pod-a.localhost"]


def test_each_server_names_its_own_pod_for_the_credential_check(edge_pod: MakeEdgePod) -> None:
    blocks = servers(render_edge_table([edge_pod("a"), edge_pod("b", host_port=30002)], EdgeSettings()))
    assert "set $pinacle_pod b;" in blocks["localhost-7681.pod-b.localhost"]
    assert "set $pinacle_cookie_domain pod-b.localhost;" in blocks["localhost-7681.pod-b.localhost"]
    assert "set $pinacle_pod a;" in blocks["pod-a.localhost"]


def test_the_table_does_not_depend_on_the_order_pods_come_in(edge_pod: MakeEdgePod) -> None:
    pods = [edge_pod("b", host_port=30002), edge_pod("a")]
    assert render_edge_table(pods, EdgeSettings()) == render_edge_table(pods[::-1], EdgeSettings())


def test_no_pod_is_an_empty_table() -> None:
    assert "server" not in render_edge_table([], EdgeSettings())


def test_the_local_ca_gives_each_pod_its_certificate(edge_pod: MakeEdgePod) -> None:
    block = servers(render_edge_table([edge_pod("a")], EdgeSettings(tls=True)))["localhost-3000.pod-a.localhost"]
    assert "listen 443 ssl;" in block
    assert "ssl_certificate /etc/pinacle/edge/tls/pods/pod-a.localhost.crt;" in block


def test_an_operator_certificate_is_set_once_for_every_server(edge_pod: MakeEdgePod) -> None:
    edge = EdgeSettings(tls=True, tls_cert="/etc/ssl/pods.crt", tls_key="/etc/ssl/pods.key")
    assert "ssl_certificate" not in render_edge_table([edge_pod("a")], edge)
    assert "ssl_certificate /etc/ssl/pods.crt;" in render_edge_conf(edge, "apt")[f"{EDGE_DIR}/nginx.conf"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"slug": "a;b"},
        {"slug": "A"},
        {"slug": "a\n}"},
        {"domain": "localhost; return 200"},
        {"domain": "local$host"},
        {"routes": (Route("web-terminal", 7681), Route("app$x", 3000))},
        {"routes": (Route("web-terminal", 7681), Route('app"', 3000))},
    ],
    ids=lambda o: repr(o)[:40],
)
def test_a_value_outside_its_grammar_is_refused(edge_pod: MakeEdgePod, overrides: dict[str, object]) -> None:
    with pytest.raises(SpecError, match="refusing"):
        render_edge_table([edge_pod(**overrides)], EdgeSettings())


def test_the_main_config_runs_as_the_distributions_nginx_user() -> None:
    assert "user www-data;" in render_edge_conf(EdgeSettings(), "apt")[f"{EDGE_DIR}/nginx.conf"]
    assert "user nginx;" in render_edge_conf(EdgeSettings(), "apk")[f"{EDGE_DIR}/nginx.conf"]


def test_forward_auth_replaces_the_daemons_check() -> None:
    edge = EdgeSettings(forward_auth_url="http://127.0.0.1:4180/oauth2/auth")
    private = render_edge_conf(edge, "apt")[f"{EDGE_DIR}/private.conf"]
    assert "proxy_pass http://127.0.0.1:4180/oauth2/auth;" in private
    assert "pinacle_edge_auth" not in private
    assert "/__pinacle/login" not in private


def test_forward_auth_signin_redirects_a_401() -> None:
    edge = EdgeSettings(
        forward_auth_url="http://127.0.0.1:4180/oauth2/auth", forward_auth_signin="http://127.0.0.1:4180/oauth2/start"
    )
    private = render_edge_conf(edge, "apt")[f"{EDGE_DIR}/private.conf"]
    assert "return 302 http://127.0.0.1:4180/oauth2/start?rd=$scheme://$host$request_uri;" in private


def test_tls_redirects_plain_http_to_https() -> None:
    files = render_edge_conf(EdgeSettings(tls=True, https_port=8443), "apt")
    for snippet in ("private.conf", "public.conf"):
        assert "return 308 https://$host:8443$request_uri;" in files[f"{EDGE_DIR}/{snippet}"]
    assert "ssl_reject_handshake on;" in files[f"{EDGE_DIR}/nginx.conf"]


@pytest.mark.parametrize("tls", [False, True], ids=["http", "local-ca"])
def test_nginx_accepts_the_rendered_config(edge_pod: MakeEdgePod, nginx_check: NginxCheck, tls: bool) -> None:
    edge, layout = EdgeSettings(tls=tls), nginx_check.layout
    pods = [edge_pod("a", public=frozenset({3000})), edge_pod("b", host_port=30002)]
    nginx_check.self_signed("pod-a.localhost", "pod-b.localhost")
    nginx_check.accepts(
        {
            **render_edge_conf(edge, "apt", layout),
            f"{layout.config_dir}/pods.conf": render_edge_table(pods, edge, layout),
        }
    )
