"""The pod deploy: one pod's resources, in the order they depend on each other."""

from __future__ import annotations

from pyinfra.api import deploy

from pinacle.operations import lifecycle as lifecycle_ops
from pinacle.operations import pod as pod_ops
from pinacle.plan import PodPlan


@deploy("Roll out pod")
def roll_out_pod(plan: PodPlan, workspace_archive: str | None = None) -> None:
    """Network, workspace volume, gVisor container, router config, services, then the pod record.

    With ``workspace_archive`` (a restore), the volume is filled from it before the container
    first starts.
    """
    pod_ops.pod_network(name=f"Network {plan.network}", plan=plan)
    pod_ops.pod_volume(name=f"Volume {plan.volume}", plan=plan)
    if workspace_archive is not None:
        lifecycle_ops.workspace_restored(
            name=f"Workspace from {workspace_archive}", plan=plan, archive=workspace_archive
        )
    pod_ops.pod_container(name=f"Container {plan.container.name} ({plan.container.runtime})", plan=plan)
    pod_ops.pod_router(name="Router config", plan=plan)
    pod_ops.pod_services(name="Services", plan=plan)
    pod_ops.pod_metadata(name="Pod record", plan=plan)
