"""``pinacle move SLUG --to HOST``: a pod carried to another host of its fleet, workspace and all;
``pinacle drain HOST``: every pod of a host moved off it, and no new one placed there until ``undrain``.

The steps, each one a state the next run recognises, so a move killed anywhere is finished by the
next ``move`` (or ``restore``):

1. the pod is stopped on its host (from here on at most one copy runs);
2. it is snapshotted there as ``move-SLUG`` (:func:`move_snapshot_name`);
3. the snapshot's image, workspace archive and manifest are carried to the other host through this
   machine (``docker save | docker load``, ``cat | cat``), and the archive's SHA-256 is compared on
   both ends;
4. the pod is restored from it on the other host, under the same slug, and its services answer;
5. only then is the pod removed from its first host, with its workspace, and that host's snapshot.

Until step 5 the source's workspace volume is kept, so there is never a moment without a copy of
the workspace on disk.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.app import pods as pod_cases
from pinacle.app import snapshots as snapshot_cases
from pinacle.app.fleet import read_fleet
from pinacle.app.fleet_routes import sync_fleet_routes
from pinacle.errors import ConflictError, HostError, PodNotFound, TargetError
from pinacle.fleet.placement import choose_host
from pinacle.pod.access import edge_secret_path
from pinacle.pod.names import DRAINED_MARKER
from pinacle.pod.report import spec_of
from pinacle.progress import Progress, silent
from pinacle.records import PodStatus
from pinacle.snapshots import IN_PROGRESS, SNAPSHOT_DIR, SnapshotRecord, snapshot_archive, snapshot_manifest

if TYPE_CHECKING:
    from pinacle.deploys import snapshot as deploys
else:  # pyinfra is imported only when a deploy runs
    deploys = executor.lazy_module("pinacle.deploys.snapshot")


def move_prefix(slug: str) -> str:
    return f"move-{slug[:40]}-"


def move_snapshot_name(slug: str, to: str) -> str:
    """The snapshot a move of ``slug`` to host ``to`` goes through: the same for every attempt of that
    move, so an interrupted one is found again, and another for the way back, whose pod image the
    snapshot of the last move may still be."""
    return move_prefix(slug) + hashlib.sha256(f"{slug}\0{to}".encode()).hexdigest()[:12]


def _host_named(session: executor.Session, name: str) -> Any:
    for host in session.hosts:
        if host.name == name:
            return host
    if name in session.unreachable:
        raise TargetError(f"{name} did not answer ({session.unreachable[name]}): nothing is moved")
    known = ", ".join(sorted(h.name for h in session.hosts))
    raise TargetError(f"no host {name} in {session.target} (hosts: {known})")


def _snapshot_on(session: executor.Session, host: Any, name: str) -> SnapshotRecord | None:
    found = [s for s in snapshot_cases.host_snapshots(session, host).snapshots if s.name == name]
    return found[0] if found else None


def _sha256(host: Any, path: str) -> str:
    code, out, err = executor.run_captured(host, ["sha256sum", path])
    if code != 0 or not out.split():
        raise HostError(f"{host.name}: could not read {path}: {err.strip() or f'exit status {code}'}")
    return out.split()[0]


def _carry(source: Any, target: Any, record: SnapshotRecord) -> None:
    """The snapshot's image, archive and manifest, from ``source`` to ``target``; the archive checked."""
    executor.pipe_between(source, ["docker", "save", record.image], target, ["docker", "load", "-q"])
    for path in (snapshot_archive(record.name), snapshot_manifest(record.name)):
        # Written beside its final name, then renamed: a copy cut short is a leftover, never a snapshot.
        partial = f"{path}.part"
        receive = (
            f"umask 077 && mkdir -p {shlex.quote(SNAPSHOT_DIR)} && cat > {shlex.quote(partial)} "
            f"&& mv -f {shlex.quote(partial)} {shlex.quote(path)}"
        )
        executor.pipe_between(source, ["cat", path], target, ["sh", "-c", receive])
    archive = snapshot_archive(record.name)
    if _sha256(source, archive) != _sha256(target, archive):
        raise HostError(f"{target.name}: the workspace archive of {record.name} differs from {source.name}'s")


