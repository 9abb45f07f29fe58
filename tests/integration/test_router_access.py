"""The pod's router against the browser's threats: DNS rebinding and cross-site WebSockets.

A real pod (real Nginx, real ttyd under gVisor). The router answers only the pod's own host
names, and refuses any request whose Origin is not one of them, so a page on another site the
developer happens to visit can neither reach the pod under its own name nor drive its terminal.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
import websockets
from tests.integration.conftest import deploy_json, remove_pod_resources, ttyd_echo

pytestmark = pytest.mark.integration


def request(port: int, host: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request(method, "/", headers={"Host": host, **(headers or {})})
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace")


@pytest.fixture(scope="module")
def terminal_pod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One pod with a web terminal; module-scoped because each test only sends requests to it."""
    slug = "rt-access"
    path = tmp_path_factory.mktemp("pods") / "pod.yaml"
    path.write_text(f"name: router access\nslug: {slug}\nservices: [web-terminal]\n")
    try:
        pod = deploy_json(path)["pods"][0]
        yield slug, int(pod["host_port"])
    finally:
        remove_pod_resources(slug)


def terminal_host(slug: str) -> str:
    return f"localhost-7681.pod-{slug}.localhost"


@pytest.mark.parametrize(
    "host",
    ["evil.example", "127.0.0.1", "localhost", "localhost-7681.pod-other.localhost", "pod-rt-access.evil.example"],
)
def test_a_host_name_that_is_not_the_pods_gets_421_and_no_service(terminal_pod: tuple[str, int], host: str) -> None:
    _slug, port = terminal_pod
    status, body = request(port, host)
    assert status == 421
    assert "answers only the host names of pod rt-access" in body


def test_the_pods_own_name_reaches_the_terminal(terminal_pod: tuple[str, int]) -> None:
    slug, port = terminal_pod
    status, body = request(port, terminal_host(slug))
    assert status == 200
    assert "ttyd" in body


def test_the_bare_pod_name_reaches_the_main_port(terminal_pod: tuple[str, int]) -> None:
    slug, port = terminal_pod
    status, body = request(port, f"pod-{slug}.localhost")
    assert (status, "ttyd" in body) == (200, True)


def test_a_post_from_another_site_is_refused(terminal_pod: tuple[str, int]) -> None:
    slug, port = terminal_pod
    status, body = request(port, terminal_host(slug), "POST", {"Origin": "http://evil.example"})
    assert status == 403
    assert "cross-origin request refused" in body


def test_a_websocket_from_another_site_is_refused(terminal_pod: tuple[str, int]) -> None:
    slug, port = terminal_pod
    with pytest.raises(websockets.InvalidStatus) as refused:
        ttyd_echo(port, terminal_host(slug), "echo hi", "hi", origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_a_websocket_from_another_pod_is_refused(terminal_pod: tuple[str, int]) -> None:
    slug, port = terminal_pod
    other = f"http://localhost-7681.pod-other.localhost:{port}"
    with pytest.raises(websockets.InvalidStatus) as refused:
        ttyd_echo(port, terminal_host(slug), "echo hi", "hi", origin=other)
    assert refused.value.response.status_code == 403


def test_a_websocket_without_an_origin_is_refused(terminal_pod: tuple[str, int]) -> None:
    slug, port = terminal_pod
    status, _body = request(
        port,
        terminal_host(slug),
        headers={
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "tty",
        },
    )
    assert status == 403


def test_a_websocket_from_the_pods_own_page_runs_the_terminal(terminal_pod: tuple[str, int]) -> None:
    slug, port = terminal_pod
    seen = ttyd_echo(port, terminal_host(slug), "echo own-$((6*7))", "own-42")
    assert "own-42" in seen


def test_a_page_on_another_of_the_pods_names_may_open_the_terminal(terminal_pod: tuple[str, int]) -> None:
    # A developer's app on an app port of the same pod may talk to the pod's other ports.
    slug, port = terminal_pod
    seen = ttyd_echo(port, terminal_host(slug), "echo sibling-ok", "sibling-ok", origin=f"http://pod-{slug}.localhost")
    assert "sibling-ok" in seen
