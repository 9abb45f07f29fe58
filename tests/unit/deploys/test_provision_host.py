"""The host deploy's host data: every key documented, and the inventories use real values."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import pytest

from pinacle.deploys.host import HOST_DATA_DEFAULTS, provision_host
from pinacle.fleet.placement import placement_host_data
from pinacle.hostspec import RUNSC_SOURCES, HostSettings, host_settings

INVENTORY = Path(__file__).resolve().parents[3] / "inventory"


def test_every_host_data_key_is_named_in_the_deploy_docstring() -> None:
    doc = provision_host.__doc__ or ""
    for key in HostSettings.model_fields:
        assert f"``{key}``" in doc, key


def test_every_runsc_source_is_documented_where_it_is_chosen() -> None:
    for doc in (provision_host.__doc__ or "", HostSettings.__doc__ or ""):
        for name in RUNSC_SOURCES:
            assert f"``{name}``" in doc, name


def test_data_defaults_are_the_production_defaults() -> None:
    assert host_settings(HOST_DATA_DEFAULTS) == HostSettings()
    assert HOST_DATA_DEFAULTS["runsc_source"] == "release"


def test_this_machine_takes_trixies_runsc_with_the_host_network() -> None:
    ((_name, data),) = runpy.run_path(str(INVENTORY / "local.py"))["local"]
    settings = host_settings(data)
    assert settings.runsc_source == "debian-trixie"
    assert settings.runtime_args == ("--network=host", "--overlay2=none")


def test_production_example_keeps_the_verified_release() -> None:
    inventory = runpy.run_path(str(INVENTORY / "production.example.py"))
    assert host_settings(inventory["_POD_HOST_DATA"]).runsc_source == "release"


def fleet_inventory(monkeypatch: pytest.MonkeyPatch, hosts: str = "") -> dict[str, Any]:
    monkeypatch.setenv("PINACLE_FLEET_HOSTS", hosts)
    return runpy.run_path(str(INVENTORY / "fleet-test.py"))


def test_fleet_hosts_have_their_own_address_and_pools(monkeypatch: pytest.MonkeyPatch) -> None:
    hosts, group = fleet_inventory(monkeypatch)["fleet"]
    addresses = {data["ssh_hostname"] for _name, data in hosts}
    pools = [host_settings({**group, **data}).docker_address_pools for _name, data in hosts]
    assert len(addresses) == len(hosts) == 3
    assert len(set(pools)) == 3 and all(len(p) == 1 for p in pools)


def test_fleet_hosts_do_not_refresh_the_shared_package_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    hosts, group = fleet_inventory(monkeypatch)["fleet"]
    assert {host_settings({**group, **data}).apt_update for _name, data in hosts} == {False}


def test_fleet_hosts_carry_their_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    hosts, _group = fleet_inventory(monkeypatch)["fleet"]
    assert {name: data["host_labels"] for name, data in hosts} == {
        "fleet-host1": {"zone": "a"},
        "fleet-host2": {"zone": "b"},
        "fleet-host3": {"zone": "b", "gpu": "no"},
    }


def test_fleet_inventory_keeps_the_hosts_named_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    hosts, _group = fleet_inventory(monkeypatch, "fleet-host3, fleet-host1")["fleet"]
    assert [name for name, _data in hosts] == ["fleet-host3", "fleet-host1"]


def test_fleet_inventory_refuses_an_unknown_host_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="PINACLE_FLEET_HOSTS names no fleet host: fleet-host9"):
        fleet_inventory(monkeypatch, "fleet-host9")


def test_fleet_hosts_are_valid_placement_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    hosts, group = fleet_inventory(monkeypatch)["fleet"]
    labels = {name: placement_host_data(name, {**group, **data}).host_labels for name, data in hosts}
    assert labels["fleet-host3"] == {"zone": "b", "gpu": "no"}
