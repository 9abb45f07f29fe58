"""Fixtures for the edge's integration tests: this host's real edge (nginx and the credential
daemon, as the host deploy runs them) in front of two real pods.

``edge_pods`` deploys pod A (its app port public) and pod B (all private) once per module under
``edge-XXXXXXXX-a/-b`` slugs, and deletes both with their volumes afterwards. Requests go to the
edge on 127.0.0.1:80 with the pod's host name, as a browser resolving ``*.localhost`` sends them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from tests.integration.conftest import REPO, docker, pinacle_deploy, remove_pod_resources
from websockets import Origin, Subprotocol
from websockets.sync.client import connect

from pinacle.edge.config import EdgeLayout, EdgePod, render_edge_conf, render_edge_table
from pinacle.edge.settings import EDGE_AUTH_SCRIPT, EDGE_PID, EDGE_STATE, EdgeSettings
from pinacle.facts.edge import EdgeRunning
from pinacle.router import Route

EDGE_ADDRESS = ("127.0.0.1", 80)
ROUTER_LOG = "/var/log/pinacle/nginx-access.log"  # inside a pod: every request its router saw


def pinacle(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "pinacle.cli.main", *args],
        capture_output=True, text=True, timeout=300, cwd=REPO, check=False,
        env={**os.environ, "PINACLE_INVENTORY": "@local"},
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"pinacle {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: str


def edge_get(
    host: str,
    path: str = "/",
    cookie: str | None = None,
    headers: dict[str, str] | None = None,
    address: tuple[str, int] = EDGE_ADDRESS,
) -> Response:
    """GET ``path`` of ``host`` at the edge at ``address`` (this host's: 127.0.0.1:80)."""
    connection = http.client.HTTPConnection(*address, timeout=10)
    try:
        sent = {"Host": host, **({"Cookie": cookie} if cookie else {}), **(headers or {})}
        connection.request("GET", path, headers=sent)
        response = connection.getresponse()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode())
    finally:
        connection.close()


@dataclass(frozen=True)
class EdgePodInfo:
    slug: str
    host_port: int
    domain: str = "localhost"
    public: frozenset[int] = frozenset()

    def name(self, port: int | None = None) -> str:
        return f"pod-{self.slug}.{self.domain}" if port is None else f"localhost-{port}.pod-{self.slug}.{self.domain}"

    def router_log(self) -> str:
        """Every request the pod's own router saw (the first thing inside the pod)."""
        return docker("exec", f"pinacle-{self.slug}", "cat", ROUTER_LOG)

    def login_url(self, service: str | None = None) -> str:
        return pinacle("open", self.slug, *([service] if service else []), "--print").stdout.strip()

    def cookie(self, service: str = "app") -> str:
        """``pinacle_session=...`` as the edge sets it after the pod's `pinacle open` link."""
        url = self.login_url(service)
        host = self.name(3000 if service == "app" else 7681)
        path = url.split(host, 1)[1]
        response = edge_get(host, path)
        assert response.status == 302, response
        return response.headers["set-cookie"].split(";", 1)[0]

    def secret(self) -> str:
        return subprocess.run(
            [EDGE_AUTH_SCRIPT, "token", self.slug], capture_output=True, text=True, check=True
        ).stdout.strip()


@pytest.fixture(scope="session")
def host_edge() -> EdgeSettings:
    """This host's edge as the host deploy left it; missing pieces fail with the fix."""
    if not Path(EDGE_STATE).exists():
        pytest.fail(f"{EDGE_STATE} is missing: run the host deploy (scripts/provision-local.sh)")
    edge = EdgeSettings.from_json(Path(EDGE_STATE).read_text())
    assert edge is not None and edge.enabled and not edge.tls and edge.http_port == 80, edge
    assert EdgeRunning().process(
        [subprocess.run(["sh", "-c", EdgeRunning().command()], capture_output=True, text=True).stdout.strip()]
    ), "the edge's nginx is not running: run the host deploy"
    return edge


def pod_data(slug: str, public_app: bool) -> dict[str, object]:
    return {
        "name": f"edge test {slug}",
        "slug": slug,
        "services": ["web-terminal"],
        "ports": [
            {
                "name": "app",
                "port": 3000,
                "command": "python3 -m http.server 3000 --directory /workspace",
                "visibility": "public" if public_app else "private",
            }
        ],
        "resources": {"cpus": 1, "memory": "512m"},
    }


