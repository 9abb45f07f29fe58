"""TLS at the edge with the local CA (host script pinacle-edge-tls), on a second edge instance:
certificates per pod that a client trusting only the CA accepts, HTTP redirected to HTTPS, Secure
cookies, keys root-only, unknown names refused at the handshake."""

from __future__ import annotations

import http.client
import os
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.edge.conftest import EdgePodInfo, SecondEdge, second_edge
from tests.ports import free_port

from pinacle.edge.settings import EDGE_TLS_SCRIPT, EdgeSettings

pytestmark = pytest.mark.integration
Pods = tuple[EdgePodInfo, EdgePodInfo]


@pytest.fixture(scope="module")
def tls_edge(edge_pods: Pods, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondEdge]:
    directory = tmp_path_factory.mktemp("edge-tls")
    env = {**os.environ, "PINACLE_EDGE_TLS_DIR": str(directory / "tls")}
    for pod in edge_pods:
        subprocess.run([EDGE_TLS_SCRIPT, "issue", pod.name()], env=env, check=True, capture_output=True)
    edge = EdgeSettings(http_port=free_port(), https_port=free_port(), tls=True)
    with second_edge(edge, edge_pods, directory) as instance:
        yield instance


def ca_context(edge: SecondEdge) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(Path(edge.layout.cert_dir).parent / "ca.crt"))


def https_get(edge: SecondEdge, host: str, path: str = "/", cookie: str = "") -> http.client.HTTPResponse:
    connection = http.client.HTTPSConnection(host, edge.edge.https_port, timeout=10, context=ca_context(edge))
    connection.sock = ca_context(edge).wrap_socket(
        socket.create_connection(("127.0.0.1", edge.edge.https_port), timeout=10), server_hostname=host
    )
    connection.request("GET", path, headers={"Host": host, **({"Cookie": cookie} if cookie else {})})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_a_client_trusting_the_local_ca_reaches_a_public_port(edge_pods: Pods, tls_edge: SecondEdge) -> None:
    a, _b = edge_pods
    assert https_get(tls_edge, a.name(3000)).status == 200


def test_the_wildcard_covers_every_name_of_the_pod(edge_pods: Pods, tls_edge: SecondEdge) -> None:
    _a, b = edge_pods
    for name in (b.name(), b.name(3000), b.name(7681)):
        assert https_get(tls_edge, name).status == 401  # private: the handshake passed, the login page came


def test_one_pods_certificate_does_not_cover_another(edge_pods: Pods, tls_edge: SecondEdge) -> None:
    a, b = edge_pods
    cert = Path(tls_edge.layout.cert_dir) / f"{a.name()}.crt"
    text = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"],
                          capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert f"DNS:{a.name()}, DNS:*.{a.name()}" in text
    assert b.slug not in text


def test_an_unknown_name_is_refused_at_the_handshake(tls_edge: SecondEdge) -> None:
    with pytest.raises(ssl.SSLError):
        https_get(tls_edge, "nothing.localhost")


def test_plain_http_redirects_to_https(edge_pods: Pods, tls_edge: SecondEdge) -> None:
    _a, b = edge_pods
    mark = uuid.uuid4().hex
    connection = http.client.HTTPConnection("127.0.0.1", tls_edge.edge.http_port, timeout=10)
    connection.request("GET", f"/{mark}", headers={"Host": b.name(3000)})
    response = connection.getresponse()
    assert response.status == 308
    assert response.headers["Location"] == f"https://{b.name(3000)}:{tls_edge.edge.https_port}/{mark}"
    assert mark not in b.router_log()


def test_the_login_cookie_is_secure_under_tls(edge_pods: Pods, tls_edge: SecondEdge) -> None:
    _a, b = edge_pods
    url = b.login_url("app")  # the host's edge is plain HTTP: only the token's path is used here
    path = url.split(b.name(3000), 1)[1]
    response = https_get(tls_edge, b.name(3000), path)
    assert response.status == 302
    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie
    assert https_get(tls_edge, b.name(3000), "/", cookie.split(";", 1)[0]).status == 200


def test_keys_are_root_only(tls_edge: SecondEdge) -> None:
    tls = Path(tls_edge.layout.cert_dir).parent
    keys = [tls / "ca.key", *Path(tls_edge.layout.cert_dir).glob("*.key")]
    assert len(keys) == 3
    assert {oct(key.stat().st_mode & 0o777) for key in keys} == {"0o600"}
    assert oct(tls.stat().st_mode & 0o777) == "0o700"