def move(target: str, slug: str, to: str, timeout: float = 180.0, progress: Progress | None = None) -> list[PodStatus]:
    """Carry pod ``slug`` of ``target`` to its host ``to`` (see the module's steps); its records there.

    Each change runs in a session of its own: a pyinfra state runs its operations once.
    """
    step = progress or silent()
    name = move_snapshot_name(slug, to)
    with executor.session(target) as session:
        destination = _host_named(session, to)
        found = {host.name: (host, record) for host, record in pod_cases.pods(session, slug)}
        sources = [host for host_name, (host, _record) in sorted(found.items()) if host_name != to]
        if len(sources) > 1:
            listed = ", ".join(h.name for h in sources)
            raise ConflictError(f"pod {slug} is on several hosts ({listed}): remove all but one by hand")
        source = sources[0] if sources else None
        held = _snapshot_on(session, source, name) if source is not None else None
        copy = _snapshot_on(session, destination, name)
        if source is None and to not in found and copy is None:
            raise PodNotFound(f"no pod {slug} on {session.target}; see `pinacle list`")
        running = source is not None and found[source.name][1].running
        # A restore there that was killed midway left a pod that is not whole yet: it is finished
        # (restore does that), never taken for the moved pod, before the source goes.
        if to in found and slug in snapshot_cases.host_snapshots(session, destination).restores:
            del found[to]
    source_name = source.name if source is not None else None
    if source_name is not None and to not in found:
        if running:  # a move starting now: a snapshot of this name anywhere is an older move's
            for host_name, stale in ((source_name, held), (to, copy)):
                if stale is not None:
                    _delete_snapshot_on(target, name, host_name)
            held = copy = None
        if held is None or not held.complete:
            if copy is not None:  # carried from a snapshot that is not there any more
                _delete_snapshot_on(target, name, to)
                copy = None
            step("move", f"stopping pod {slug} on {source_name}", slug, source_name)
            _in_session(target, lambda s: pod_cases.stop(s, slug))
            _in_session(target, lambda s: snapshot_cases.snapshot(s, slug, name, progress=step))
        if copy is None or not copy.complete:
            step("move", f"carrying snapshot {name} from {source_name} to {to}", slug, to)
            with executor.session(target) as session:
                origin = _host_named(session, source_name)
                held = _snapshot_on(session, origin, name)
                assert held is not None
                _carry(origin, _host_named(session, to), held)
    restored: list[PodStatus] | None = None
    if to not in found:
        step("move", f"restoring pod {slug} on {to}", slug, to)
        with executor.session(target) as session:
            if source_name is not None:  # before the restore, which makes the pod a secret if it has none
                _carry_secret(_host_named(session, source_name), _host_named(session, to), slug)
            restored = snapshot_cases.restore(session, name, timeout=timeout, progress=step, on=to)
    if source_name is not None:
        step("move", f"removing pod {slug} from {source_name}", slug, source_name)
        _remove_source(target, slug, source_name)
    if restored is not None:
        return restored
    with executor.session(target) as session:  # restored by an earlier, interrupted move
        return [status for status in pod_cases.pod_status(session, slug) if status.host == to]


def _remove_source(target: str, slug: str, source_name: str) -> None:
    """The pod on the host it left, with its workspace, and the move snapshots there: this move's, and
    the one the pod came to that host from (its image until now). One session, one deploy; a snapshot
    another pod was restored from (``restore --as``), or one being taken now, stays."""
    with executor.session(target) as session:
        origin = _host_named(session, source_name)
        others = {c.image for other, c in executor.observe_pods(origin).containers.items() if other != slug}
        left = [
            record.name
            for record in snapshot_cases.host_snapshots(session, origin).snapshots
            if record.name.startswith(move_prefix(slug)) and record.source == slug
            and record.state != IN_PROGRESS and record.image not in others
        ]  # fmt: skip
        session.apply(deploys.remove_moved_pod, on=[origin], slug=slug, snapshots=left)
        pod_cases.forget_edge_secrets(session, slug, [origin])
        sync_fleet_routes(session)


