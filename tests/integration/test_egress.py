"""Pods reach nothing that isn't theirs: the host deploy's egress rules, tried from inside real pods.

The host deploy (run by .ci/run before the tests) installed and applied ``pinacle-egress``. No
packet leaves this machine except the package-mirror request that shows the internet still works.
"""

from __future__ import annotations

import http.server
import json
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import REPO, remove_pod_resources

pytestmark = pytest.mark.integration
EGRESS = "/usr/local/lib/pinacle/pinacle-egress"
PORT_LABEL = '{{index .Config.Labels "pinacle.port"}}'


def sh(*args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"{args}: {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


def in_pod(slug: str, script: str, root: bool = False, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    user = [] if root else ["-u", "dev"]
    return sh("docker", "exec", *user, f"pinacle-{slug}", "sh", "-c", script, check=False, timeout=timeout)


def reaches(slug: str, address: str, port: int) -> bool:
    """Can the pod open a TCP connection to address:port (within 3 s)?"""
    probe = f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{address}:{port}/"
    return in_pod(slug, probe).stdout.strip() not in ("", "000")


@pytest.fixture(scope="module")
def pods(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """Two pods, with their gateway and address."""
    slugs = [
        f"egress-{i}-{subprocess.check_output(['openssl', 'rand', '-hex', '3'], text=True).strip()}" for i in (1, 2)
    ]
    directory = tmp_path_factory.mktemp("egress")
    files = []
    for slug in slugs:
        path = Path(directory / f"{slug}.yaml")
        path.write_text(f"name: {slug}\nslug: {slug}\nservices: [web-terminal]\n")
        files.append(str(path))
    try:
        sh(str(REPO / ".venv/bin/pinacle-deploy"), "-i", "@local", *files, timeout=600)
        found = {}
        for slug in slugs:
            network = json.loads(sh("docker", "network", "inspect", f"pinacle-{slug}").stdout)[0]
            (container,) = network["Containers"].values()
            found[slug] = {
                "gateway": network["IPAM"]["Config"][0]["Gateway"],
                "address": container["IPv4Address"].split("/")[0],
                "port": int(
                    sh("docker", "inspect", "-f", '{{index .Config.Labels "pinacle.port"}}', f"pinacle-{slug}").stdout
                ),
            }
        yield found
    finally:
        for slug in slugs:
            remove_pod_resources(slug)


@pytest.fixture
def host_listener() -> Iterator[int]:
    """An HTTP server on the host's 0.0.0.0, as any careless host service would listen."""
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def test_the_host_deploy_put_the_rules_in_place() -> None:
    assert sh(EGRESS, "check").stdout.strip() == "pinacle-egress: in place"


def test_a_pod_cannot_reach_a_host_listener_on_0_0_0_0(pods: dict[str, dict[str, Any]], host_listener: int) -> None:
    slug, pod = next(iter(pods.items()))
    with socket.create_connection(("127.0.0.1", host_listener), timeout=3):
        pass  # the listener is up: the host reaches it
    assert not reaches(slug, pod["gateway"], host_listener)


def test_a_pod_cannot_reach_another_pods_address(pods: dict[str, dict[str, Any]]) -> None:
    (first, _), (_second, other) = pods.items()
    assert not reaches(first, other["address"], 80)


def test_a_pod_cannot_reach_published_pod_ports_through_the_host(pods: dict[str, dict[str, Any]]) -> None:
    (first, pod), (_second, other) = pods.items()
    assert not reaches(first, pod["gateway"], other["port"])


def test_link_local_addresses_such_as_the_metadata_service_are_dropped() -> None:
    rules = sh("iptables", "-w", "-S", "PINACLE-EGRESS").stdout.splitlines()
    assert "-A PINACLE-EGRESS -d 169.254.0.0/16 -j DROP" in rules
    jumps = sh("iptables", "-w", "-S", "DOCKER-USER").stdout
    assert "-j PINACLE-EGRESS" in jumps


def test_the_host_still_reaches_the_pods_routers(pods: dict[str, dict[str, Any]]) -> None:
    for slug, pod in pods.items():
        status = sh(
            "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--connect-to", "::127.0.0.1:",
            f"http://localhost-7681.pod-{slug}.localhost:{pod['port']}/",
        ).stdout  # fmt: skip
        assert status == "200"


def test_dns_and_the_package_mirror_still_work(pods: dict[str, dict[str, Any]]) -> None:
    slug = next(iter(pods))
    update = in_pod(slug, "apt-get update -qq", root=True, timeout=300)
    assert update.returncode == 0, update.stderr
