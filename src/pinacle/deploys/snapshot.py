"""Snapshot deploys: snapshot a pod, delete or clean snapshots, restore a pod from one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyinfra import host
from pyinfra.api import deploy

from pinacle.deploys.pod import refresh_edge, roll_out_pod
from pinacle.operations import pod as pod_ops
from pinacle.operations import snapshot as snapshot_ops
from pinacle.pod.diff import PodDiff
from pinacle.pod.restoring import RestoreMarker


@deploy("Snapshot pod")
def snapshot_pod(slug: str, snapshot: str, runtime: str, manifest: str, created: str) -> None:
    snapshot_ops.pod_snapshot(
        name=f"Snapshot {slug} as {snapshot}",
        slug=slug,
        snapshot=snapshot,
        runtime=runtime,
        manifest=manifest,
        created=created,
    )


@deploy("Delete snapshot")
def delete_snapshot(snapshot: str) -> None:
    snapshot_ops.snapshot_removed(name=f"Delete snapshot {snapshot}", snapshot=snapshot)


@deploy("Clean snapshot leftovers")
def clean_snapshots(names: Mapping[str, Sequence[str]]) -> None:
    """+ names: host name -> the snapshot names whose leftovers to remove there"""
    for name in names.get(host.name, ()):
        snapshot_ops.snapshot_cleaned(name=f"Clean snapshot {name}", snapshot=name)


@deploy("Restore pod")
def restore_pod(
    diffs: Mapping[str, tuple[PodDiff, str | None]],
    archive: str,
    markers: Mapping[str, RestoreMarker],
    replace: bool = False,
) -> None:
    """Roll out this host's diff with its workspace from ``archive``; with ``replace``, first remove
    the pod of that slug and its workspace (one deploy: pyinfra runs a state's operations once).

    The restore is marked on the host first and unmarked after the pod's host record: a restore
    killed in between is recognised, and finished, by the next one.

    + diffs: host name -> (diff, image ID), each made against a host without the pod
    + markers: host name -> the restore marker to write there
    """
    diff, image_id = diffs[host.name]
    slug = diff.plan.slug
    snapshot_ops.restore_started(name=f"Mark pod {slug} as being restored", marker=markers[host.name])
    if replace:
        # The marker just written stays: it keeps the replaced pod's port until the new pod holds it.
        pod_ops.pod_removed(name=f"Remove pod {slug} to replace it", slug=slug, purge=True, keep_restore_marker=True)
    roll_out_pod(diff=diff, image_id=image_id, workspace_archive=archive)
    snapshot_ops.restore_finished(name=f"Pod {slug} is restored", slug=slug)
    refresh_edge()


@deploy("Remove a moved pod")
def remove_moved_pod(slug: str, snapshots: Sequence[str]) -> None:
    """The pod a move carried away, with its workspace, and the move snapshots it leaves on this host:
    one deploy, so the host is visited once (the snapshots go after the pod whose image one may be)."""
    pod_ops.pod_removed(name=f"Delete pod {slug}", slug=slug, purge=True)
    for snapshot in snapshots:
        snapshot_ops.snapshot_removed(name=f"Delete snapshot {snapshot}", snapshot=snapshot)
    refresh_edge()