def _carry_secret(source: Any, target: Any, slug: str) -> None:
    """The pod's edge secret, from ``source`` to ``target`` (through this machine, never in an argv):
    the login cookies and links of the pod stay good after the move, as its URLs do. Nothing when
    the source has none (no edge there, or an operator's forward auth)."""
    path = shlex.quote(edge_secret_path(slug))
    code, out, err = executor.run_captured(source, ["sh", "-c", f"[ -f {path} ] && echo yes || echo no"])
    if code != 0:
        raise HostError(f"{source.name}: could not look for the edge secret of pod {slug}: {err.strip()}")
    if out.strip() != "yes":
        return
    partial = shlex.quote(f"{edge_secret_path(slug)}.carried")
    receive = (
        f"umask 077 && mkdir -p -m 0700 $(dirname {path}) && cat > {partial} && [ -s {partial} ] "
        f"&& mv -f {partial} {path}"
    )
    executor.pipe_between(source, ["cat", edge_secret_path(slug)], target, ["sh", "-c", receive])


def _delete_snapshot_on(target: str, name: str, host_name: str) -> None:
    with executor.session(target) as session:
        snapshot_cases.delete_snapshot(session, name, only=_host_named(session, host_name))


def _in_session(target: str, change: Callable[[executor.Session], object]) -> None:
    with executor.session(target) as session:
        change(session)


def _mark_drained(target: str, host_name: str, drained: bool) -> None:
    marker = shlex.quote(DRAINED_MARKER)
    command = f"mkdir -p -m 0700 $(dirname {marker}) && touch {marker}" if drained else f"rm -f {marker}"
    with executor.session(target) as session:
        host = _host_named(session, host_name)
        code, _out, err = executor.run_captured(host, ["sh", "-c", command])
        if code != 0:
            raise HostError(f"{host_name}: could not {'mark' if drained else 'unmark'} it drained: {err.strip()}")


def _no_lock(_slug: str) -> AbstractContextManager[object]:
    return nullcontext()


def drain(
    target: str,
    host_name: str,
    timeout: float = 180.0,
    progress: Progress | None = None,
    lock: Callable[[str], AbstractContextManager[object]] = _no_lock,
) -> list[PodStatus]:
    """Mark ``host_name`` drained (placement puts no new pod there), then move each of its pods to the
    host with the most room among those its ``placement:`` allows; the pods' records where they went.
    Drained first, so nothing lands there meanwhile; run again, it finishes what a killed run left.
    ``lock(slug)`` is held around each pod's move (the Python API's per-pod thread lock)."""
    step = progress or silent()
    _mark_drained(target, host_name, True)
    moved: list[PodStatus] = []
    while True:
        with executor.session(target) as session:
            _host_named(session, host_name)
            _states, members = read_fleet(session)
            left = [(h, r) for h, r in pod_cases.pods(session) if h.name == host_name]
            if not left:
                return moved
            _host, record = left[0]
            others = [member for member in members if member.name != host_name]
            decision = choose_host(spec_of(record), others)
        if decision.host is None:
            raise HostError(f"{host_name} stays drained with pod {record.slug} on it: {decision.reason}")
        step("drain", f"moving pod {record.slug} to {decision.host}: {decision.reason}", record.slug, decision.host)
        with lock(record.slug):
            moved += move(target, record.slug, decision.host, timeout, step)


def undrain(target: str, host_name: str) -> None:
    """Let placement put new pods on ``host_name`` again."""
    _mark_drained(target, host_name, False)
