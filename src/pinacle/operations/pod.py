"""Operations on one pod: roll it out (network, gVisor container, in-pod configuration, host
record), and stop, start or remove it.

The rollout operations act on a :class:`~pinacle.pod.diff.PodDiff`: the host was read once, in one
round trip, before the run (``facts.pod.PodStates``), and the diff that ``--dry-run`` prints decides
what each operation yields. An operation whose part of the diff is a no-op yields nothing. The
day-2 operations (``pod_stopped``, ``pod_started``, ``pod_removed``) read their facts when they run
and likewise yield only what is needed.
"""

from __future__ import annotations

from collections.abc import Generator

from pyinfra import host
from pyinfra.api import StringCommand, operation

from pinacle.facts.host import PathExists
from pinacle.facts.pod import PodContainer, PodObjects
from pinacle.operations.pod_commands import (  # noqa: F401 (files_tar, create_argv, network_command: re-exported)
    STOP_TIMEOUT,
    config_commands,
    container_commands,
    create_argv,
    files_tar,
    network_command,
    network_commands,
    record_commands,
    removal_commands,
    start_commands,
    stop_commands,
)
from pinacle.operations.staging import staged
from pinacle.pod.diff import PodDiff
from pinacle.pod.names import container_name, record_path
from pinacle.pod.restoring import restore_marker_path


@operation()
def pod_network(diff: PodDiff) -> Generator[str, None, None]:
    """
    Create the pod's own bridge network, labelled with the pod.

    + diff: the pod's diff
    """
    commands = network_commands(diff)
    if not commands:
        host.noop(f"network {diff.plan.network} exists")
    yield from commands


@operation()
def pod_container(diff: PodDiff, image_id: str | None) -> Generator[str | StringCommand, None, None]:
    """
    Create, configure and start the pod's gVisor container, replace it, or start it.

    + diff: the pod's diff
    + image_id: the ID of the pod's image on the host (part of the container's spec hash)

    A new container gets its router and services copied in before it first starts, so it
    serves from its first second without a ``docker exec`` round trip into the sandbox. The host
    script claims the chosen port under the host-wide lock and removes what an interrupted
    replacement left; a claim lost to a concurrent deploy exits 75 and the rollout reads again.
    """
    commands = container_commands(diff, image_id)
    if not commands:
        host.noop(f"container {diff.plan.container.name} is running and up to date")
    yield from staged(commands)


@operation()
def pod_config(diff: PodDiff) -> Generator[str | StringCommand, None, None]:
    """
    Bring a running container's router and services to the plan, in one ``docker exec``.

    + diff: the pod's diff

    ``pinacle-reload`` runs ``nginx -t`` before it reloads and returns only once no Nginx worker
    serves the old config; services no longer declared are stopped by the supervisor.
    """
    commands = config_commands(diff)
    if not commands:
        host.noop("router and services are up to date")
    yield from staged(commands)


@operation()
def pod_record(diff: PodDiff) -> Generator[str | StringCommand, None, None]:
    """
    Write the pod's host record last: a run killed before this point leaves a difference to converge.

    + diff: the pod's diff
    """
    commands = record_commands(diff)
    if not commands:
        host.noop("pod record is up to date")
    yield from staged(commands)


@operation()
def pod_stopped(slug: str) -> Generator[str, None, None]:
    """
    Stop the pod's container; its port label, network, volume and config stay.

    + slug: the pod

    A container stopped by hand stays stopped across Docker restarts (``unless-stopped``).
    """
    current = host.get_fact(PodContainer, container=container_name(slug))
    commands = stop_commands(slug, current)
    if not commands:
        host.noop(f"pod {slug} is not on this host" if current is None else f"pod {slug} is already stopped")
    yield from commands


@operation()
def pod_started(slug: str) -> Generator[str, None, None]:
    """
    Start the pod's stopped container on the port it already holds.

    + slug: the pod
    """
    current = host.get_fact(PodContainer, container=container_name(slug))
    commands = start_commands(slug, current)
    if not commands:
        host.noop(f"pod {slug} is not on this host" if current is None else f"pod {slug} is running")
    yield from commands


@operation()
def pod_removed(slug: str, purge: bool = False, keep_restore_marker: bool = False) -> Generator[str, None, None]:
    """
    Remove everything labelled as the pod: containers (freeing the port), network, host record and
    restore marker; the volume too when ``purge``.

    + slug: the pod
    + purge: also remove the workspace volume (its data is gone)
    + keep_restore_marker: leave the restore marker (a restore replacing the pod has just written it)
    """
    found = host.get_fact(PodObjects, slug=slug)
    record = bool(host.get_fact(PathExists, path=record_path(slug)))
    marker = not keep_restore_marker and bool(host.get_fact(PathExists, path=restore_marker_path(slug)))
    commands = removal_commands(slug, found, record, marker, purge)
    if not commands:
        host.noop(f"nothing of pod {slug} to remove")
    yield from commands
