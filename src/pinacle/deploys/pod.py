"""Pod deploys: roll out one pod's resources in the order they depend on each other; stop, start
and delete a pod."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyinfra import host
from pyinfra.api import deploy

from pinacle.operations import edge as edge_ops
from pinacle.operations import pod as pod_ops
from pinacle.operations import snapshot as snapshot_ops
from pinacle.pod.diff import PodDiff


@deploy("Roll out pod")
def roll_out_pod(diff: PodDiff, image_id: str | None, workspace_archive: str | None = None) -> None:
    """Network, gVisor container (configured before it starts), live config changes, host record.

    With ``workspace_archive`` (a restore), the volume is filled from it before the container
    first starts.
    """
    plan = diff.plan
    pod_ops.pod_network(name=f"Network {plan.network}", diff=diff)
    if workspace_archive is not None:
        snapshot_ops.workspace_restored(
            name=f"Workspace from {workspace_archive}", plan=plan, archive=workspace_archive
        )
    pod_ops.pod_container(
        name=f"Container {plan.container.name} ({plan.container.runtime})", diff=diff, image_id=image_id
    )
    pod_ops.pod_config(name="Router and services", diff=diff)
    pod_ops.pod_record(name="Pod record", diff=diff)


@deploy("Roll out pods")
def roll_out_pods(diffs: Mapping[str, Sequence[tuple[PodDiff, str | None]]]) -> None:
    """Several pods in one run (``pinacle-deploy a.yaml b.yaml``): this host's diffs, pod by pod.

    + diffs: host name -> (diff, image ID) of each pod with something to do on that host
    """
    for diff, image_id in diffs.get(host.name, ()):
        roll_out_pod(diff=diff, image_id=image_id)
    refresh_edge()


def refresh_edge() -> None:
    """The last step of every deploy that changes which pods run: the edge's pod table follows."""
    edge_ops.edge_table_refreshed(name="Edge pod table")


@deploy("Stop pod")
def stop_pod(slug: str) -> None:
    pod_ops.pod_stopped(name=f"Stop pod {slug}", slug=slug)
    refresh_edge()


@deploy("Start pod")
def start_pod(slug: str) -> None:
    pod_ops.pod_started(name=f"Start pod {slug}", slug=slug)
    refresh_edge()


@deploy("Delete pod")
def delete_pod(slug: str, purge: bool = False) -> None:
    pod_ops.pod_removed(name=f"Delete pod {slug}", slug=slug, purge=purge)
    refresh_edge()


@deploy("Delete pods")
def delete_pods(pods: Mapping[str, Sequence[tuple[str, bool]]]) -> None:
    """Several pods at once: host name -> (slug, purge) of each pod to remove on that host."""
    for slug, purge in pods.get(host.name, ()):
        pod_ops.pod_removed(name=f"Delete pod {slug}", slug=slug, purge=purge)
    refresh_edge()
