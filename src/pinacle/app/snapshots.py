"""Snapshots on a target: take, list, find, delete them, and restore a pod from one."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.app.pods import pods, require_docker, require_pod
from pinacle.app.rollout import CLAIM_ATTEMPTS, Step, quiet
from pinacle.errors import ConflictError, HostError, PortClaimLost, SnapshotNotFound, TargetError
from pinacle.pod.desired import PodPlan, plan_pod
from pinacle.pod.diff import PodDiff, diff_pod
from pinacle.pod.observed import ObservedPod
from pinacle.pod.report import pod_record, spec_from_data
from pinacle.pod.settings import DeploySettings
from pinacle.readers.host import path_exists
from pinacle.readers.pod import pod_objects
from pinacle.readers.snapshot import image_env_of, program_commands_of, snapshot_images
from pinacle.snapshots import (
    LABEL_SNAPSHOT_SPEC,
    SnapshotRecord,
    check_snapshot_name,
    default_snapshot_name,
    snapshot_archive,
    snapshot_spec_data,
)

if TYPE_CHECKING:
    from pinacle.deploys import snapshot as deploys
else:  # pyinfra is imported only when a deploy runs
    deploys = executor.lazy_module("pinacle.deploys.snapshot")


def snapshots(session: executor.Session) -> list[tuple[Any, SnapshotRecord]]:
    require_docker(session)
    return [(h, s) for h in session.hosts for s in session.read(h, snapshot_images())]


def find_snapshot(session: executor.Session, name: str) -> list[tuple[Any, SnapshotRecord]]:
    wanted = name.split(":")[-1].split("/")[-1] if "/" in name else name
    return [(h, s) for h, s in snapshots(session) if wanted in (s.name, s.image)]


def snapshot(session: executor.Session, slug: str, name: str | None = None) -> list[dict[str, Any]]:
    """Snapshot pod ``slug`` as ``name`` (default ``<slug>-<UTC time>``); the new records."""
    name = check_snapshot_name(name or default_snapshot_name(slug))
    require_pod(session, slug, "nothing to snapshot")
    found = pods(session, slug)
    if find_snapshot(session, name):
        raise ConflictError(f"snapshot {name} already exists; pick another name or delete it")
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(found) > 1:
        raise TargetError(f"pod {slug} is on several hosts; snapshot it with -i HOST")
    for host, record in found:
        commands: dict[str, str] = {}
        image_env: list[str] = []
        if record.spec_data is None:  # pod.json unreadable: rebuild the pod file from what Docker shows
            commands = session.read(host, program_commands_of(record.name)) if record.running else {}
            image_env = session.read(host, image_env_of(record.image))
        data = snapshot_spec_data(record, commands, image_env)
        labels = {**record.labels, LABEL_SNAPSHOT_SPEC: json.dumps(data, sort_keys=True)}
        session.apply(
            deploys.snapshot_pod,
            slug=slug,
            snapshot=name,
            runtime=record.runtime or "runsc",
            labels=labels,
            created=created,
        )
    return [s.to_json() | {"host": h.name} for h, s in find_snapshot(session, name)]


def _restore_once(session: executor.Session, plan: PodPlan, archive: str, replace: bool) -> None:
    diffs: dict[str, tuple[PodDiff, str | None]] = {}
    for host in session.hosts:
        state = executor.observe_pods(host, (plan.container.image,))
        image_id, services = state.images.get(plan.container.image, (None, None))
        # Against a host without the pod: a replacement removes it first, in the same deploy.
        diff = diff_pod(plan, ObservedPod(image_id=image_id, image_services=services), state.taken_ports())
        if diff.problem:
            raise HostError(f"{host.name}: pod {plan.slug}: {diff.problem}")
        diffs[host.name] = (diff, image_id)
    session.apply(deploys.restore_pod, diffs=diffs, archive=archive, replace=replace)


def delete_snapshot(session: executor.Session, name: str) -> bool:
    found = find_snapshot(session, name)
    orphan = any(session.read(h, path_exists(snapshot_archive(name))) for h in session.hosts)
    if not found and not orphan:
        return False
    image = found[0][1].image if found else None
    users = [r.slug for _h, r in pods(session) if image and r.image == image]
    if users:
        raise ConflictError(f"snapshot {name} is the image of pod(s) {', '.join(users)}; delete them first")
    session.apply(deploys.delete_snapshot, snapshot=found[0][1].name if found else name, image=image)
    return True


def restore(
    session: executor.Session,
    name: str,
    new_slug: str | None = None,
    timeout: float = 180.0,
    step: Step = quiet,
    replace: bool = False,
) -> list[dict[str, Any]]:
    """Create pod ``new_slug`` (default: the snapshot's source) from snapshot ``name``.

    An existing pod (or its kept workspace volume) of that slug is refused unless ``replace``:
    then it is deleted with its workspace and brought back from the snapshot on its own host port.
    """
    found = find_snapshot(session, name)
    if not found:
        raise SnapshotNotFound(f"no snapshot {name} on {session.target}; see `pinacle snapshot list`")
    if len(session.hosts) > 1 and len(found) != len(session.hosts):
        raise TargetError(f"snapshot {name} is not on every host of {session.target}; pick one")
    record = found[0][1]
    slug = new_slug or record.source
    kept_port: int | None = None
    for host in session.hosts:
        objects = session.read(host, pod_objects(slug))
        if any(objects.values()) and not replace:
            raise ConflictError(
                f"pod {slug} (or its kept workspace volume) exists on {host.name}: restore --as another "
                f"slug, or --replace to roll it back to the snapshot (its workspace is overwritten)"
            )
    if replace:
        ports = {r.host_port for _h, r in pods(session, slug) if r.host_port is not None}
        kept_port = ports.pop() if len(ports) == 1 else None  # hosts that disagree each get a free port
    spec = spec_from_data(record.spec_data(), slug=slug, image=record.image, host_port=kept_port)
    plan = plan_pod(spec, DeploySettings.from_env())
    step(f"restoring {record.name} as pod {slug}" + (" (replacing it)" if replace else ""))
    with contextlib.ExitStack() as retries:
        for attempt in range(1, CLAIM_ATTEMPTS + 1):
            try:
                _restore_once(session, plan, snapshot_archive(record.name), replace)
                break
            except PortClaimLost:
                if attempt == CLAIM_ATTEMPTS:
                    raise
                step("a concurrent deploy claimed the chosen port; reading the host again")
                # A pyinfra state runs its operations once: a new attempt needs a new session.
                session = retries.enter_context(executor.session(session.target))
        results = []
        for host, container in pods(session, slug):
            if container.host_port is None:
                raise HostError(f"{host.name}: pod {slug} holds no host port")
            step(f"waiting for services of {slug} on {host.name}")
            statuses = executor.wait_until_healthy(host, plan, container.host_port, timeout, step)
            results.append(pod_record(container, host.name, statuses))
        return results
