"""Operations on snapshots: take one of a pod, clean or remove one, restore a workspace from one.

Like the pod operations, each reads facts when it runs and yields only what is needed. Taking,
cleaning and removing run the host script ``pinacle-snapshot`` (the name's lock, the order of
writes and what a killed run left are its business); a restore is marked on the host before it
creates anything and unmarked after the pod's host record.
"""

from __future__ import annotations

import base64
import shlex
from collections.abc import Generator

from pyinfra import host
from pyinfra.api import StringCommand, operation

from pinacle.facts.pod import PodContainer
from pinacle.operations._shell import write_file_command
from pinacle.operations.staging import staged
from pinacle.pod.desired import PodPlan
from pinacle.pod.names import LABEL_POD, LABEL_RESTORE_HELPER, WORKSPACE, container_name, workspace_mount
from pinacle.pod.restoring import RESTORE_DIR, RestoreMarker, restore_marker_path
from pinacle.snapshots import SNAPSHOT_SCRIPT, restore_helper


def snapshot_command(slug: str, name: str, runtime: str, created: str, manifest: str) -> str:
    """``pinacle-snapshot take``, the manifest on its standard input (base64: no byte reaches a shell)."""
    payload = base64.b64encode(manifest.encode()).decode()
    argv = " ".join(shlex.quote(a) for a in (SNAPSHOT_SCRIPT, "take", slug, name, runtime, created))
    return f"printf %s {payload} | base64 -d | {argv}"


@operation()
def pod_snapshot(
    slug: str, snapshot: str, runtime: str, manifest: str, created: str
) -> Generator[str | StringCommand, None, None]:
    """
    Snapshot a pod: ``docker commit`` to ``pinacle-snapshot/<slug>:<name>``, its workspace volume
    archived to ``/var/lib/pinacle/snapshots/<name>.tar`` and ``manifest`` stored as ``<name>.json``.

    + slug: the pod
    + snapshot: the snapshot's name (unique on the host)
    + runtime: the gVisor runtime the archiving helper runs under
    + manifest: the snapshot's manifest (``snapshots.snapshot_manifest_text``), stored as given
    + created: RFC 3339 time recorded on the image
    """
    if host.get_fact(PodContainer, container=container_name(slug)) is None:
        host.noop(f"pod {slug} is not on this host")
        return
    yield from staged([snapshot_command(slug, snapshot, runtime, created, manifest)])  # a pod file at its bounds


@operation()
def snapshot_removed(snapshot: str) -> Generator[str, None, None]:
    """
    Remove a snapshot: its image, archive and manifest, and whatever an unfinished run left.

    + snapshot: the snapshot's name
    """
    yield f"{SNAPSHOT_SCRIPT} remove {shlex.quote(snapshot)}"


@operation()
def snapshot_cleaned(snapshot: str) -> Generator[str, None, None]:
    """
    Remove what killed or failed runs of a snapshot left; a complete snapshot itself stays.

    + snapshot: the snapshot's name
    """
    yield f"{SNAPSHOT_SCRIPT} clean {shlex.quote(snapshot)}"


def _remove_restore_helper(slug: str) -> str:
    label = shlex.quote(f"{LABEL_RESTORE_HELPER}={slug}")
    return f'ids=$(docker ps -aq --filter label={label}) && {{ [ -z "$ids" ] || docker rm -f $ids >/dev/null; }}'


@operation()
def restore_started(marker: RestoreMarker) -> Generator[str, None, None]:
    """
    Mark pod ``marker.slug`` as being restored, before anything of it is made (and remove the
    workspace helper a killed restore may have left running).

    + marker: the restore (slug, snapshot, the host port a replacement keeps)
    """
    yield (
        _remove_restore_helper(marker.slug)
        + f" && mkdir -p -m 0700 {RESTORE_DIR} && "
        + write_file_command(restore_marker_path(marker.slug), marker.to_json(), mode="0600")
    )


@operation()
def restore_finished(slug: str) -> Generator[str, None, None]:
    """
    Unmark a restored pod, after its host record is written.

    + slug: the pod
    """
    yield f"rm -f {shlex.quote(restore_marker_path(slug))}"


@operation()
def workspace_restored(plan: PodPlan, archive: str) -> Generator[str, None, None]:
    """
    Fill a new pod's workspace volume from a snapshot archive, before its container first starts.

    + plan: the new pod's plan (its image is the snapshot image)
    + archive: the workspace tarball on the host

    The archive is streamed in on standard input: no host directory is mounted into the helper,
    which runs the snapshot's own root filesystem. It runs under the pod's gVisor runtime, is
    named after the pod (``pinacle-restore.<slug>``, removed by a retry) and creates the volume
    labelled as the pod's.
    """
    script = f"find {WORKSPACE} -mindepth 1 -delete && tar -xpf - -C {WORKSPACE}"
    yield (
        f"docker run --rm -i --name {shlex.quote(restore_helper(plan.slug))} "
        f"--label {shlex.quote(f'{LABEL_RESTORE_HELPER}={plan.slug}')} "
        f"--log-driver none --runtime {shlex.quote(plan.container.runtime)} --network none "
        f"--user 0 --entrypoint sh --label {LABEL_POD}= "
        f"--mount {shlex.quote(workspace_mount(plan.slug))} "
        f"{shlex.quote(plan.container.image)} -c {shlex.quote(script)} < {shlex.quote(archive)}"
    )
