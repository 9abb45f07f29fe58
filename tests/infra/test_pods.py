"""Every pinacle pod on a host runs under gVisor, holds one port, is fully labelled, and has a
root-only host record.

``PINACLE_INFRA_PODS`` (comma-separated slugs) names pods that must be there: ``scripts/test.sh``
deploys ``pods/example.yaml`` and sets it, so these checks always have a pod to look at in CI.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from pinacle.pod.names import RECORD_DIR, record_path


def pod_containers(host: Any) -> list[dict[str, Any]]:
    if not host.check_output("docker ps -aq --filter label=pinacle.pod"):
        return []
    inspected: list[dict[str, Any]] = json.loads(
        host.check_output("docker inspect $(docker ps -aq --filter label=pinacle.pod)")
    )
    return [c for c in inspected if c["Name"].lstrip("/") == f"pinacle-{c['Config']['Labels']['pinacle.pod']}"]


def slugs(host: Any) -> list[str]:
    return [c["Config"]["Labels"]["pinacle.pod"] for c in pod_containers(host)]


def test_the_expected_pods_are_there(host: Any) -> None:
    expected = {s for s in os.environ.get("PINACLE_INFRA_PODS", "").split(",") if s}
    assert expected <= set(slugs(host))


def test_pods_never_run_under_runc(host: Any, runtime_name: str) -> None:
    for container in pod_containers(host):
        assert container["HostConfig"]["Runtime"] == runtime_name, container["Name"]


def test_each_pod_holds_a_distinct_host_port(host: Any) -> None:
    ports = [c["Config"]["Labels"]["pinacle.port"] for c in pod_containers(host)]
    assert len(ports) == len(set(ports))


@pytest.mark.parametrize("kind", ["network", "volume"])
def test_each_pod_has_its_labelled_network_and_volume(host: Any, kind: str) -> None:
    for slug in slugs(host):
        listed = host.check_output("docker %s ls -q --filter label=pinacle.pod=%s", kind, slug)
        assert listed, f"pod {slug} has no {kind}"


def test_each_pod_has_a_host_record_only_root_can_read(host: Any) -> None:
    directory = host.file(RECORD_DIR)
    if slugs(host):
        assert (directory.is_directory, directory.user, directory.mode) == (True, "root", 0o700)
    for slug in slugs(host):
        record = host.file(record_path(slug))
        assert (record.exists, record.user, record.mode) == (True, "root", 0o600), slug
        assert json.loads(record.content_string)["slug"] == slug
