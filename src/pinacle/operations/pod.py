"""Operations on one pod: roll it out (network, gVisor container, in-pod configuration, host
record), and stop, start or remove it.

The rollout operations act on a :class:`~pinacle.pod.diff.PodDiff`: the host was read once, in one
round trip, before the run (``facts.pod.PodStates``), and the diff that ``--dry-run`` prints decides
what each operation yields. An operation whose part of the diff is a no-op yields nothing. The
day-2 operations (``pod_stopped``, ``pod_started``, ``pod_removed``) read their facts when they run
and likewise yield only what is needed.
"""

from __future__ import annotations

import base64
import io
import shlex
import tarfile
from collections.abc import Generator, Mapping

from pyinfra import host
from pyinfra.api import operation

from pinacle.facts.host import PathExists
from pinacle.facts.pod import PodContainer, PodObjects
from pinacle.operations._shell import fail, pod_supervisor_ready, write_file_command
from pinacle.pod.desired import ContainerSpec
from pinacle.pod.diff import Action, PodDiff
from pinacle.pod.names import (
    LABEL_POD,
    LOCK_DIR,
    POD_CREATE_SCRIPT,
    RECORD_DIR,
    ROUTER_CONFIG_PATH,
    container_name,
    pod_lock_path,
    record_path,
    workspace_mount,
)

STOP_TIMEOUT = 20


def _label_args(labels: Mapping[str, str]) -> list[str]:
    return [f"--label={key}={value}" for key, value in sorted(labels.items())]


def _in_pod(container: str, script: str) -> str:
    return f"docker exec {shlex.quote(container)} sh -c {shlex.quote(script)}"


