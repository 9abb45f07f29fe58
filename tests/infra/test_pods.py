"""Every pinacle pod on a host runs under gVisor, holds one port, and is fully labelled."""

from __future__ import annotations

import json
from typing import Any

import pytest


def pod_containers(host: Any) -> list[dict[str, Any]]:
    if not host.check_output("docker ps -aq --filter label=pinacle.pod"):
        return []
    inspected: list[dict[str, Any]] = json.loads(
        host.check_output("docker inspect $(docker ps -aq --filter label=pinacle.pod)")
    )
    return inspected


def test_pods_never_run_under_runc(host: Any, runtime_name: str) -> None:
    for container in pod_containers(host):
        assert container["HostConfig"]["Runtime"] == runtime_name, container["Name"]


def test_each_pod_holds_a_distinct_host_port(host: Any) -> None:
    ports = [c["Config"]["Labels"]["pinacle.port"] for c in pod_containers(host)]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("kind", ["network", "volume"])
def test_each_pod_has_its_labelled_network_and_volume(host: Any, kind: str) -> None:
    for container in pod_containers(host):
        slug = container["Config"]["Labels"]["pinacle.pod"]
        listed = host.check_output("docker %s ls -q --filter label=pinacle.pod=%s", kind, slug)
        assert listed, f"pod {slug} has no {kind}"
