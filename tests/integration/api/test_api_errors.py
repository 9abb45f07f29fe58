"""Every failure the API raises is a class of one documented tree, with the CLI's exit code; each
is provoked here for real, and none leaves a pod behind."""

from __future__ import annotations

import subprocess

import pytest
from tests.integration.api.conftest import new_slug, terminal_spec

from pinacle import (
    ConflictError,
    DeployError,
    HealthError,
    HostError,
    PinacleError,
    PodManager,
    PodNotFound,
    SnapshotNotFound,
    SpecError,
    TargetError,
    UsageError,
)


def containers_of(slug: str) -> list[str]:
    return subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=pinacle.pod={slug}"], capture_output=True, text=True, check=True
    ).stdout.split()


def test_a_malformed_mapping_is_a_spec_error_before_any_host_is_touched(manager: PodManager) -> None:
    with pytest.raises(SpecError, match=r"slug") as raised:
        manager.create({"name": "bad", "slug": "Not A Slug", "services": ["web-terminal"]})
    assert raised.value.exit_code == 65 and isinstance(raised.value, PinacleError)
    assert not containers_of("Not A Slug")


def test_a_missing_inventory_is_a_target_error() -> None:
    with pytest.raises(TargetError) as raised:
        PodManager("/nonexistent/inventory.py").list_pods()
    assert raised.value.exit_code == 3


def test_an_image_without_the_pods_services_is_a_host_error(manager: PodManager, cleanup: list[str]) -> None:
    slug = new_slug("api-err")
    cleanup.append(slug)
    with pytest.raises(HostError, match="code-server") as raised:
        manager.create(terminal_spec(slug, services=["code-server"], image="pinacle/base:latest"))
    assert raised.value.exit_code == 4
    assert not containers_of(slug)


def test_an_operation_docker_refuses_is_a_deploy_error(manager: PodManager, cleanup: list[str]) -> None:
    slug = new_slug("api-err")
    cleanup.append(slug)
    # Valid for the schema (at most 64), more than this 2-core machine has: `docker create` refuses it.
    with pytest.raises(DeployError, match="CPU") as raised:
        manager.create(terminal_spec(slug, resources={"cpus": 63, "memory": "512m"}))
    assert raised.value.exit_code == 5
    assert not containers_of(slug)


def test_services_that_never_answer_are_a_health_error(manager: PodManager, cleanup: list[str]) -> None:
    slug = new_slug("api-err")
    cleanup.append(slug)
    silent = [{"name": "app", "port": 3000, "command": "sleep 600"}]
    with pytest.raises(HealthError, match="app") as raised:
        manager.create(terminal_spec(slug, ports=silent), timeout=4)
    assert raised.value.exit_code == 6


def test_an_unknown_pod_is_pod_not_found(manager: PodManager) -> None:
    with pytest.raises(PodNotFound) as raised:
        manager.status("no-such-pod")
    assert raised.value.exit_code == 7


def test_an_unknown_snapshot_is_snapshot_not_found(manager: PodManager) -> None:
    with pytest.raises(SnapshotNotFound) as raised:
        manager.restore("no-such-snapshot")
    assert raised.value.exit_code == 7 and isinstance(raised.value, PodNotFound)


def test_an_existing_pod_is_a_conflict(manager: PodManager, cleanup: list[str]) -> None:
    slug = new_slug("api-err")
    cleanup.append(slug)
    manager.create(terminal_spec(slug))
    with pytest.raises(ConflictError) as raised:
        manager.create(terminal_spec(slug))
    assert raised.value.exit_code == 9


def test_an_empty_command_is_a_usage_error(manager: PodManager) -> None:
    with pytest.raises(UsageError) as raised:
        manager.exec("no-such-pod", [])
    assert raised.value.exit_code == 64
