"""The commands of a pod's rollout, as plain functions of its diff, and of its day-2 changes (stop,
start, delete), as plain functions of what was read of it: no pyinfra import.

The pod operations (:mod:`pinacle.operations.pod`) yield these, so a deploy through pyinfra and
the ``@local`` executor (:func:`pinacle.executor.roll_out_pods`, :func:`pinacle.executor.run_locally`,
which run them with ``sh -c`` without loading pyinfra) run the very same commands, in the same
order. An empty list: nothing to do for that part.
"""

from __future__ import annotations

import base64
import io
import shlex
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pinacle.operations._shell import fail, pod_supervisor_ready, run_script_once, write_file_command
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
from pinacle.pod.observed import ContainerRecord
from pinacle.pod.restoring import restore_marker_path


def _label_args(labels: Mapping[str, str]) -> list[str]:
    return [f"--label={key}={value}" for key, value in sorted(labels.items())]


# A script longer than this is not one argument of `docker exec` (Linux's 128 KiB bound on one):
# it is piped into the pod and run from a file there.
IN_POD_SCRIPT_MAX = 96 * 1024
_RUN_PIPED_SCRIPT = 'f=$(mktemp) && cat >"$f" && ' + run_script_once('"$f"')


def _in_pod(container: str, script: str) -> str:
    if len(script.encode()) <= IN_POD_SCRIPT_MAX:
        return f"docker exec {shlex.quote(container)} sh -c {shlex.quote(script)}"
    encoded = base64.b64encode(script.encode()).decode()
    run = f"docker exec -i {shlex.quote(container)} sh -c {shlex.quote(_RUN_PIPED_SCRIPT)}"
    return f"printf %s {encoded} | base64 -d | {run}"


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


def network_commands(diff: PodDiff) -> list[str]:
    """Create the pod's own bridge network, labelled with the pod."""
    plan = diff.plan
    if not diff.network.pending:
        return []
    return [network_command(plan.slug, plan.network, plan.labels)]


def network_command(slug: str, network: str, labels: Mapping[str, str]) -> str:
    """Create the network if it is absent, under the pod's own lock on the host.

    Docker does not refuse a second network of the same name when two creates race, and then
    every later reference to it is "ambiguous": two deploys of one new pod must not both create.
    """
    name = shlex.quote(network)
    create = " ".join(["docker network create --driver bridge", *map(shlex.quote, _label_args(labels)), name])
    script = f"docker network inspect {name} >/dev/null 2>&1 || {create} >/dev/null"
    return f"mkdir -p -m 0700 {LOCK_DIR} && flock -w 120 {shlex.quote(pod_lock_path(slug))} sh -c {shlex.quote(script)}"


def container_commands(diff: PodDiff, image_id: str | None) -> list[str]:
    """Create, configure and start the pod's gVisor container, replace it, or start it.

    A new container gets its router and services copied in before it first starts; the host
    script claims the chosen port under the host-wide lock (see ``pinacle-pod-create``).
    """
    plan = diff.plan
    if diff.problem:
        return [fail(diff.problem)]
    name = shlex.quote(plan.container.name)
    if diff.container.action is Action.START:
        return [f"docker start {name} >/dev/null"]
    if not diff.fresh_container:
        return []
    payload = base64.b64encode(files_tar(plan.config_files)).decode()
    claim = [POD_CREATE_SCRIPT, plan.slug, str(diff.host_port), plan.container.publish_address, "--"]
    argv = " ".join(shlex.quote(arg) for arg in [*claim, *create_argv(plan.container, image_id)])
    return [f"printf %s {payload} | base64 -d | {argv}"]


def config_commands(diff: PodDiff) -> list[str]:
    """Bring a running container's router and services to the plan, in one ``docker exec``."""
    writes, removals = diff.writes, diff.removals
    if not writes and not removals:
        return []
    steps = [f"rm -f {path}" if "*" in path else f"rm -f {shlex.quote(path)}" for path in removals]
    steps += [write_file_command(path, text) for path, text in writes.items()]
    router = ROUTER_CONFIG_PATH in writes
    services = removals or any(path != ROUTER_CONFIG_PATH for path in writes)
    if services and router:
        steps.append("pinacle-reload >/dev/null")
    else:
        steps.append(f"pinacle-reload {'router' if router else 'services'} >/dev/null")
    container = diff.plan.container.name
    return [pod_supervisor_ready(container) + " && " + _in_pod(container, " && ".join(steps))]


def record_commands(diff: PodDiff) -> list[str]:
    """Write the pod's host record (last: a run killed before it leaves a difference to converge)."""
    if not diff.record_change.pending:
        return []
    return [
        f"mkdir -p -m 0700 {RECORD_DIR} && "
        + write_file_command(record_path(diff.plan.slug), diff.record.to_json(), mode="0600")
    ]


# docker stop's grace period: the supervisor stops the pod's services, then the sandbox goes.
STOP_TIMEOUT = 20


def stop_commands(slug: str, current: ContainerRecord | None) -> list[str]:
    """Stop the pod's container (``current``: what Docker shows of it); none if absent or stopped."""
    if current is None or not current.running:
        return []
    return [f"docker stop -t {STOP_TIMEOUT} {shlex.quote(container_name(slug))} >/dev/null"]


def start_commands(slug: str, current: ContainerRecord | None) -> list[str]:
    """Start the pod's stopped container on the port it holds; none if absent or running. Its router
    and services are in the container already: the caller waits for their health."""
    if current is None or current.running:
        return []
    return [f"docker start {shlex.quote(container_name(slug))} >/dev/null"]


def removal_commands(
    slug: str, objects: Mapping[str, Sequence[str]], record: bool, marker: bool, purge: bool
) -> list[str]:
    """Remove what ``objects`` lists as the pod's (containers first, freeing its port, then its
    network; its workspace volume with ``purge``), its host record with ``record``, and its restore
    marker with ``marker`` (a deleted pod is no unfinished restore, and keeps no port; a restore
    replacing the pod keeps the marker it has just written)."""
    commands = []
    if objects["container"]:
        commands.append("docker rm -f " + " ".join(shlex.quote(n) for n in objects["container"]) + " >/dev/null")
    if objects["network"]:
        commands.append("docker network rm " + " ".join(shlex.quote(n) for n in objects["network"]) + " >/dev/null")
    if purge and objects["volume"]:
        commands.append("docker volume rm " + " ".join(shlex.quote(n) for n in objects["volume"]) + " >/dev/null")
    files = [path for path, there in ((record_path(slug), record), (restore_marker_path(slug), marker)) if there]
    if files:
        commands.append("rm -f " + " ".join(shlex.quote(path) for path in files))
    return commands


@dataclass(frozen=True)
class Step:
    """One operation of a deploy: its name and the commands it runs, in order (none: a no-op)."""

    name: str
    commands: tuple[str, ...]


def rollout_steps(diff: PodDiff, image_id: str | None) -> list[Step]:
    """The operations of ``pinacle.deploys.pod.roll_out_pod`` (without a workspace archive), in order."""
    plan = diff.plan
    return [
        Step(f"Network {plan.network}", tuple(network_commands(diff))),
        Step(
            f"Container {plan.container.name} ({plan.container.runtime})",
            tuple(container_commands(diff, image_id)),
        ),
        Step("Router and services", tuple(config_commands(diff))),
        Step("Pod record", tuple(record_commands(diff))),
    ]
