"""One URL per pod across a fleet: every host's edge answers the names of every pod of the fleet,
forwarding those of its peers' pods to the holder's edge, which checks the credential. The URL and
the browser's cookie survive a move.

The module turns every host's edge on with the host deploy (inventory/fleet-test.py with
PINACLE_FLEET_EDGE), first serving HTTP, then HTTPS from each host's local CA (the hop between
edges then verifies the holder's certificate), and off again at its end; its pod is published on
loopback behind its host's edge, as on a real fleet. Requests go to each host's address with the
pod's host name, as a browser resolving the pod's name to any of the fleet's hosts sends them.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml
from tests.integration.edge.conftest import Response, Terminal, edge_get
from tests.integration.fleet.conftest import Fleet, FleetHost, host_deploy, pinacle
from tests.integration.fleet.test_fleet_pods import remove_by_label, remove_move_snapshots

from pinacle.edge.settings import EDGE_CA_CERT, EDGE_FLEET_CONF

pytestmark = pytest.mark.integration

SLUG = f"fleet-r{uuid.uuid4().hex[:4]}"
APP = f"localhost-3000.pod-{SLUG}.localhost"
TERMINAL = f"localhost-7681.pod-{SLUG}.localhost"


def routes(*args: str) -> str:
    return pinacle(*args, published=False).stdout


@dataclass
class Edges:
    """The fleet with every host's edge on, as a browser reaches it: over HTTP, or over HTTPS
    trusting every host's local CA (``tls``, once the CAs are there: each host makes its own when
    it first issues a pod's certificate)."""

    fleet: Fleet
    https: bool
    tls: ssl.SSLContext | None = None

    def trust_local_cas(self) -> None:
        cas = "".join(h.ssh(f"cat {EDGE_CA_CERT}").stdout for h in self.fleet.hosts)
        self.tls = ssl.create_default_context(cadata=cas)

    @property
    def scheme(self) -> str:
        return "https" if self.https else "http"

    def address(self, host: FleetHost) -> tuple[str, int]:
        return (host.address, 443 if self.https else 80)

    def get(
        self,
        host: FleetHost,
        name: str,
        path: str = "/",
        cookie: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """GET ``path`` of ``name`` at ``host``'s edge."""
        if not self.https:
            return edge_get(name, path, cookie, headers, address=self.address(host))
        assert self.tls is not None, "trust_local_cas() first"
        connection = http.client.HTTPSConnection(name, 443, context=self.tls, timeout=10)
        connection.sock = self.tls.wrap_socket(
            socket.create_connection(self.address(host), timeout=10), server_hostname=name
        )
        try:
            connection.request(
                "GET", path, headers={"Host": name, **({"Cookie": cookie} if cookie else {}), **(headers or {})}
            )
            response = connection.getresponse()
            return Response(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode())
        finally:
            connection.close()

    def terminal(self, host: FleetHost, cookie: str) -> Terminal:
        return Terminal(TERMINAL, cookie, address=self.address(host), tls=self.tls)

    def forwarders(self) -> list[str]:
        """The hosts whose fleet table forwards the pod's names."""
        tables = {h.name: h.ssh(f"cat {EDGE_FLEET_CONF} 2>/dev/null || true").stdout for h in self.fleet.hosts}
        return [name for name, table in tables.items() if f"server_name {APP};" in table]


@pytest.fixture(scope="module")
def edges_off_afterwards(fleet: Fleet) -> Iterator[None]:
    """The edges off once the module is done (not between its two modes: the second's host deploy
    changes the first's edges, as a user would)."""
    try:
        yield
    finally:
        host_deploy()


@pytest.fixture(scope="module", params=["http", "https"])
def edges(request: pytest.FixtureRequest, fleet: Fleet, edges_off_afterwards: None) -> Edges:
    host_deploy(edges=request.param)
    return Edges(fleet, https=request.param == "https")


@pytest.fixture(scope="module")
def pod(edges: Edges, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The pod on host 1 and the cookie a browser got from its login link, at host 2's edge."""
    path = tmp_path_factory.mktemp("routes") / "pod.yaml"
    data = {
        "name": "routed",
        "slug": SLUG,
        "services": ["web-terminal"],
        "ports": [{"name": "app", "port": 3000, "command": "python3 -m http.server 3000 --directory /workspace"}],
        "resources": {"memory": "256m"},
    }
    path.write_text(yaml.safe_dump(data))
    try:
        routes("deploy", str(path), "--host", "fleet-host1")
        routes("exec", SLUG, "--", "sh", "-c", "echo routed > /workspace/index.html")
        if edges.https:  # every host has issued a certificate for the pod's names by now
            edges.trust_local_cas()
        link = routes("open", SLUG, "app", "--print").strip()
        assert link.startswith(f"{edges.scheme}://{APP}/"), link
        login = edges.get(edges.fleet.hosts[1], APP, link.split(APP, 1)[1])
        assert login.status == 302, login
        yield login.headers["set-cookie"].split(";", 1)[0]
    finally:
        pinacle("delete", SLUG, "--purge", check=False, published=False)
        for host in edges.fleet.hosts:
            remove_by_label(host, SLUG)
            remove_move_snapshots(host, SLUG)


def served(edges: Edges, cookie: str | None) -> dict[str, tuple[int, str]]:
    """Host name -> (status, body) of the pod's app at that host's edge."""
    return {h.name: (r.status, r.body) for h in edges.fleet.hosts for r in [edges.get(h, APP, cookie=cookie)]}


def test_every_other_host_forwards_the_pods_names(edges: Edges, pod: str) -> None:
    assert edges.forwarders() == ["fleet-host2", "fleet-host3"]


def test_the_pod_answers_with_its_cookie_at_every_edge(edges: Edges, pod: str) -> None:
    assert set(served(edges, pod).values()) == {(200, "routed\n")}


def test_without_the_cookie_every_edge_refuses_alike(edges: Edges, pod: str) -> None:
    refusals = set(served(edges, None).values())
    assert len(refusals) == 1 and next(iter(refusals))[0] == 401, refusals


def test_plain_http_is_sent_to_the_edges_scheme_at_every_edge(edges: Edges, pod: str) -> None:
    answers = {edge_get(APP, "/x", address=(h.address, 80)).status for h in edges.fleet.hosts}
    assert answers == ({308} if edges.https else {401})


def test_a_forged_hop_header_does_not_reach_the_pod(edges: Edges, pod: str) -> None:
    assert edges.get(edges.fleet.hosts[1], APP, cookie=pod, headers={"X-Pinacle-Fleet-Hop": "1"}).status == 508


def test_a_terminal_works_through_another_hosts_edge(edges: Edges, pod: str) -> None:
    with edges.terminal(edges.fleet.hosts[2], pod) as terminal:
        terminal.run("echo forwarded-$((40 + 2))", "forwarded-42")


def test_an_unknown_name_is_refused_at_every_edge(edges: Edges, pod: str) -> None:
    for host in edges.fleet.hosts:
        assert edge_get(f"pod-{SLUG}x.localhost", cookie=pod, address=(host.address, 80)).status == 421


def test_an_unchanged_fleet_changes_no_table(edges: Edges, pod: str) -> None:
    assert routes("routes") == "every edge table is in step\n"


def test_a_stopped_pod_is_off_every_edge_and_back_on_start(edges: Edges, pod: str) -> None:
    routes("stop", SLUG)
    assert edges.forwarders() == []
    assert {edge_get(APP, cookie=pod, address=(h.address, 80)).status for h in edges.fleet.hosts} == {421}
    routes("start", SLUG)
    assert edges.forwarders() == ["fleet-host2", "fleet-host3"]
    assert set(served(edges, pod).values()) == {(200, "routed\n")}


def test_after_a_move_the_same_url_and_cookie_work_at_every_edge(edges: Edges, pod: str) -> None:
    routes("move", SLUG, "--to", "fleet-host2")
    assert edges.forwarders() == ["fleet-host1", "fleet-host3"]
    assert set(served(edges, pod).values()) == {(200, "routed\n")}
    with edges.terminal(edges.fleet.hosts[0], pod) as terminal:
        terminal.run("echo moved-$((40 + 2))", "moved-42")


def test_a_deleted_pod_is_off_every_edge(edges: Edges, pod: str) -> None:
    routes("delete", SLUG, "--purge")
    assert edges.forwarders() == []
    assert {edge_get(APP, cookie=pod, address=(h.address, 80)).status for h in edges.fleet.hosts} == {421}
