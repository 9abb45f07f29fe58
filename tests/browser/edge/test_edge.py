"""The edge in a real browser (Debian's Chromium): login page, `pinacle open`, the web terminal over
the edge's WebSocket, per-pod cookies, public ports, rotation, and HTTPS with the local CA.

Two base-image pods (A: its app port public; B: private) come from the edge integration tests'
``edge_pods`` fixture; the browser opens their edge URLs on port 80 (Chromium resolves
``*.localhost`` to loopback by itself). HTTPS runs on a second edge instance with TLS.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Error, Page, Playwright

from pinacle.edge.settings import EDGE_TLS_SCRIPT, EdgeSettings
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, TtydTerminal, save_screenshot
from tests.integration.edge.conftest import EdgePodInfo, SecondEdge, pinacle, second_edge
from tests.ports import free_port

pytestmark = pytest.mark.browser
Pods = tuple[EdgePodInfo, EdgePodInfo]


def url(pod: EdgePodInfo, port: int | None = None, path: str = "/") -> str:
    return f"http://{pod.name(port)}{path}"


def test_a_pod_url_without_cookie_shows_the_login_page(edge_pods: Pods, page: Page) -> None:
    _a, b = edge_pods
    response = page.goto(url(b, 7681))
    assert response is not None and response.status == 401
    assert page.locator("h1").inner_text() == "This pod is private"
    assert f"pinacle open {b.slug} web-terminal" in page.locator("pre").inner_text()
    save_screenshot(page, "edge-login-page")


def test_the_open_link_reaches_the_terminal_and_a_command_runs_over_its_websocket(
    edge_pods: Pods, page: Page, context: BrowserContext
) -> None:
    _a, b = edge_pods
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    terminal = TtydTerminal(page)
    terminal.open(b.login_url("web-terminal"))
    assert page.url == url(b, 7681)  # the link was consumed and redirected to the service
    terminal.wait_for_prompt()
    mark = uuid.uuid4().hex[:8]
    assert terminal.run(f"echo edge-$((6*7))-{mark}").strip() == f"edge-42-{mark}"
    assert sockets == [f"ws://{b.name(7681)}/ws"]
    cookies = {c["name"]: c for c in context.cookies()}
    assert cookies["pinacle_session"]["domain"] in (f".{b.name()}", b.name())
    assert cookies["pinacle_session"]["httpOnly"]
    save_screenshot(page, "edge-web-terminal")


def test_one_pods_cookie_is_refused_on_another(edge_pods: Pods, page: Page, context: BrowserContext) -> None:
    a, b = edge_pods
    page.goto(a.login_url("web-terminal"))
    a_cookie = next(c for c in context.cookies() if c["name"] == "pinacle_session")
    # The browser would never send it to B; the edge refuses it even when it comes.
    context.add_cookies([{"name": a_cookie["name"], "value": a_cookie["value"], "domain": b.name(), "path": "/"}])
    response = page.goto(url(b, 7681))
    assert response is not None and response.status == 401
    assert page.locator("h1").inner_text() == "This pod is private"


def test_a_public_port_works_without_cookie(edge_pods: Pods, page: Page) -> None:
    a, _b = edge_pods
    response = page.goto(url(a, 3000))
    assert response is not None and response.status == 200
    assert "Directory listing" in page.content()


def test_after_rotation_the_old_cookie_is_refused(edge_pods: Pods, page: Page) -> None:
    _a, b = edge_pods
    page.goto(b.login_url("app"))
    assert "Directory listing" in page.content()
    pinacle("token", b.slug, "--rotate")
    response = page.reload()
    assert response is not None and response.status == 401
    assert page.locator("h1").inner_text() == "This pod is private"


def ca_spki_hash(ca: Path) -> str:
    """base64(SHA-256(SubjectPublicKeyInfo)) of the CA: what --ignore-certificate-errors-spki-list takes."""
    der = subprocess.run(
        f"openssl x509 -in {ca} -pubkey -noout | openssl pkey -pubin -outform der",
        shell=True, capture_output=True, check=True,
    ).stdout  # fmt: skip
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture(scope="module")
def tls_edge(edge_pods: Pods, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecondEdge]:
    directory = tmp_path_factory.mktemp("edge-tls")
    env = {**os.environ, "PINACLE_EDGE_TLS_DIR": str(directory / "tls")}
    for pod in edge_pods:
        subprocess.run([EDGE_TLS_SCRIPT, "issue", pod.name()], env=env, check=True, capture_output=True)
    with second_edge(
        EdgeSettings(http_port=free_port(), https_port=free_port(), tls=True), edge_pods, directory
    ) as edge:
        yield edge


def https_url(edge: SecondEdge, pod: EdgePodInfo, port: int) -> str:
    return f"https://{pod.name(port)}:{edge.edge.https_port}/"


def launch(playwright: Playwright, *extra: str) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra])


def test_https_with_the_local_ca_trusted_by_the_browser(
    edge_pods: Pods, tls_edge: SecondEdge, playwright: Playwright
) -> None:
    a, _b = edge_pods
    ca = Path(tls_edge.layout.cert_dir).parent / "ca.crt"
    trusting = launch(playwright, f"--ignore-certificate-errors-spki-list={ca_spki_hash(ca)}")
    try:
        page = trusting.new_page()
        response = page.goto(https_url(tls_edge, a, 3000))
        assert response is not None and response.status == 200
        assert "Directory listing" in page.content()
        save_screenshot(page, "edge-https")
    finally:
        trusting.close()


def test_https_is_refused_by_a_browser_that_does_not_trust_the_ca(
    edge_pods: Pods, tls_edge: SecondEdge, playwright: Playwright
) -> None:
    a, _b = edge_pods
    plain = launch(playwright)
    try:
        with pytest.raises(Error, match="ERR_CERT_AUTHORITY_INVALID"):
            plain.new_page().goto(https_url(tls_edge, a, 3000))
    finally:
        plain.close()
