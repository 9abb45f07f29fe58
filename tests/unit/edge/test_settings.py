"""EdgeSettings: URLs with and without ports, what host data may say, the recorded state."""

from __future__ import annotations

import pytest

from pinacle.edge.settings import EdgeSettings
from pinacle.errors import HostError
from pinacle.hostspec import host_settings


def test_urls_on_80_carry_no_port() -> None:
    assert EdgeSettings().url("pod-a.localhost") == "http://pod-a.localhost/"


def test_urls_on_another_http_port_carry_it() -> None:
    assert EdgeSettings(http_port=8080).url("pod-a.localhost") == "http://pod-a.localhost:8080/"


def test_urls_under_tls_are_https_without_port_on_443() -> None:
    assert EdgeSettings(tls=True, http_port=8080).url("pod-a.localhost") == "https://pod-a.localhost/"


def test_urls_under_tls_on_another_port_carry_it() -> None:
    assert EdgeSettings(tls=True, https_port=8443).url("pod-a.localhost") == "https://pod-a.localhost:8443/"


def test_tls_without_operator_certificate_is_the_local_ca() -> None:
    assert EdgeSettings(tls=True).local_ca
    assert not EdgeSettings(tls=True, tls_cert="/etc/ssl/a.crt", tls_key="/etc/ssl/a.key").local_ca


def test_the_edge_is_on_by_default_in_host_data() -> None:
    assert host_settings({}).edge == EdgeSettings(enabled=True, http_port=80, https_port=443, tls=False)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"edge_tls": True, "edge_tls_cert": "/etc/ssl/a.crt"}, "edge_tls_key go together"),
        ({"edge_tls_cert": "/a.crt", "edge_tls_key": "/a.key"}, "edge_tls is off"),
        ({"edge_forward_auth_signin": "http://127.0.0.1:4180/oauth2/start"}, "needs edge_forward_auth_url"),
        ({"edge_forward_auth_url": "http://127.0.0.1:4180/x;return 200"}, "edge_forward_auth_url"),
        ({"edge_forward_auth_url": "http://127.0.0.1/ok\n"}, "edge_forward_auth_url"),
        ({"edge_tls": True, "edge_tls_cert": "/a b.crt", "edge_tls_key": "/a.key"}, "edge_tls_cert"),
        ({"edge_http_port": 0}, "edge_http_port"),
        ({"edge_https_port": 70000}, "edge_https_port"),
    ],
)
def test_bad_edge_host_data_is_refused_naming_the_key(data: dict[str, object], named: str) -> None:
    with pytest.raises(HostError, match=named):
        host_settings(data)


def test_recorded_settings_round_trip() -> None:
    edge = EdgeSettings(tls=True, https_port=8443, forward_auth_url="http://127.0.0.1:4180/oauth2/auth")
    assert EdgeSettings.from_json(edge.to_json()) == edge


def test_a_record_that_is_not_ours_reads_as_no_edge() -> None:
    assert EdgeSettings.from_json('{"enabled": true, "surprise": 1}') is None


def test_publishing_beside_the_edge_is_refused() -> None:
    assert "past the host's edge" in EdgeSettings().publish_problem("0.0.0.0")
    assert EdgeSettings().publish_problem("127.0.0.1") == ""
    assert EdgeSettings(enabled=False).publish_problem("0.0.0.0") == ""
