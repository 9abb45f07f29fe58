"""The public surface of ``pinacle``: names are never removed without a deprecation."""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys
import warnings

import pytest

import pinacle

# The public names as released. Removing one from pinacle.__all__ without moving it to
# pinacle._DEPRECATED (where it keeps working, with a warning) fails these tests.
PUBLIC_NAMES = [
    "Action",
    "AppPortSpec",
    "ConflictError",
    "DeployError",
    "DeploySettings",
    "DoctorCheck",
    "ExecResult",
    "HealthError",
    "HostError",
    "HostReport",
    "KubernetesOptions",
    "LoginLink",
    "PinacleError",
    "PlannedChange",
    "PodManager",
    "PodNotFound",
    "PodPlanResult",
    "PodRollout",
    "PodSource",
    "PodSpec",
    "PodStatus",
    "PodToken",
    "PortClaimLost",
    "ProgressEvent",
    "ResourceSpec",
    "ServiceStatus",
    "SnapshotInfo",
    "SnapshotNotFound",
    "SpecError",
    "TargetError",
    "UsageError",
]
POD_MANAGER_METHODS = [
    "apply",
    "create",
    "delete",
    "delete_snapshot",
    "doctor",
    "drain",
    "exec",
    "export_kubernetes",
    "list_pods",
    "list_snapshots",
    "login_url",
    "logs",
    "move",
    "plan",
    "pod_token",
    "prune_snapshots",
    "restore",
    "snapshot",
    "start",
    "status",
    "stop",
    "undrain",
]
RECORDS = ["DoctorCheck", "ExecResult", "HostReport", "PlannedChange", "PodPlanResult", "PodRollout", "PodStatus"]
RECORDS += ["ProgressEvent", "ServiceStatus", "SnapshotInfo", "PodToken", "LoginLink"]
EXIT_CODES = {
    "PinacleError": 1,
    "TargetError": 3,
    "HostError": 4,
    "DeployError": 5,
    "PortClaimLost": 5,
    "HealthError": 6,
    "PodNotFound": 7,
    "SnapshotNotFound": 7,
    "ConflictError": 9,
    "UsageError": 64,
    "SpecError": 65,
}


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_name_is_exported_or_deprecated(name: str) -> None:
    if name in pinacle._DEPRECATED:
        with pytest.warns(DeprecationWarning):
            getattr(pinacle, name)
    else:
        assert name in pinacle.__all__
        assert getattr(pinacle, name) is not None


@pytest.mark.parametrize("name", POD_MANAGER_METHODS)
def test_pod_manager_method_exists(name: str) -> None:
    assert callable(getattr(pinacle.PodManager, name))


def test_every_exported_name_is_listed_here() -> None:
    """A new public name is a promise: add it to PUBLIC_NAMES (and the README's API section)."""
    assert sorted(set(pinacle.__all__) - {"__version__"}) == sorted(PUBLIC_NAMES)
    public_methods = [n for n, _ in inspect.getmembers(pinacle.PodManager, inspect.isfunction) if not n.startswith("_")]
    assert sorted(public_methods) == POD_MANAGER_METHODS


def test_a_deprecated_name_warns_and_still_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(pinacle._DEPRECATED, "OldManager", ("pinacle.api", "PodManager", "pinacle.PodManager"))
    with pytest.warns(DeprecationWarning, match="use pinacle.PodManager"):
        assert pinacle.OldManager is pinacle.PodManager  # type: ignore[attr-defined]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        pinacle.Nope  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize("name", RECORDS)
def test_records_are_frozen(name: str) -> None:
    cls = getattr(pinacle, name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize(("name", "code"), EXIT_CODES.items())
def test_exception_classes_carry_the_cli_exit_codes(name: str, code: int) -> None:
    cls = getattr(pinacle, name)
    assert issubclass(cls, pinacle.PinacleError) and cls.exit_code == code


def test_import_pinacle_loads_neither_pyinfra_nor_pydantic() -> None:
    probe = "import sys, pinacle; print(json.dumps([m in sys.modules for m in ('pyinfra', 'pydantic')]))"
    out = subprocess.run([sys.executable, "-c", f"import json; {probe}"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False, False]


def test_the_package_is_typed() -> None:
    from importlib.resources import files

    assert files("pinacle").joinpath("py.typed").is_file()


def test_no_warning_on_the_public_names() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in PUBLIC_NAMES:
            getattr(pinacle, name)
