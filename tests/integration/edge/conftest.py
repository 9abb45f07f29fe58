"""Fixtures for the edge's integration tests: this host's real edge (nginx and the credential
daemon, as the host deploy runs them) in front of two real pods.

``edge_pods`` deploys pod A (its app port public) and pod B (all private) once per module under
``edge-XXXXXXXX-a/-b`` slugs, and deletes both with their volumes afterwards. Requests go to the
edge on 127.0.0.1:80 with the pod's host name, as a browser resolving ``*.localhost`` sends them.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from tests.integration.conftest import REPO, docker, pinacle_deploy, remove_pod_resources

from pinacle.edge.settings import EDGE_AUTH_SCRIPT, EDGE_STATE, EdgeSettings
from pinacle.facts.edge import EdgeRunning

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


def edge_get(host: str, path: str = "/", cookie: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """GET ``path`` of ``host`` at the edge (127.0.0.1:80)."""
    connection = http.client.HTTPConnection(*EDGE_ADDRESS, timeout=10)
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
        yield EdgePodInfo(f"{prefix}-a", ports[f"{prefix}-a"]), EdgePodInfo(f"{prefix}-b", ports[f"{prefix}-b"])
    finally:
        for suffix in ("a", "b"):
            pinacle("delete", f"{prefix}-{suffix}", "--purge", check=False)
            remove_pod_resources(f"{prefix}-{suffix}")
