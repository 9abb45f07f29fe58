"""The edge in front of two real pods: credentials per pod, public ports, rotation, the pod table
following stop/start, and pods' own ports closed to anything but loopback."""

from __future__ import annotations

import socket
import subprocess
import uuid

import pytest
from tests.integration.edge.conftest import EdgePodInfo, edge_get, pinacle

pytestmark = pytest.mark.integration
Pods = tuple[EdgePodInfo, EdgePodInfo]


def marker() -> str:
    return f"edge-marker-{uuid.uuid4().hex}"


def test_a_private_name_without_cookie_gets_the_login_page_and_nothing_of_the_pod(edge_pods: Pods) -> None:
    _a, b = edge_pods
    mark = marker()
    response = edge_get(b.name(3000), f"/{mark}")
    assert response.status == 401
    assert f"pinacle open {b.slug} app" in response.body
    assert mark not in b.router_log()


def test_the_login_link_sets_a_cookie_for_the_pods_names_only(edge_pods: Pods) -> None:
    _a, b = edge_pods
    url = b.login_url("app")
    response = edge_get(b.name(3000), url.split(b.name(3000), 1)[1])
    assert response.status == 302
    cookie = response.headers["set-cookie"]
    assert f"Domain=pod-{b.slug}.localhost" in cookie
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_cookie_reaches_every_service_of_its_pod(edge_pods: Pods) -> None:
    _a, b = edge_pods
    cookie = b.cookie()
    mark = marker()
    assert edge_get(b.name(3000), f"/{mark}", cookie).status == 404  # http.server: no such file, but it answered
    assert mark in b.router_log()
    assert edge_get(b.name(7681), "/", cookie).status == 200
    assert edge_get(b.name(), "/", cookie).status == 200


def test_a_login_link_works_once(edge_pods: Pods) -> None:
    _a, b = edge_pods
    url = b.login_url("app")
    path = url.split(b.name(3000), 1)[1]
    assert edge_get(b.name(3000), path).status == 302
    again = edge_get(b.name(3000), path)
    assert again.status == 403
    assert "set-cookie" not in again.headers


def test_one_pods_cookie_is_refused_on_another(edge_pods: Pods) -> None:
    a, b = edge_pods
    mark = marker()
    assert edge_get(b.name(7681), f"/{mark}", a.cookie("web-terminal")).status == 401
    assert mark not in b.router_log()


def test_a_public_port_answers_without_cookie(edge_pods: Pods) -> None:
    a, _b = edge_pods
    mark = marker()
    assert edge_get(a.name(3000), f"/{mark}").status == 404  # the app answered (no such file)
    assert mark in a.router_log()


def test_a_public_port_leaves_the_pods_other_ports_private(edge_pods: Pods) -> None:
    a, _b = edge_pods
    assert edge_get(a.name(7681)).status == 401


def test_the_main_name_is_as_public_as_the_main_port(edge_pods: Pods) -> None:
    a, b = edge_pods  # the main port of both is the app's, public in A only
    assert edge_get(a.name()).status == 200
    assert edge_get(b.name()).status == 401


def test_rotation_refuses_the_old_cookie(edge_pods: Pods) -> None:
    _a, b = edge_pods
    cookie = b.cookie()
    assert edge_get(b.name(3000), "/", cookie).status == 200
    pinacle("token", b.slug, "--rotate")
    assert edge_get(b.name(3000), "/", cookie).status == 401
    assert edge_get(b.name(3000), "/", b.cookie()).status == 200


def test_a_stopped_pod_leaves_the_table_and_comes_back_when_started(edge_pods: Pods) -> None:
    a, _b = edge_pods
    pinacle("stop", a.slug)
    try:
        assert edge_get(a.name(3000)).status == 421
    finally:
        pinacle("start", a.slug)
    assert edge_get(a.name(3000)).status == 200


def non_loopback_addresses() -> list[str]:
    """This host's IPv4 addresses other than loopback (its interfaces, Docker's bridges)."""
    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    addresses = [line.split()[3].split("/")[0] for line in out.splitlines()]
    return [address for address in addresses if not address.startswith("127.")]


def connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def test_a_pods_own_port_answers_on_loopback_only(edge_pods: Pods) -> None:
    a, _b = edge_pods
    addresses = non_loopback_addresses()
    assert addresses, "this host has no address but loopback to try from"
    assert connects("127.0.0.1", a.host_port)
    for address in addresses:
        assert not connects(address, a.host_port), f"pod port {a.host_port} answers on {address}"
        assert connects(address, 80), f"the edge does not answer on {address}:80"


def test_secrets_are_root_only_files(edge_pods: Pods) -> None:
    _a, b = edge_pods
    listing = subprocess.run(
        ["stat", "-c", "%a %U", f"/var/lib/pinacle/edge/secrets/{b.slug}", "/var/lib/pinacle/edge/secrets"],
        capture_output=True, text=True, check=True,
    ).stdout.split("\n")  # fmt: skip
    assert listing[:2] == ["600 root", "700 root"]
