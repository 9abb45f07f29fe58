"""Forward auth (host data edge_forward_auth_url): an operator's own service decides, here a small
real one the test starts (stdlib http.server: 204 for the SSO cookie ``sso=alice``, else 401)."""

from __future__ import annotations

import http.client
import http.server
import threading
import uuid
from collections.abc import Iterator

import pytest
from tests.integration.edge.conftest import EdgePodInfo, SecondEdge, second_edge
from tests.ports import free_port

from pinacle.edge.settings import EdgeSettings

pytestmark = pytest.mark.integration
Pods = tuple[EdgePodInfo, EdgePodInfo]


class SsoService(http.server.ThreadingHTTPServer):
    """Answers oauth2-proxy's /oauth2/auth shape; remembers what each check was told."""

    def __init__(self, port: int) -> None:
        self.checks: list[dict[str, str]] = []
        super().__init__(("127.0.0.1", port), SsoHandler)


class SsoHandler(http.server.BaseHTTPRequestHandler):
    server: SsoService

    def do_GET(self) -> None:
        self.server.checks.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        allowed = self.path == "/oauth2/auth" and "sso=alice" in (self.headers.get("Cookie") or "")
        self.send_response(204 if allowed else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def sso() -> Iterator[SsoService]:
    service = SsoService(free_port())
    thread = threading.Thread(target=service.serve_forever, daemon=True)
    thread.start()
    yield service
    service.shutdown()


@pytest.fixture(scope="module")
def sso_edge(edge_pods: Pods, sso: SsoService, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondEdge]:
    port = sso.server_address[1]
    edge = EdgeSettings(
        http_port=free_port(),
        forward_auth_url=f"http://127.0.0.1:{port}/oauth2/auth",
        forward_auth_signin=f"http://127.0.0.1:{port}/oauth2/start",
    )
    with second_edge(edge, edge_pods, tmp_path_factory.mktemp("edge-sso")) as instance:
        yield instance


def get(edge: SecondEdge, host: str, path: str, cookie: str = "") -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", edge.edge.http_port, timeout=10)
    connection.request("GET", path, headers={"Host": host, **({"Cookie": cookie} if cookie else {})})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_the_operators_service_lets_its_user_in(edge_pods: Pods, sso_edge: SecondEdge) -> None:
    _a, b = edge_pods
    mark = uuid.uuid4().hex
    assert get(sso_edge, b.name(3000), f"/{mark}", "sso=alice").status == 404  # the app answered
    assert mark in b.router_log()


def test_a_401_from_the_operators_service_redirects_to_its_signin(
    edge_pods: Pods, sso_edge: SecondEdge, sso: SsoService
) -> None:
    _a, b = edge_pods
    mark = uuid.uuid4().hex
    response = get(sso_edge, b.name(3000), f"/{mark}", "sso=mallory")
    assert response.status == 302
    port = sso.server_address[1]
    assert response.headers["Location"] == f"http://127.0.0.1:{port}/oauth2/start?rd=http://{b.name(3000)}/{mark}"
    assert mark not in b.router_log()


def test_the_check_is_told_the_host_and_uri_without_the_body(
    edge_pods: Pods, sso_edge: SecondEdge, sso: SsoService
) -> None:
    _a, b = edge_pods
    mark = uuid.uuid4().hex
    get(sso_edge, b.name(3000), f"/{mark}?q=1", "sso=alice")
    check = next(c for c in reversed(sso.checks) if mark in c.get("x-original-uri", ""))
    assert check["path"] == "/oauth2/auth"
    assert check["x-forwarded-host"] == b.name(3000)
    assert check["x-original-uri"] == f"/{mark}?q=1"
    assert check["x-pinacle-pod"] == b.slug
    assert "content-length" not in check or check["content-length"] == "0"


def test_public_ports_skip_the_operators_check(edge_pods: Pods, sso_edge: SecondEdge, sso: SsoService) -> None:
    a, _b = edge_pods
    before = len(sso.checks)
    assert get(sso_edge, a.name(3000), "/").status == 200
    assert len(sso.checks) == before


def test_the_builtin_login_is_not_served_under_forward_auth(edge_pods: Pods, sso_edge: SecondEdge) -> None:
    _a, b = edge_pods
    assert get(sso_edge, b.name(3000), "/__pinacle/login?t=x").status == 302  # to the signin, like any path
