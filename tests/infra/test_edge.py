"""The host's edge (host data edge_enabled, on by default): pinacle's own nginx and credential
daemon run, their files are root-only, and pods' own ports answer on loopback only."""

from __future__ import annotations

import json
from typing import Any

from tests.infra.test_pods import pod_containers

from pinacle.edge.settings import EDGE_AUTH_SOCKET, EDGE_CONF, EDGE_DIR, EDGE_PID, EDGE_SOCKET_DIR, EDGE_STATE


def test_the_edge_runs_as_pinacles_own_nginx(host: Any) -> None:
    master = host.file(EDGE_PID).content_string.strip()
    assert host.run(f"kill -0 {master}").rc == 0
    assert f"nginx -c {EDGE_CONF}" in host.check_output(f"cat /proc/{master}/cmdline | tr '\\0' ' '")


def test_the_edge_listens_where_its_settings_say(host: Any) -> None:
    edge = json.loads(host.file(EDGE_STATE).content_string)
    assert host.socket(f"tcp://0.0.0.0:{edge['http_port']}").is_listening


def test_the_edges_files_are_root_only(host: Any) -> None:
    directory = host.file(EDGE_DIR)
    assert (directory.user, directory.mode) == ("root", 0o700)
    for name in ("nginx.conf", "pods.conf", "edge.json", "private.conf", "public.conf"):
        assert (host.file(f"{EDGE_DIR}/{name}").user, host.file(f"{EDGE_DIR}/{name}").mode) == ("root", 0o600), name


def test_only_nginxs_workers_may_reach_the_credential_daemon(host: Any) -> None:
    socket_dir = host.file(EDGE_SOCKET_DIR)
    assert (socket_dir.user, socket_dir.mode) == ("root", 0o750)
    assert host.file(EDGE_AUTH_SOCKET).is_socket
    assert host.file(EDGE_AUTH_SOCKET).mode == 0o660


def test_pods_publish_their_router_on_loopback_only(host: Any) -> None:
    for container in pod_containers(host):
        for bindings in (container["HostConfig"]["PortBindings"] or {}).values():
            assert all(b["HostIp"] == "127.0.0.1" for b in bindings), container["Name"]
