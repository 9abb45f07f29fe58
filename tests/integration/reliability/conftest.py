"""Fixtures for the reliability tests: real pods that tests then damage, and teardown by label and
by path (never through the code under test). Each test adds its findings to a session tally that
is printed at the end: tried, refused, converged, leaked."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import REPO, remove_pod_resources
from tests.integration.reliability.tally import TALLY, summary

POD_YAML = """\
name: reliability {slug}
slug: {slug}
services: [web-terminal]
ports:
  - name: app
    port: 3000
    command: python3 -m http.server 3000 --directory /workspace
resources:
  cpus: {cpus}
  memory: 512m
"""


def pinacle(*args: str, check: bool = False, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``pinacle ARGS`` or ``pinacle-deploy ARGS`` (first arg ``deploy``) against @local."""
    module = "pinacle.cli.deploy" if args[0] == "deploy" else "pinacle.cli.main"
    argv = [str(REPO / ".venv/bin/python"), "-m", module, *(args[1:] if args[0] == "deploy" else args)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO, stdin=subprocess.DEVNULL)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr}")
    return done.stdout.strip()


def leftovers(slug: str) -> dict[str, list[str]]:
    """Everything of pod ``slug`` on this host: containers, networks (by name), volumes, record."""
    label = f"label=pinacle.pod={slug}"
    found = {
        "container": docker("ps", "-a", "--filter", label, "--format", "{{.Names}}").split(),
        "network": docker("network", "ls", "--filter", label, "--format", "{{.Name}}").split(),
        "volume": docker("volume", "ls", "--filter", label, "--format", "{{.Name}}").split(),
        "record": [p.name for p in [Path(f"/var/lib/pinacle/pods/{slug}.json")] if p.exists()],
    }
    return {kind: names for kind, names in found.items() if names}


@pytest.fixture
def slugs() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for slug in made:
        remove_pod_resources(slug)


@pytest.fixture
def pod_file(tmp_path: Path, slugs: list[str]) -> Any:
    def make(prefix: str = "rel", cpus: float = 1) -> tuple[str, Path]:
        slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
        slugs.append(slug)
        path = tmp_path / f"{slug}.yaml"
        path.write_text(POD_YAML.format(slug=slug, cpus=cpus))
        return slug, path

    return make


def pod_json(slug: str) -> dict[str, Any]:
    listed = json.loads(pinacle("status", slug, "--json").stdout)
    pod: dict[str, Any] = listed["pods"][0]
    return pod


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY["tried"]:
        terminalreporter.write_line(f"reliability: {summary()}")
