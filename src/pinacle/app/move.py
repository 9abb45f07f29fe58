"""``pinacle move SLUG --to HOST``: a pod carried to another host of its fleet, workspace and all.

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
from typing import Any

from pinacle import executor
from pinacle.app import pods as pod_cases
from pinacle.app import snapshots as snapshot_cases
from pinacle.errors import ConflictError, HostError, PodNotFound, TargetError
from pinacle.progress import Progress, silent
from pinacle.records import PodStatus
from pinacle.snapshots import SNAPSHOT_DIR, SnapshotRecord, snapshot_archive, snapshot_manifest


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


def move(
    session: executor.Session, slug: str, to: str, timeout: float = 180.0, progress: Progress | None = None
) -> list[PodStatus]:
    """Carry pod ``slug`` to host ``to`` of the fleet (see the module's steps); its records there."""
    step = progress or silent()
    target = _host_named(session, to)
    name = move_snapshot_name(slug, to)
    found = {host.name: (host, record) for host, record in pod_cases.pods(session, slug)}
    sources = [host for host_name, (host, _record) in sorted(found.items()) if host_name != to]
    if len(sources) > 1:
        listed = ", ".join(h.name for h in sources)
        raise ConflictError(f"pod {slug} is on several hosts ({listed}): remove all but one by hand")
    source = sources[0] if sources else None
    if source is None and to not in found and _snapshot_on(session, target, name) is None:
        raise PodNotFound(f"no pod {slug} on {session.target}; see `pinacle list`")
    if source is not None and to not in found:
        running = found[source.name][1].running
        held = _snapshot_on(session, source, name)
        copy = _snapshot_on(session, target, name)
        if running:  # a move starting now: a snapshot of this name anywhere is an older move's
            for host, stale in ((source, held), (target, copy)):
                if stale is not None:
                    snapshot_cases.delete_snapshot(session, name, only=host)
            held = copy = None
        if held is None or not held.complete:
            if copy is not None:  # carried from a snapshot that is not there any more
                snapshot_cases.delete_snapshot(session, name, only=target)
                copy = None
            step("move", f"stopping pod {slug} on {source.name}", slug, source.name)
            pod_cases.stop(session, slug)
            snapshot_cases.snapshot(session, slug, name, progress=step)
            held = _snapshot_on(session, source, name)
        assert held is not None
        if copy is None or not copy.complete:
            step("move", f"carrying snapshot {name} from {source.name} to {to}", slug, to)
            _carry(source, target, held)
    if to not in found:
        step("move", f"restoring pod {slug} on {to}", slug, to)
        snapshot_cases.restore(session, name, timeout=timeout, progress=step, on=to)
    if source is not None:
        step("move", f"removing pod {slug} from {source.name}", slug, source.name)
        pod_cases.delete(session, slug, purge=True, only=source)
        # This move's snapshot there, and the one the pod came to that host from (its image until now).
        for record in snapshot_cases.host_snapshots(session, source).snapshots:
            if record.name.startswith(move_prefix(slug)) and record.source == slug:
                snapshot_cases.delete_snapshot(session, record.name, only=source)
    return [status for status in pod_cases.pod_status(session, slug) if status.host == to]
