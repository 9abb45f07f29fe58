"""Operations on snapshots: take one of a pod, remove one, restore a workspace from one.

Like the pod operations, each reads facts when it runs and yields only what is needed.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Generator, Mapping

from pyinfra import host
from pyinfra.api import operation

from pinacle.facts.host import DockerImageId
from pinacle.facts.pod import PodContainer
from pinacle.pod.desired import PodPlan
from pinacle.pod.names import (
    LABEL_POD,
    LABEL_PORT,
    LABEL_SPEC_FIELDS,
    LABEL_SPEC_HASH,
    WORKSPACE,
    container_name,
    volume_name,
    workspace_mount,
)
from pinacle.snapshots import (
    LABEL_SNAPSHOT_CREATED,
    LABEL_SNAPSHOT_LABELS,
    LABEL_SNAPSHOT_NAME,
    LABEL_SNAPSHOT_OF,
    LABEL_SNAPSHOT_SPEC,
    SNAPSHOT_DIR,
    snapshot_archive,
    snapshot_image,
    snapshot_tmp_image,
)


def dockerfile_label(key: str, value: str) -> str:
    """A ``LABEL`` instruction for ``docker commit --change``: the value double-quoted, escaped."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'LABEL {key}="{escaped}"'


def snapshot_script(
    slug: str,
    name: str,
    runtime: str,
    labels: Mapping[str, str],
    created: str,
) -> str:
    """Commit the container and archive its workspace; publish both only once both succeeded.

    The image is committed under a temporary repository and the archive written as ``.part``; the
    final tag is the commit point. Any failure (or a pre-existing snapshot of that name) removes
    the temporaries and leaves no image under the final name.
    """
    container = shlex.quote(container_name(slug))
    tmp = shlex.quote(snapshot_tmp_image(slug, name))
    final = shlex.quote(snapshot_image(slug, name))
    archive = shlex.quote(snapshot_archive(name))
    part = shlex.quote(snapshot_archive(name) + ".part")
    source_labels = {k: v for k, v in sorted(labels.items()) if k.startswith("pinacle.") and k != LABEL_SNAPSHOT_SPEC}
    changes = [
        # The image must not look like a pod: a helper started from it would be counted as one.
        dockerfile_label(LABEL_POD, ""),
        dockerfile_label(LABEL_PORT, ""),
        dockerfile_label(LABEL_SPEC_HASH, ""),
        dockerfile_label(LABEL_SPEC_FIELDS, ""),
        dockerfile_label(LABEL_SNAPSHOT_OF, slug),
        dockerfile_label(LABEL_SNAPSHOT_NAME, name),
        dockerfile_label(LABEL_SNAPSHOT_CREATED, created),
        dockerfile_label(LABEL_SNAPSHOT_LABELS, json.dumps(source_labels, sort_keys=True)),
        dockerfile_label(LABEL_SNAPSHOT_SPEC, labels[LABEL_SNAPSHOT_SPEC]),
    ]
    change_args = " ".join(f"--change {shlex.quote(c)}" for c in changes)
    exists = shlex.quote(f"pinacle: snapshot {name} already exists; pick another name")
    return (
        "set -e; "
        f"cleanup() {{ docker rmi {tmp} >/dev/null 2>&1 || true; rm -f {part}; "
        f"docker image inspect {final} >/dev/null 2>&1 || rm -f {archive}; }}; "
        "trap cleanup EXIT; "
        f"if docker image inspect {final} >/dev/null 2>&1; then echo {exists} >&2; exit 1; fi; "
        f"mkdir -p {shlex.quote(SNAPSHOT_DIR)}; "
        f"docker commit {change_args} {container} {tmp} >/dev/null; "
        f"docker run --rm --runtime {shlex.quote(runtime)} --network none --user 0 "
        f"--entrypoint tar --label {LABEL_POD}= "
        f"-v {shlex.quote(volume_name(slug))}:{WORKSPACE}:ro "
        f"-v {shlex.quote(SNAPSHOT_DIR)}:/snapshots "
        f"{tmp} -C {WORKSPACE} -cf {shlex.quote('/snapshots/' + name + '.tar.part')} .; "
        f"mv -f {part} {archive}; "
        f"docker tag {tmp} {final}"
    )


@operation()
def pod_snapshot(
    slug: str, snapshot: str, runtime: str, labels: dict[str, str], created: str
) -> Generator[str, None, None]:
    """
    Snapshot a pod: ``docker commit`` to ``pinacle-snapshot/<slug>:<name>`` plus its workspace
    volume archived to ``/var/lib/pinacle/snapshots/<name>.tar``.

    + slug: the pod
    + snapshot: the snapshot's name (unique on the host)
    + runtime: the gVisor runtime the archiving helper runs under
    + labels: the pod's labels, plus ``pinacle.snapshot.spec`` (the pod file it restores to)
    + created: RFC 3339 time recorded on the image
    """
    if host.get_fact(PodContainer, container=container_name(slug)) is None:
        host.noop(f"pod {slug} is not on this host")
        return
    yield "sh -c " + shlex.quote(snapshot_script(slug, snapshot, runtime, labels, created))


@operation()
def snapshot_removed(snapshot: str, image: str | None) -> Generator[str, None, None]:
    """
    Remove a snapshot's image and workspace archive.

    + snapshot: the snapshot's name
    + image: its image reference, None when only the archive is left
    """
    commands = []
    if image and host.get_fact(DockerImageId, image=image) is not None:
        commands.append(f"docker rmi {shlex.quote(image)} >/dev/null")
    commands.append(f"rm -f {shlex.quote(snapshot_archive(snapshot))}")
    yield " && ".join(commands)


@operation()
def workspace_restored(plan: PodPlan, archive: str) -> Generator[str, None, None]:
    """
    Fill a new pod's workspace volume from a snapshot archive, before its container first starts.

    + plan: the new pod's plan (its image is the snapshot image)
    + archive: the workspace tarball on the host

    Restores run against a host without the pod (a replacement removes it first); the helper runs
    under the pod's gVisor runtime and creates the volume labelled as the pod's.
    """
    directory, _, base = archive.rpartition("/")
    script = f"find {WORKSPACE} -mindepth 1 -delete && tar -xpf {shlex.quote('/snapshots/' + base)} -C {WORKSPACE}"
    yield (
        f"docker run --rm --runtime {shlex.quote(plan.container.runtime)} --network none "
        f"--user 0 --entrypoint sh --label {LABEL_POD}= "
        f"--mount {shlex.quote(workspace_mount(plan.slug))} "
        f"-v {shlex.quote(directory)}:/snapshots:ro "
        f"{shlex.quote(plan.container.image)} -c {shlex.quote(script)}"
    )
