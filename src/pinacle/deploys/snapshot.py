"""Snapshot deploys: snapshot a pod, delete a snapshot, restore a pod from one."""

from __future__ import annotations

from collections.abc import Mapping

from pyinfra import host
from pyinfra.api import deploy

from pinacle.deploys.pod import roll_out_pod
from pinacle.operations import pod as pod_ops
from pinacle.operations import snapshot as snapshot_ops
from pinacle.pod.diff import PodDiff


@deploy("Snapshot pod")
def snapshot_pod(slug: str, snapshot: str, runtime: str, labels: dict[str, str], created: str) -> None:
    snapshot_ops.pod_snapshot(
        name=f"Snapshot {slug} as {snapshot}",
        slug=slug,
        snapshot=snapshot,
        runtime=runtime,
        labels=labels,
        created=created,
    )


@deploy("Delete snapshot")
def delete_snapshot(snapshot: str, image: str | None) -> None:
    snapshot_ops.snapshot_removed(name=f"Delete snapshot {snapshot}", snapshot=snapshot, image=image)


@deploy("Restore pod")
def restore_pod(diffs: Mapping[str, tuple[PodDiff, str | None]], archive: str, replace: bool = False) -> None:
    """Roll out this host's diff with its workspace from ``archive``; with ``replace``, first remove
    the pod of that slug and its workspace (one deploy: pyinfra runs a state's operations once).

    + diffs: host name -> (diff, image ID), each made against a host without the pod
    """
    diff, image_id = diffs[host.name]
    if replace:
        pod_ops.pod_removed(name=f"Remove pod {diff.plan.slug} to replace it", slug=diff.plan.slug, purge=True)
    roll_out_pod(diff=diff, image_id=image_id, workspace_archive=archive)