def files_tar(files: Mapping[str, str]) -> bytes:
    """A tar of ``files`` (absolute path -> text) for ``docker cp -``: root-owned, mode 0644."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path, text in sorted(files.items()):
            data = text.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def create_argv(container: ContainerSpec, image_id: str | None) -> list[str]:
    """``docker create`` arguments of the pod container (the host port is added by the script)."""
    slug = dict(container.labels)[LABEL_POD]
    return [
        f"--name={container.name}",
        f"--hostname={slug}",
        f"--runtime={container.runtime}",
        f"--network={container.network}",
        f"--cpus={container.cpus:g}",
        f"--memory={container.memory_mb}m",
        f"--pids-limit={container.pids_limit}",
        "--restart=unless-stopped",
        *_label_args({**dict(container.labels), **container.spec_labels(image_id)}),
        *(f"--env={key}={value}" for key, value in container.env),
        f"--mount={workspace_mount(slug)}",
        container.image,
    ]


@operation()
def pod_network(diff: PodDiff) -> Generator[str, None, None]:
    """
    Create the pod's own bridge network, labelled with the pod.

    + diff: the pod's diff
    """
    plan = diff.plan
    if not diff.network.pending:
        host.noop(f"network {plan.network} exists")
        return
    yield network_command(plan.slug, plan.network, plan.labels)


def network_command(slug: str, network: str, labels: Mapping[str, str]) -> str:
    """Create the network if it is absent, under the pod's own lock on the host.

    Docker does not refuse a second network of the same name when two creates race, and then
    every later reference to it is "ambiguous": two deploys of one new pod must not both create.
    """
    name = shlex.quote(network)
    create = " ".join(["docker network create --driver bridge", *map(shlex.quote, _label_args(labels)), name])
    script = f"docker network inspect {name} >/dev/null 2>&1 || {create} >/dev/null"
    return f"mkdir -p -m 0700 {LOCK_DIR} && flock -w 120 {shlex.quote(pod_lock_path(slug))} sh -c {shlex.quote(script)}"


@operation()
def pod_container(diff: PodDiff, image_id: str | None) -> Generator[str, None, None]:
    """
    Create, configure and start the pod's gVisor container, replace it, or start it.

    + diff: the pod's diff
    + image_id: the ID of the pod's image on the host (part of the container's spec hash)

    A new container gets its router and services copied in before it first starts, so it
    serves from its first second without a ``docker exec`` round trip into the sandbox. The host
    script claims the chosen port under the host-wide lock and removes what an interrupted
    replacement left; a claim lost to a concurrent deploy exits 75 and the rollout reads again.
    """
    plan = diff.plan
    if diff.problem:
        yield fail(diff.problem)
        return
    name = shlex.quote(plan.container.name)
    if diff.container.action is Action.START:
        yield f"docker start {name} >/dev/null"
        return
    if not diff.fresh_container:
        host.noop(f"container {plan.container.name} is running and up to date")
        return
    payload = base64.b64encode(files_tar(plan.config_files)).decode()
    claim = [POD_CREATE_SCRIPT, plan.slug, str(diff.host_port), plan.container.publish_address, "--"]
    argv = " ".join(shlex.quote(arg) for arg in [*claim, *create_argv(plan.container, image_id)])
    yield f"printf %s {payload} | base64 -d | {argv}"


@operation()
def pod_config(diff: PodDiff) -> Generator[str, None, None]:
    """
    Bring a running container's router and services to the plan, in one ``docker exec``.

    + diff: the pod's diff

    ``pinacle-reload`` runs ``nginx -t`` before it reloads and returns only once no Nginx worker
    serves the old config; services no longer declared are stopped by the supervisor.
    """
    writes, removals = diff.writes, diff.removals
    if not writes and not removals:
        host.noop("router and services are up to date")
        return
    steps = [f"rm -f {path}" if "*" in path else f"rm -f {shlex.quote(path)}" for path in removals]
    steps += [write_file_command(path, text) for path, text in writes.items()]
    router = ROUTER_CONFIG_PATH in writes
    services = removals or any(path != ROUTER_CONFIG_PATH for path in writes)
    if services and router:
        steps.append("pinacle-reload >/dev/null")
    else:
        steps.append(f"pinacle-reload {'router' if router else 'services'} >/dev/null")
    container = diff.plan.container.name
    yield pod_supervisor_ready(container) + " && " + _in_pod(container, " && ".join(steps))


@operation()
def pod_record(diff: PodDiff) -> Generator[str, None, None]:
    """
    Write the pod's host record last: a run killed before this point leaves a difference to converge.

    + diff: the pod's diff
    """
    if not diff.record_change.pending:
        host.noop("pod record is up to date")
        return
    yield f"mkdir -p -m 0700 {RECORD_DIR} && " + write_file_command(
        record_path(diff.plan.slug), diff.record.to_json(), mode="0600"
    )


@operation()
def pod_stopped(slug: str) -> Generator[str, None, None]:
    """
    Stop the pod's container; its port label, network, volume and config stay.

    + slug: the pod

    A container stopped by hand stays stopped across Docker restarts (``unless-stopped``).
    """
    name = container_name(slug)
    current = host.get_fact(PodContainer, container=name)
    if current is None:
        host.noop(f"pod {slug} is not on this host")
        return
    if not current.running:
        host.noop(f"pod {slug} is already stopped")
        return
    yield f"docker stop -t {STOP_TIMEOUT} {shlex.quote(name)} >/dev/null"


@operation()
def pod_started(slug: str) -> Generator[str, None, None]:
    """
    Start the pod's stopped container on the port it already holds.

    + slug: the pod
    """
    name = container_name(slug)
    current = host.get_fact(PodContainer, container=name)
    if current is None:
        host.noop(f"pod {slug} is not on this host")
        return
    if current.running:
        host.noop(f"pod {slug} is running")
        return
    # The pod's router and services are in its container already; the caller waits for health.
    yield f"docker start {shlex.quote(name)} >/dev/null"


@operation()
def pod_removed(slug: str, purge: bool = False) -> Generator[str, None, None]:
    """
    Remove everything labelled as the pod: containers (freeing the port), network; the volume too
    when ``purge``.

    + slug: the pod
    + purge: also remove the workspace volume (its data is gone)
    """
    found = host.get_fact(PodObjects, slug=slug)
    volumes = found["volume"] if purge else []
    record = host.get_fact(PathExists, path=record_path(slug))
    if not (found["container"] or found["network"] or volumes or record):
        host.noop(f"nothing of pod {slug} to remove")
        return
    if found["container"]:
        yield "docker rm -f " + " ".join(shlex.quote(n) for n in found["container"]) + " >/dev/null"
    if found["network"]:
        yield ("docker network rm " + " ".join(shlex.quote(n) for n in found["network"]) + " >/dev/null")
    if volumes:
        yield "docker volume rm " + " ".join(shlex.quote(n) for n in volumes) + " >/dev/null"
    if record:
        yield f"rm -f {shlex.quote(record_path(slug))}"
