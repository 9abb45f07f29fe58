"""Day-2 deploys: stop, start, delete, snapshot and restore a pod, each as a ``@deploy``."""

from __future__ import annotations

from pyinfra.api import deploy

from pinacle.operations import lifecycle as ops
from pinacle.operations import pod as pod_ops
from pinacle.plan import PodPlan


@deploy("Stop pod")
def stop_pod(slug: str) -> None:
    ops.pod_stopped(name=f"Stop pod {slug}", slug=slug)


@deploy("Start pod")
def start_pod(slug: str) -> None:
    ops.pod_started(name=f"Start pod {slug}", slug=slug)


@deploy("Delete pod")
def delete_pod(slug: str, purge: bool = False) -> None:
    ops.pod_removed(name=f"Delete pod {slug}", slug=slug, purge=purge)


@deploy("Snapshot pod")
def snapshot_pod(slug: str, snapshot: str, runtime: str, labels: dict[str, str], created: str) -> None:
    ops.pod_snapshot(
        name=f"Snapshot {slug} as {snapshot}",
        slug=slug,
        snapshot=snapshot,
        runtime=runtime,
        labels=labels,
        created=created,
    )


@deploy("Delete snapshot")
def delete_snapshot(snapshot: str, image: str | None) -> None:
    ops.snapshot_removed(name=f"Delete snapshot {snapshot}", snapshot=snapshot, image=image)


@deploy("Restore pod")
def restore_pod(plan: PodPlan, archive: str) -> None:
    """The rollout of ``roll_out_pod``, with the workspace filled before the container starts."""
    pod_ops.pod_network(name=f"Network {plan.network}", plan=plan)
    pod_ops.pod_volume(name=f"Volume {plan.volume}", plan=plan)
    ops.workspace_restored(name=f"Workspace from {archive}", plan=plan, archive=archive)
    pod_ops.pod_container(name=f"Container {plan.container.name} ({plan.container.runtime})", plan=plan)
    pod_ops.pod_router(name="Router config", plan=plan)
    pod_ops.pod_services(name="Services", plan=plan)
