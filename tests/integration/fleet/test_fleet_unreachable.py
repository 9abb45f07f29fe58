"""A fleet host whose sshd is stopped: pinacle names it as unreachable instead of answering for the rest."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.fleet.conftest import Fleet, FleetHost, fleet_sh, pinacle

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def unreachable(fleet: Fleet) -> Iterator[FleetHost]:
    """The fleet's last host with its sshd stopped (its engine keeps running); started again after."""
    host = fleet.hosts[-1]
    fleet_sh("stop-sshd", str(host.number))
    try:
        yield host
    finally:
        fleet_sh("up", str(len(fleet.hosts)))


def assert_names_unreachable(result_stderr: str, host: FleetHost) -> None:
    assert f"{host.name}: Could not connect" in result_stderr and host.address in result_stderr
    assert "Traceback" not in result_stderr


def test_list_over_the_fleet_fails_naming_the_unreachable_host(unreachable: FleetHost) -> None:
    result = pinacle("list", check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "cannot reach 1 of 3 host(s)" in result.stderr
    assert_names_unreachable(result.stderr, unreachable)


def test_deploy_to_the_unreachable_host_fails_naming_it(unreachable: FleetHost, tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text("name: never deployed\nslug: fleet-unreachable\nservices: [web-terminal]\n")
    result = pinacle("deploy", str(path), hosts=(unreachable,), check=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert_names_unreachable(result.stderr, unreachable)


def test_the_other_hosts_stay_reachable(fleet: Fleet, unreachable: FleetHost) -> None:
    reachable = tuple(host for host in fleet.hosts if host != unreachable)
    assert pinacle("list", hosts=reachable).returncode == 0
