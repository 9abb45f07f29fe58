"""The host deploy's host data: every key documented, and the inventories use real values."""

from __future__ import annotations

import runpy
from pathlib import Path

from pinacle.deploys.host import HOST_DATA_DEFAULTS, provision_host
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
