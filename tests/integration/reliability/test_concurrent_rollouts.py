"""Deploys that race: the same new pod from two processes at once converges on one network and
one container; different pods at once never share a port."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import REPO
from tests.integration.reliability.conftest import docker, pinacle, pod_json
from tests.integration.reliability.tally import tally


def deploy_in_background(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(REPO / ".venv/bin/python"), "-m", "pinacle.cli.deploy", "-i", "@local", str(path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_deploys_of_the_same_new_pod_at_once_make_one_network_and_one_pod(
    pod_file: Callable[..., tuple[str, Path]],
) -> None:
    slug, path = pod_file("rel-race")
    runs = [deploy_in_background(path) for _ in range(2)]
    outcomes = [(run.wait(timeout=300), *run.communicate()) for run in runs]
    assert [code for code, _out, _err in outcomes] == [0, 0], outcomes
    networks = docker("network", "ls", "--filter", f"name=^pinacle-{slug}$", "--format", "{{.ID}}").split()
    containers = docker("ps", "-a", "--filter", f"label=pinacle.pod={slug}", "--format", "{{.Names}}").split()
    assert (len(networks), containers) == (1, [f"pinacle-{slug}"])
    assert pod_json(slug)["healthy"] is True
    assert pinacle("delete", slug, "--purge").returncode == 0
    tally("converged")


def test_three_new_pods_deployed_at_once_get_three_ports(pod_file: Callable[..., tuple[str, Path]]) -> None:
    pods = [pod_file("rel-many") for _ in range(3)]
    runs = [deploy_in_background(path) for _slug, path in pods]
    assert [run.wait(timeout=300) for run in runs] == [0, 0, 0]
    ports = {pod_json(slug)["host_port"] for slug, _path in pods}
    assert len(ports) == 3
    tally("converged")
