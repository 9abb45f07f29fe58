"""Fixtures for the Python API tests: a PodManager on this machine, and teardown that does not
trust the code under test (by label and by path, as the other integration tests do)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.conftest import remove_pod_resources

from pinacle import PodManager, PodSpec

SNAPSHOT_DIR = Path("/var/lib/pinacle/snapshots")


def remove_snapshot(name: str) -> None:
    images = subprocess.run(
        ["docker", "images", "-q", "--filter", f"label=pinacle.snapshot.name={name}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if images:
        subprocess.run(["docker", "rmi", "-f", *images], capture_output=True, check=False)
    (SNAPSHOT_DIR / f"{name}.tar").unlink(missing_ok=True)


def new_slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def terminal_spec(slug: str, **fields: object) -> PodSpec:
    """A small pod: the web terminal and a Python web server over the workspace."""
    return PodSpec.model_validate(
        {
            "name": f"API test {slug}",
            "slug": slug,
            "services": ["web-terminal"],
            "ports": [{"name": "app", "port": 3000, "command": "python3 -m http.server 3000 --directory /workspace"}],
            "resources": {"cpus": 1, "memory": "512m"},
            **fields,
        }
    )


@pytest.fixture
def manager() -> PodManager:
    return PodManager("@local", timeout=120)


@pytest.fixture
def cleanup() -> Iterator[list[str]]:
    """Slugs and snapshot names (``snapshot:NAME``) to remove when the test ends, whatever happened."""
    made: list[str] = []
    yield made
    for item in made:
        if not item.startswith("snapshot:"):
            remove_pod_resources(item)
    for item in made:
        if item.startswith("snapshot:"):
            remove_snapshot(item.removeprefix("snapshot:"))
