"""Fixtures for the day-2 command tests: real pods under gVisor, removed afterwards."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import SLUG_PREFIX

POD_YAML = """\
name: lifecycle test {slug}
slug: {slug}
services: [web-terminal]
ports:
  - name: app
    port: 3000
    command: python3 -m http.server 3000 --directory /workspace
resources:
  memory: 512m
"""

Run = Callable[..., subprocess.CompletedProcess[str]]


def run(
    *args: str, check: bool = True, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a command (``pinacle ...``, ``docker ...``) and return its completed process."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def pinacle_json(*args: str) -> Any:
    return json.loads(run("pinacle", *args, "--json").stdout)


def labelled(slug: str) -> dict[str, list[str]]:
    """Names of every container, network and volume labelled as pod ``slug``."""
    label = f"label=pinacle.pod={slug}"
    return {
        "container": run("docker", "ps", "-a", "--filter", label, "--format", "{{.Names}}").stdout.split(),
        "network": run("docker", "network", "ls", "--filter", label, "--format", "{{.Name}}").stdout.split(),
        "volume": run("docker", "volume", "ls", "--filter", label, "--format", "{{.Name}}").stdout.split(),
    }


def new_slug(prefix: str = "lc") -> str:
    return f"{SLUG_PREFIX}{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def slugs() -> Iterator[list[str]]:
    """Slugs to delete (with --purge) when the test ends, whatever happened."""
    created: list[str] = []
    yield created
    for slug in created:
        run("pinacle", "delete", slug, "--purge", check=False)


@pytest.fixture
def snapshot_names(slugs: list[str]) -> Iterator[list[str]]:
    """Snapshots to delete at the end, after the pods (restored ones use their images).

    This fixture depends on ``slugs``, so pytest tears it down first: it deletes the pods itself,
    or the snapshots would be refused as in use and left behind.
    """
    names: list[str] = []
    yield names
    for slug in slugs:
        run("pinacle", "delete", slug, "--purge", check=False)
    for name in names:
        deleted = run("pinacle", "snapshot", "delete", name, check=False)
        assert deleted.returncode == 0, f"snapshot {name} was left behind: {deleted.stderr}"


@pytest.fixture
def pod_file(tmp_path: Path) -> Callable[[str], Path]:
    def write(slug: str) -> Path:
        path = tmp_path / f"{slug}.yaml"
        path.write_text(POD_YAML.format(slug=slug))
        return path

    return write


@pytest.fixture
def pod(slugs: list[str], pod_file: Callable[[str], Path]) -> dict[str, Any]:
    """A running pod (web terminal + a Python app on 3000); its deploy JSON plus ``slug``."""
    slug = new_slug()
    slugs.append(slug)
    result = json.loads(run("pinacle-deploy", str(pod_file(slug)), "--json").stdout)
    return {"slug": slug, **result["pods"][0]}
