"""pinacle: provision gVisor pod hosts and roll out sandboxed development pods with pyinfra.

The public Python API (see the README's "Python API" section)::

    from pinacle import PodManager, PodSpec

Every name in ``__all__`` is public and stays importable from ``pinacle``; a name that is retired
moves to ``_DEPRECATED`` and keeps working, with a DeprecationWarning, for at least one minor
release. Names load on first use, so ``import pinacle`` (and the CLI's ``--help``) stays fast.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pinacle.api import PodManager, PodSource
    from pinacle.errors import (
        ConflictError,
        DeployError,
        HealthError,
        HostError,
        PinacleError,
        PodNotFound,
        PortClaimLost,
        SnapshotNotFound,
        SpecError,
        TargetError,
        UsageError,
    )
    from pinacle.export.k8s import KubernetesOptions
    from pinacle.pod.diff import Action
    from pinacle.pod.settings import DeploySettings
    from pinacle.progress import ProgressEvent
    from pinacle.records import (
        DoctorCheck,
        ExecResult,
        HostReport,
        LoginLink,
        PlannedChange,
        PodPlanResult,
        PodRollout,
        PodStatus,
        PodToken,
        ServiceStatus,
        SnapshotInfo,
    )
    from pinacle.spec import AppPortSpec, PodSpec, ResourceSpec

# public name -> the module that defines it
_PUBLIC = {
    "PodManager": "pinacle.api",
    "PodSource": "pinacle.api",
    "PodSpec": "pinacle.spec",
    "AppPortSpec": "pinacle.spec",
    "ResourceSpec": "pinacle.spec",
    "DeploySettings": "pinacle.pod.settings",
    "KubernetesOptions": "pinacle.export.k8s",
    "ProgressEvent": "pinacle.progress",
    "Action": "pinacle.pod.diff",
    "PodStatus": "pinacle.records",
    "ServiceStatus": "pinacle.records",
    "PodRollout": "pinacle.records",
    "PodPlanResult": "pinacle.records",
    "PlannedChange": "pinacle.records",  # pinacle.pod.diff.Change
    "SnapshotInfo": "pinacle.records",
    "HostReport": "pinacle.records",
    "DoctorCheck": "pinacle.records",
    "ExecResult": "pinacle.records",
    "PodToken": "pinacle.records",
    "LoginLink": "pinacle.records",
    "PinacleError": "pinacle.errors",
    "SpecError": "pinacle.errors",
    "UsageError": "pinacle.errors",
    "ConflictError": "pinacle.errors",
    "TargetError": "pinacle.errors",
    "HostError": "pinacle.errors",
    "DeployError": "pinacle.errors",
    "PortClaimLost": "pinacle.errors",
    "PodNotFound": "pinacle.errors",
    "SnapshotNotFound": "pinacle.errors",
    "HealthError": "pinacle.errors",
}

# retired name -> (module, name it lives on as, what to use instead); empty while nothing is retired
_DEPRECATED: dict[str, tuple[str, str, str]] = {}

__all__ = [
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
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # once loaded, a plain module attribute
        return value
    if name in _DEPRECATED:
        module, attribute, instead = _DEPRECATED[name]
        warnings.warn(f"pinacle.{name} is deprecated; use {instead}", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(module), attribute)
    raise AttributeError(f"module 'pinacle' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