@pytest.fixture(scope="module")
def edge_pods(
    host_edge: EdgeSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[EdgePodInfo, EdgePodInfo]]:
    """Pod A (app public) and pod B (private), rolled out together; deleted with their volumes."""
    prefix = f"edge-{uuid.uuid4().hex[:8]}"
    directory = tmp_path_factory.mktemp("edge-pods")
    files = []
    for suffix, public in (("a", True), ("b", False)):
        path = directory / f"{suffix}.yaml"
        path.write_text(yaml.safe_dump(pod_data(f"{prefix}-{suffix}", public)))
        files.append(str(path))
    try:
        rollout = json.loads(pinacle_deploy(*files, "--json").stdout)
        ports = {pod["slug"]: int(pod["host_port"]) for pod in rollout["pods"]}
        a, b = f"{prefix}-a", f"{prefix}-b"
        yield EdgePodInfo(a, ports[a], public=frozenset({3000})), EdgePodInfo(b, ports[b])
    finally:
        for suffix in ("a", "b"):
            pinacle("delete", f"{prefix}-{suffix}", "--purge", check=False)
            remove_pod_resources(f"{prefix}-{suffix}")


class Terminal:
    """A ttyd terminal over a WebSocket through the edge, kept open across whatever the test does.

    ttyd 1.7.7's protocol (see tests/integration/helpers.py ttyd_output): subprotocol ``tty``,
    a JSON hello, input ``"0" + bytes``, output frames ``"0" + bytes``.
    """

    def __init__(
        self, host: str, cookie: str, address: tuple[str, int] = EDGE_ADDRESS, tls: ssl.SSLContext | None = None
    ) -> None:
        self.host, self.cookie, self.address, self.tls = host, cookie, address, tls
        self.output = b""

    def __enter__(self) -> Terminal:
        sock = socket.create_connection(self.address, timeout=10)
        host = self.host
        self.ws = connect(
            f"{'wss' if self.tls else 'ws'}://{host}/ws",
            sock=sock,
            ssl=self.tls,
            subprotocols=[Subprotocol("tty")],
            origin=Origin(f"{'https' if self.tls else 'http'}://{host}"),
            additional_headers={"Cookie": self.cookie},
            # Through a peer's edge over TLS the handshake crosses two edges and two TLS
            # handshakes while the fleet's engines load the 2 cores: 10 s timed out once in CI.
            open_timeout=30,
            close_timeout=2,
        ).__enter__()
        self.ws.send(json.dumps({"AuthToken": "", "columns": 120, "rows": 40}))
        return self

    def __exit__(self, *exc: object) -> None:
        self.ws.__exit__(None, None, None)

    def run(self, line: str, expect: str, timeout: float = 30) -> None:
        self.ws.send(b"0" + line.encode() + b"\r")
        deadline = time.monotonic() + timeout
        while expect.encode() not in self.output.replace(b"\x1b[C", b" "):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{expect!r} never arrived; terminal output:\n{self.output!r}")
            frame = self.ws.recv(timeout=remaining)
            data = frame if isinstance(frame, bytes) else frame.encode()
            if data[:1] == b"0":
                self.output += data[1:]


def edge_workers() -> dict[int, str]:
    """PID -> title of the edge's nginx workers now (a reload starts new ones; the old ones show
    "is shutting down" until their open connections end)."""
    master = Path(EDGE_PID).read_text().strip()
    out = subprocess.run(
        ["ps", "-o", "pid=,args=", "--ppid", master], capture_output=True, text=True, check=True
    ).stdout
    return {int(line.split(None, 1)[0]): line.split(None, 1)[1] for line in out.strip().splitlines()}


@dataclass
class SecondEdge:
    """A second edge instance (its own nginx master, ports and files under a temporary directory),
    rendered by the same code as the host's, in front of the same two pods: settings the host's
    edge does not run (forward auth, TLS) are tried on it without touching the host's."""

    edge: EdgeSettings
    layout: EdgeLayout

    @property
    def conf(self) -> str:
        return f"{self.layout.config_dir}/nginx.conf"


@contextlib.contextmanager
def second_edge(edge: EdgeSettings, pods: tuple[EdgePodInfo, ...], directory: Path) -> Iterator[SecondEdge]:
    layout = EdgeLayout(
        config_dir=str(directory), cert_dir=str(directory / "tls" / "pods"), pid=str(directory / "edge.pid"),
        log_dir=str(directory),
    )  # fmt: skip
    table = render_edge_table(
        [
            EdgePod(p.slug, p.domain, p.host_port, (Route("web-terminal", 7681), Route("app", 3000)), 3000, p.public)
            for p in pods
        ],
        edge,
        layout,
    )
    for path, text in {**render_edge_conf(edge, "apt", layout), f"{directory}/pods.conf": table}.items():
        Path(path).write_text(text)
    subprocess.run(["nginx", "-c", f"{directory}/nginx.conf"], check=True, capture_output=True, text=True)
    try:
        yield SecondEdge(edge, layout)
    finally:
        subprocess.run(["nginx", "-s", "quit", "-c", f"{directory}/nginx.conf"], check=False, capture_output=True)
