"""Snapshots on a target: take, list, find, delete them, and restore a pod from one."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.app.fleet_routes import sync_fleet_routes
from pinacle.app.pods import pods, require_docker, require_pod
from pinacle.app.rollout import CLAIM_ATTEMPTS
from pinacle.errors import (
    ConflictError,
    DeployError,
    HostError,
    PortClaimLost,
    SnapshotNotFound,
    TargetError,
)
from pinacle.pod.desired import PodPlan, plan_pod
from pinacle.pod.diff import PodDiff, diff_pod
from pinacle.pod.names import lock_path
from pinacle.pod.observed import ObservedPod
from pinacle.pod.report import pod_record, spec_from_data
from pinacle.pod.restoring import RestoreMarker
from pinacle.pod.settings import DeploySettings
from pinacle.progress import Progress, silent
from pinacle.readers.edge import edge_state
from pinacle.readers.pod import pod_objects
from pinacle.readers.snapshot import image_env_of, program_commands_of, snapshot_states
from pinacle.records import PodStatus, SnapshotInfo
from pinacle.snapshots import (
    IN_PROGRESS,
    SNAPSHOT_EXISTS_MESSAGE,
    HostSnapshots,
    SnapshotRecord,
    check_snapshot_name,
    default_snapshot_name,
    snapshot_archive,
    snapshot_manifest_text,
    snapshot_spec_data,
)

if TYPE_CHECKING:
    from pinacle.deploys import snapshot as deploys
else:  # pyinfra is imported only when a deploy runs
    deploys = executor.lazy_module("pinacle.deploys.snapshot")


def host_snapshots(session: executor.Session, host: Any) -> HostSnapshots:
    """Every snapshot of one host, in every state, and its restores under way: one round trip."""
    result: HostSnapshots = session.read(host, snapshot_states())
    return result


def snapshots(session: executor.Session) -> list[tuple[Any, SnapshotRecord]]:
    """(host, snapshot) for every snapshot of the target, complete or not."""
    require_docker(session)
    found = session.read_all(snapshot_states())  # every host at once
    return [(h, s) for h in session.hosts for s in found[h.name].snapshots]


def snapshot_info(host: Any, record: SnapshotRecord) -> SnapshotInfo:
    return SnapshotInfo(
        host=host.name,
        name=record.name,
        source_slug=record.source,
        image=record.image,
        archive=snapshot_archive(record.name),
        created=record.created,
        size_bytes=record.size,
        state=record.state,
        leftovers=record.leftovers,
    )


def list_snapshots(session: executor.Session) -> list[SnapshotInfo]:
    """Every snapshot on the target; ``state`` says which are incomplete or being taken now."""
    return [snapshot_info(h, s) for h, s in snapshots(session)]


def find_snapshot(session: executor.Session, name: str) -> list[tuple[Any, SnapshotRecord]]:
    """The snapshot called ``name`` (or with that image reference) on each host, in any state."""
    wanted = name.split(":")[-1].split("/")[-1] if "/" in name else name
    return [(h, s) for h, s in snapshots(session) if wanted in (s.name, s.image)]


def _exists_conflict(name: str, exc: DeployError) -> ConflictError | None:
    if f"snapshot {name} {SNAPSHOT_EXISTS_MESSAGE}" in str(exc):
        return ConflictError(
            f"snapshot {name} already exists (or another pinacle process is taking it); pick another name"
        )
    return None


def snapshot(
    session: executor.Session, slug: str, name: str | None = None, progress: Progress | None = None
) -> list[SnapshotInfo]:
    """Snapshot pod ``slug`` as ``name`` (default ``<slug>-<UTC time>``); the new records.

    The name is claimed on the host: a complete snapshot of that name, or one another process is
    taking now, is a ConflictError. What an interrupted snapshot of that name left is removed first.
    """
    step = progress or silent()
    name = check_snapshot_name(name or default_snapshot_name(slug))
    require_pod(session, slug, "nothing to snapshot")
    step("snapshot", f"snapshotting pod {slug} as {name}", slug)
    found = pods(session, slug)
    for host, existing in find_snapshot(session, name):
        if existing.state == IN_PROGRESS:
            raise ConflictError(f"snapshot {name} already exists: another pinacle process is taking it on {host.name}")
        if existing.complete:
            raise ConflictError(f"snapshot {name} already exists; pick another name or delete it")
        step("snapshot", f"removing what an interrupted snapshot {name} left: {', '.join(existing.leftovers)}", slug)
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
        try:
            session.apply(
                deploys.snapshot_pod,
                on=[host],
                slug=slug,
                snapshot=name,
                runtime=record.runtime or "runsc",
                manifest=snapshot_manifest_text(name, slug, created, data, record.labels),
                created=created,
            )
        except DeployError as exc:
            raise _exists_conflict(name, exc) or exc from exc
    return [snapshot_info(h, s) for h, s in find_snapshot(session, name) if s.complete]


def _restore_once(
    session: executor.Session, where: list[Any], plan: PodPlan, archive: str, replace: bool, marker: RestoreMarker
) -> None:
    diffs: dict[str, tuple[PodDiff, str | None]] = {}
    for host in where:
        state = executor.observe_pods(host, (plan.container.image,))
        image_id, services = state.images.get(plan.container.image, (None, None))
        # Against a host without the pod (a replacement removes it first, in the same deploy), but
        # with the network an attempt that lost its port claim has made already.
        observed = ObservedPod(
            network=plan.network in state.networks and not replace,
            image_id=image_id,
            image_services=services,
            gvisor_runtimes=state.gvisor_runtimes,
        )
        diff = diff_pod(plan, observed, state.taken_ports())
        if diff.problem:
            raise HostError(f"{host.name}: pod {plan.slug}: {diff.problem}")
        diffs[host.name] = (diff, image_id)
    markers = dict.fromkeys(diffs, marker)
    session.apply(deploys.restore_pod, on=where, diffs=diffs, archive=archive, markers=markers, replace=replace)


def delete_snapshot(session: executor.Session, name: str, only: Any = None) -> bool:
    """Remove snapshot ``name``, complete or not (what an interrupted run left); False if there is none.
    ``only``: on that host alone (a move removing its snapshot from the host the pod left).

    ConflictError while a pod runs from its image, or while another process is taking it.
    """
    found = [(h, r) for h, r in find_snapshot(session, name) if only is None or h.name == only.name]
    if not found:
        return False
    for host, record in found:
        if record.state == IN_PROGRESS:
            raise ConflictError(f"snapshot {record.name} is being taken on {host.name} now; delete it when that ends")
    images = {record.image for _h, record in found if record.image}
    hosts = {h.name for h, _record in found}
    users = [r.slug for h, r in pods(session) if r.image in images and h.name in hosts]
    if users:
        raise ConflictError(f"snapshot {name} is the image of pod(s) {', '.join(users)}; delete them first")
    real = found[0][1].name
    try:
        session.apply(deploys.delete_snapshot, on=[h for h, _record in found], snapshot=real)
    except DeployError as exc:
        if _exists_conflict(real, exc):
            raise ConflictError(f"snapshot {real} is being taken or removed by another process now") from exc
        raise
    return True


def prune_snapshots(session: executor.Session, dry_run: bool = False) -> list[SnapshotInfo]:
    """Remove what interrupted snapshots left: incomplete snapshots whole, and the stray temporary
    images and partial files beside complete ones. Snapshots being taken now are left alone.
    The snapshots that had leftovers (as they were before)."""
    targets: dict[str, list[str]] = {}
    pruned = []
    for host, record in snapshots(session):
        if record.leftovers and record.state != IN_PROGRESS:
            targets.setdefault(host.name, []).append(record.name)
            pruned.append(snapshot_info(host, record))
    if targets and not dry_run:
        session.apply(deploys.clean_snapshots, names=targets)
    return pruned


def restore(
    session: executor.Session,
    name: str,
    new_slug: str | None = None,
    timeout: float = 180.0,
    progress: Progress | None = None,
    replace: bool = False,
    on: str | None = None,
) -> list[PodStatus]:
    """Create pod ``new_slug`` (default: the snapshot's source) from snapshot ``name``.

    An existing pod (or its kept workspace volume) of that slug is refused unless ``replace``:
    then it is deleted with its workspace and brought back from the snapshot on its own host port.
    ``on`` restores on that host only, the one copy of the snapshot there (``pinacle move``: the pod
    it came from may still be on another host meanwhile).
    """
    step = progress or silent()
    found = find_snapshot(session, name)
    if on is not None:
        found = [(host, candidate) for host, candidate in found if host.name == on]
    if not found:
        raise SnapshotNotFound(f"no snapshot {name} on {session.target}; see `pinacle snapshot list`")
    for host, candidate in found:
        if candidate.state == IN_PROGRESS:
            raise ConflictError(
                f"snapshot {candidate.name} is being taken on {host.name} now; restore it when that ends"
            )
        if not candidate.complete:
            raise SnapshotNotFound(
                f"snapshot {candidate.name} on {host.name} is incomplete (an interrupted `pinacle snapshot` left "
                f"{', '.join(candidate.leftovers)}): take it again, or `pinacle snapshot delete {candidate.name}`"
            )
    # A snapshot lives on the host it was taken on, and comes back there: on a fleet, that one host.
    where = [host for host, _candidate in found]
    fleet = session.fleet
    if fleet and len(where) > 1:
        listed = ", ".join(sorted(h.name for h in where))
        raise TargetError(
            f"snapshot {name} is on several hosts of {session.target} ({listed}); restore it with -i HOST"
        )
    if not fleet and on is None and len(where) != len(session.hosts):
        raise TargetError(f"snapshot {name} is not on every host of {session.target}; pick one")
    record = found[0][1]
    slug = new_slug or record.source
    checked = where if on is not None else session.hosts
    # Two restores of one slug at once would both find it absent and both build it: the check and
    # the build run under the slug's restore lock on each host it is checked on, taken in one order.
    with contextlib.ExitStack() as retries:
        with contextlib.ExitStack() as locks:
            for host in sorted(checked, key=lambda h: str(h.name)):
                locks.enter_context(executor.host_lock(host, lock_path("restore", slug), f"restores of pod {slug}"))
            session, where, plan = _restore_locked(session, where, checked, record, slug, replace, step, retries)
        results = []
        restored_on = {h.name for h in where}
        for host, container in pods(session, slug):
            if host.name not in restored_on:
                continue  # a move's source, stopped until the move removes it
            if container.host_port is None:
                raise HostError(f"{host.name}: pod {slug} holds no host port")
            step("wait", f"waiting for services of {slug} on {host.name}", slug, host.name)
            statuses = executor.wait_until_healthy(host, plan, container.host_port, timeout, step)
            results.append(pod_record(container, host.name, statuses, edge=session.read(host, edge_state())))
        sync_fleet_routes(session, step)
        return results


def _restore_locked(
    session: executor.Session,
    where: list[Any],
    checked: Sequence[Any],
    record: SnapshotRecord,
    slug: str,
    replace: bool,
    step: Progress,
    retries: contextlib.ExitStack,
) -> tuple[executor.Session, list[Any], PodPlan]:
    """The part of :func:`restore` under the slug's lock: refuse what exists (or finish what a killed
    restore left), then build the pod. The session it ended in (a lost port claim opens a new one,
    closed with ``retries``), the hosts it built on there, and the pod's plan."""
    kept_port: int | None = None
    unfinished: RestoreMarker | None = None
    for host in checked:
        objects = session.read(host, pod_objects(slug))
        marker = host_snapshots(session, host).restores.get(slug)
        if marker is not None and marker.snapshot == record.name:
            unfinished = marker  # a restore of this snapshot as this slug was interrupted: finish it
        elif any(objects.values()) and not replace:
            if marker is not None:
                raise ConflictError(
                    f"pod {slug} on {host.name} is an unfinished restore of snapshot {marker.snapshot}: finish it "
                    f"with `pinacle restore {marker.snapshot} --as {slug}`, or `pinacle delete {slug} --purge`"
                )
            raise ConflictError(
                f"pod {slug} (or its kept workspace volume) exists on {host.name}: restore --as another "
                f"slug, or --replace to roll it back to the snapshot (its workspace is overwritten)"
            )
    if replace:
        ports = {r.host_port for _h, r in pods(session, slug) if r.host_port is not None}
        kept_port = ports.pop() if len(ports) == 1 else None  # hosts that disagree each get a free port
    if unfinished is not None and kept_port is None:
        kept_port = unfinished.host_port  # the port a killed --replace was keeping
    spec = spec_from_data(record.spec_data(), slug=slug, image=record.image, host_port=kept_port)
    plan = plan_pod(spec, DeploySettings.from_env())
    doing = " (replacing it)" if replace else " (finishing an interrupted restore)" if unfinished else ""
    step("restore", f"restoring {record.name} as pod {slug}{doing}", slug)
    marker = RestoreMarker(slug, record.name, kept_port)
    # What an interrupted restore built is removed like a replaced pod, then built again.
    rebuild = replace or unfinished is not None
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        try:
            _restore_once(session, where, plan, snapshot_archive(record.name), rebuild, marker)
            break
        except PortClaimLost:
            if attempt == CLAIM_ATTEMPTS:
                raise
            rebuild = True  # the lost attempt made the network and workspace already
            step("retry", "a concurrent deploy claimed the chosen port; reading the host again", slug)
            # A pyinfra state runs its operations once: a new attempt needs a new session.
            session = retries.enter_context(executor.session(session.target))
            names = {h.name for h in where}
            where = [h for h in session.hosts if h.name in names]
    return session, where, plan
