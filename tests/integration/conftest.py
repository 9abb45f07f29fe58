"""Fixtures for integration tests: real dockerd, real runsc, real pods on this machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.helpers import ttyd_output

REPO = Path(__file__).resolve().parents[2]
BASE_IMAGE = "pinacle/base:latest"


def run(*args: str, check: bool = True, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=timeout, **kwargs)


def docker(*args: str, check: bool = True) -> str:
    return run("docker", *args, check=check).stdout.strip()


def pinacle_deploy(
    *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pinacle.cli.deploy", *args]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
        env={**os.environ, "PINACLE_INVENTORY": "@local", **(env or {})},
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"pinacle-deploy {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    return result


def remove_pod_resources(slug: str) -> None:
    """Teardown by label and by path, independent of the code under test."""
    Path(f"/var/lib/pinacle/pods/{slug}.json").unlink(missing_ok=True)
    Path(f"/var/lib/pinacle/edge/secrets/{slug}").unlink(missing_ok=True)  # the edge's, made by the rollout
    label = f"label=pinacle.pod={slug}"
    for kind, lister in (
        ("container", ["ps", "-aq"]),
        ("network", ["network", "ls", "-q"]),
        ("volume", ["volume", "ls", "-q"]),
    ):
        ids = docker(*lister, "--filter", label, check=False).split()
        if ids:
            remove = ["rm", "-f"] if kind == "container" else [kind, "rm", "-f"]
            docker(*remove, *ids, check=False)


RUNTIME = os.environ.get("PINACLE_RUNTIME", "runsc")
# Prefixed to every slug the tests make (e.g. PINACLE_TEST_SLUG_PREFIX=perf- on a shared host, so
# the test pods are told from anyone else's).
SLUG_PREFIX = os.environ.get("PINACLE_TEST_SLUG_PREFIX", "")


@pytest.fixture(scope="session")
def docker_with_gvisor() -> None:
    """A Docker engine with the gVisor runtime registered (the image tests build their image first)."""
    if shutil.which("docker") is None:
        pytest.fail("docker CLI not installed: provision the host first")
    info = run("docker", "info", "--format", "{{json .Runtimes}}", check=False, timeout=30)
    if info.returncode != 0:
        pytest.fail(f"Docker engine not reachable: {info.stderr.strip()}")
    if RUNTIME not in json.loads(info.stdout or "{}"):
        pytest.fail(f"Docker has no runtime {RUNTIME!r} registered (pods never fall back to runc)")


@pytest.fixture(scope="session", autouse=True)
def gvisor_host() -> None:
    """Integration tests need the provisioned host; .ci/run provisions it with deploys/vm.py."""
    if shutil.which("docker") is None or run("docker", "info", check=False).returncode != 0:
        pytest.fail("Docker is not running: provision this host first (pyinfra -y inventory/local.py deploys/vm.py)")
    if run("docker", "image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: build it with docker/build-base-image.sh")


@pytest.fixture
def unique_slug() -> Callable[[str], str]:
    def make(prefix: str = "t") -> str:
        return f"{SLUG_PREFIX}{prefix}-{uuid.uuid4().hex[:8]}"

    return make


PodFactory = Callable[..., tuple[Path, dict[str, Any]]]


@pytest.fixture
def pod_file(tmp_path: Path, unique_slug: Callable[[str], str]) -> Iterator[PodFactory]:
    """Write a pod file for a fresh slug; every pod made through it is removed afterwards."""
    slugs: list[str] = []

    def make(prefix: str = "t", **overrides: Any) -> tuple[Path, dict[str, Any]]:
        slug = unique_slug(prefix)
        slugs.append(slug)
        data: dict[str, Any] = {
            "name": f"test pod {slug}",
            "slug": slug,
            "services": ["web-terminal"],
            "ports": [{"name": "app", "port": 3000, "command": "python3 -m http.server 3000 --directory /workspace"}],
            "resources": {"cpus": 1, "memory": "512m"},
        }
        data.update(overrides)
        path = tmp_path / f"{slug}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path, data

    yield make
    for slug in slugs:
        remove_pod_resources(slug)


def deploy_json(path: Path) -> dict[str, Any]:
    result = pinacle_deploy(str(path), "--json")
    payload: dict[str, Any] = json.loads(result.stdout)
    return payload


def ttyd_echo(host_port: int, host: str, command: str, expect: str, origin: str | None = None) -> str:
    """Run one command in a pod's ttyd terminal through the pod's router; what the terminal printed.

    The URL carries the pod's host name (the router routes on it) and the connection goes to
    loopback, as a browser resolving ``*.localhost`` would. The Origin defaults to the pod host
    name itself, as a browser on that page would send it.
    """
    return ttyd_output(
        f"ws://{host}:{host_port}/ws",
        command + "\r",
        expect,
        origin=origin or f"http://{host}:{host_port}",
        connect_to=("127.0.0.1", host_port),
    )
