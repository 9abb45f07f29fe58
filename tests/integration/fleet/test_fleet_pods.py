"""A pod on each engine of the fleet, one host at a time: healthy under gVisor, reached at its host's
address, and seen by that host alone."""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.fleet.conftest import HOST_COUNT, Fleet, FleetHost, pinacle, run

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class FleetPod:
    host: FleetHost
    slug: str
    rollout: dict[str, Any]


def remove_by_label(host: FleetHost, slug: str) -> None:
    """Teardown through the host's engine, independent of the code under test."""
    label = f"label=pinacle.pod={slug}"
    host.ssh(
        f"docker rm -f $(docker ps -aq --filter {label}) 2>/dev/null; "
        f"docker network rm $(docker network ls -q --filter {label}) 2>/dev/null; "
        f"docker volume rm -f $(docker volume ls -q --filter {label}) 2>/dev/null; "
        f"rm -f /var/lib/pinacle/pods/{slug}.json",
        check=False,
    )


def remove_move_snapshots(host: FleetHost, slug: str) -> None:
    """The snapshot images of pod ``slug`` and its move snapshots' files, through the host's engine."""
    host.ssh(
        f"for i in $(docker image ls -q --filter label=pinacle.snapshot.of={slug}); do docker rmi -f $i; done; "
        f"rm -f /var/lib/pinacle/snapshots/move-{slug}-*",
        check=False,
    )


# Module scope, one host per parameter: pytest finishes every test of one host's pod (and removes
# it) before the next host's, so one pod of this module runs at a time.
@pytest.fixture(scope="module", params=range(1, HOST_COUNT + 1), ids=lambda n: f"fleet-host{n}")
def pod(request: pytest.FixtureRequest, fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FleetPod]:
    host = fleet.hosts[request.param - 1]
    slug = f"fleet-{uuid.uuid4().hex[:6]}-h{host.number}"
    path: Path = tmp_path_factory.mktemp(slug) / "pod.yaml"
    path.write_text(
        yaml.safe_dump(
            {"name": f"fleet pod {slug}", "slug": slug, "services": ["web-terminal"], "resources": {"memory": "512m"}}
        )
    )
    try:
        rollout = json.loads(pinacle("deploy", str(path), "--json", hosts=(host,)).stdout)
        yield FleetPod(host, slug, rollout["pods"][0])
    finally:
        pinacle("delete", slug, "--purge", hosts=(host,), check=False)
        remove_by_label(host, slug)


@pytest.fixture(scope="module")
def listing(pod: FleetPod) -> list[dict[str, Any]]:
    """``pinacle list`` over the whole fleet (every host read in parallel), with the pod up."""
    pods: list[dict[str, Any]] = json.loads(pinacle("list", "--json").stdout)["pods"]
    return pods


def test_the_pod_is_up_and_healthy_on_its_host(pod: FleetPod, listing: list[dict[str, Any]]) -> None:
    (listed,) = [p for p in listing if p["slug"] == pod.slug]
    assert (pod.rollout["host"], listed["host"], listed["state"], listed["healthy"]) == (
        pod.host.name, pod.host.name, "running", True,
    )  # fmt: skip


def test_the_pod_runs_under_gvisor(pod: FleetPod) -> None:
    runtime = pod.host.ssh(f"docker inspect -f '{{{{.HostConfig.Runtime}}}}' pinacle-{pod.slug}").stdout.strip()
    kernel = pinacle("exec", pod.slug, "--", "dmesg", hosts=(pod.host,)).stdout  # over the ssh client
    assert runtime == "runsc" and "Starting gVisor" in kernel


def test_the_pod_answers_through_its_router_at_its_hosts_address(pod: FleetPod) -> None:
    request = urllib.request.Request(
        f"http://{pod.host.address}:{pod.rollout['host_port']}/",
        headers={"Host": f"localhost-7681.pod-{pod.slug}.localhost"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and "<title>ttyd" in response.read().decode()


def test_list_shows_the_pod_on_its_host_only(fleet: Fleet, pod: FleetPod, listing: list[dict[str, Any]]) -> None:
    assert [p["host"] for p in listing if p["slug"] == pod.slug] == [pod.host.name]
    alone = pinacle("list", "--json", hosts=(pod.host,)).stdout  # the pod's host as a target of its own
    assert {p["host"] for p in json.loads(alone)["pods"]} == {pod.host.name}


def test_no_other_engine_has_the_pods_containers(fleet: Fleet, pod: FleetPod) -> None:
    query = f"docker ps -aq --filter label=pinacle.pod={pod.slug}"
    found = {host.name: host.ssh(query).stdout.split() for host in fleet.hosts}
    found["this machine"] = run(*query.split()).stdout.split()
    assert {name for name, ids in found.items() if ids} == {pod.host.name}
