"""Operations that roll out one pod: network, volume, gVisor container, router and services.

Each reads facts at execution time and yields commands only for differences from the PodPlan.
"""

from __future__ import annotations

import shlex
from collections.abc import Generator

from pyinfra import host
from pyinfra.api import operation

from pinacle.facts.pod import (
    DockerObjectExists,
    PodContainer,
    PodFiles,
    PodImage,
    TakenPorts,
)
from pinacle.operations._shell import fail, pod_supervisor_ready, write_file_command
from pinacle.plan import (
    LABEL_POD,
    LABEL_PORT,
    POD_METADATA_PATH,
    PORT_LOCK,
    ROUTER_CONFIG_PATH,
    SUPERVISOR_DIR,
    WORKSPACE,
    Action,
    ContainerSpec,
    ObservedPod,
    PodPlan,
    container_change,
    image_problem,
    sha256,
)


def _label_args(labels: dict[str, str]) -> str:
    return " ".join(f"--label {shlex.quote(f'{k}={v}')}" for k, v in sorted(labels.items()))


def _in_pod(container: str, script: str) -> str:
    return f"docker exec {shlex.quote(container)} sh -c {shlex.quote(script)}"


@operation()
def pod_network(plan: PodPlan) -> Generator[str, None, None]:
    """
    Create the pod's own bridge network, labelled with the pod.

    + plan: the pod's plan
    """
    if host.get_fact(DockerObjectExists, kind="network", object_name=plan.network):
        host.noop(f"network {plan.network} exists")
        return
    yield f"docker network create --driver bridge {_label_args(plan.labels)} {shlex.quote(plan.network)}"


@operation()
def pod_volume(plan: PodPlan) -> Generator[str, None, None]:
    """
    Create the pod's workspace volume; it outlives container replacements.

    + plan: the pod's plan
    """
    if host.get_fact(DockerObjectExists, kind="volume", object_name=plan.volume):
        host.noop(f"volume {plan.volume} exists")
        return
    yield f"docker volume create {_label_args(plan.labels)} {shlex.quote(plan.volume)}"


def allocate_and_run(container: ContainerSpec, image_id: str | None, port_range: tuple[int, int]) -> str:
    """``docker run`` the pod under a host-wide lock, on its port or the lowest free one.

    The port is chosen and claimed (as a label on the new container) while the lock is held, so
    two deploys running at once can never pick the same port. A pod that already holds a port
    (its previous container, even a half-replaced one) keeps it.
    """
    low, high = port_range
    slug = dict(container.labels)[LABEL_POD]
    own = shlex.quote(f"{LABEL_POD}={slug}")
    fixed = str(container.host_port) if container.host_port is not None else ""
    run = [
        "docker run -d",
        f"--name {shlex.quote(container.name)}",
        f"--hostname {shlex.quote(slug)}",
        f"--runtime {shlex.quote(container.runtime)}",
        f"--network {shlex.quote(container.network)}",
        f"--cpus {container.cpus:g}",
        f"--memory {container.memory_mb}m",
        "--restart unless-stopped",
        _label_args({**dict(container.labels), **container.spec_labels(image_id)}),
        f'--label {LABEL_PORT}="$port"',
        *(f"-e {shlex.quote(f'{k}={v}')}" for k, v in container.env),
        f"-v {shlex.quote(container.volume)}:{WORKSPACE}",
        f'-p {container.publish_address}:"$port":80',
        shlex.quote(container.image),
        ">/dev/null",
    ]
    full = fail(f"no free host port in {low}-{high}; delete pods or widen PINACLE_PORT_RANGE")
    return (
        "( flock -w 120 9 || { " + fail("timed out waiting for the port lock " + PORT_LOCK) + "; }; "
        f"port={fixed}; "
        f'[ -n "$port" ] || port=$(docker ps -a --filter label={own} '
        f"--format '{{{{.Label \"{LABEL_PORT}\"}}}}' | grep -E '^[0-9]+$' | head -n 1); "
        'if [ -z "$port" ]; then '
        f'taken=" $(docker ps -a --filter label={LABEL_PORT} --format \'{{{{.Label "{LABEL_PORT}"}}}}\' '
        "| tr '\\n' ' ') $(for h in $(awk 'NR>1 && $4==\"0A\" {split($2,a,\":\"); print a[2]}' "
        '/proc/net/tcp /proc/net/tcp6 2>/dev/null); do printf \'%d \' "0x$h"; done) "; '
        f'p={low}; while [ $p -le {high} ]; do case "$taken" in '
        '*" $p "*) p=$((p+1));; *) port=$p; break;; esac; done; '
        f'[ -n "$port" ] || {{ {full}; }}; fi; '
        # A leftover of an interrupted replace still holds the port; it goes now, under the lock.
        f"docker ps -aq --filter label={own} | xargs -r docker rm -f >/dev/null; "
        + " ".join(run)
        + f" ) 9>{PORT_LOCK} && "
        # The router can only be configured once the pod's supervisor has Nginx up.
        + pod_supervisor_ready(container.name)
    )


@operation()
def pod_container(plan: PodPlan) -> Generator[str, None, None]:
    """
    Run the pod container under its gVisor runtime; replace it when its spec hash changed.

    + plan: the pod's plan

    pyinfra's own ``docker.container`` never recreates a container whose arguments changed, so
    the spec hash lives in a label and a mismatch means replace, as Compose does.
    """
    image = host.get_fact(PodImage, image=plan.container.image)
    image_id, image_services = image if image is not None else (None, None)
    observed = ObservedPod(
        container=host.get_fact(PodContainer, container=plan.container.name),
        image_id=image_id,
        image_services=image_services,
    )
    if problem := image_problem(plan, observed):
        yield fail(problem)
        return
    if plan.container.host_port is not None:
        owner = host.get_fact(TakenPorts).get(plan.container.host_port)
        if owner is not None and owner != plan.slug:
            holder = f"pod {owner}" if owner else "another process"
            yield fail(f"host port {plan.container.host_port} is held by {holder}")
            return
    change = container_change(plan, observed)
    if change.action is Action.NOOP:
        host.noop(f"container {plan.container.name} is running and up to date")
        return
    if change.action is Action.START:
        name = shlex.quote(plan.container.name)
        yield f"docker start {name} >/dev/null && " + pod_supervisor_ready(plan.container.name)
        return
    yield allocate_and_run(plan.container, image_id, plan.port_range)


@operation()
def pod_router(plan: PodPlan) -> Generator[str, None, None]:
    """
    Write the pod's Nginx router config into the pod and reload Nginx, when it differs.

    + plan: the pod's plan
    """
    current = host.get_fact(PodFiles, container=plan.container.name, paths=(ROUTER_CONFIG_PATH,))
    if current.get(ROUTER_CONFIG_PATH) == plan.router_sha:
        host.noop("router config is up to date")
        return
    # nginx -t refuses a broken config before reload, so the running router keeps serving; the
    # reload returns once no worker serves the old config.
    write = write_file_command(ROUTER_CONFIG_PATH, plan.router_config)
    yield _in_pod(plan.container.name, f"{write} && pinacle-reload router >/dev/null")


@operation()
def pod_metadata(plan: PodPlan) -> Generator[str, None, None]:
    """
    Record the deployed pod (routes, services, resolved pod file) in the pod's pod.json.

    Runs last, so a deploy killed before the end leaves the previous record and the next run
    sees a difference to converge.

    + plan: the pod's plan
    """
    current = host.get_fact(PodFiles, container=plan.container.name, paths=(POD_METADATA_PATH,))
    if current.get(POD_METADATA_PATH) == sha256(plan.metadata):
        host.noop("pod record is up to date")
        return
    yield _in_pod(plan.container.name, write_file_command(POD_METADATA_PATH, plan.metadata))


@operation()
def pod_services(plan: PodPlan) -> Generator[str, None, None]:
    """
    Hand every service of the pod to the pod's supervisor (the image carries their software).

    + plan: the pod's plan

    Services no longer declared are removed from the supervisor; changed ones restart.
    """
    name = plan.container.name
    present = host.get_fact(PodFiles, container=name, paths=(f"{SUPERVISOR_DIR}/*.conf",))
    wanted = {p.conf_path: p.supervisor_conf() for p in plan.programs}
    writes = [write_file_command(path, text) for path, text in wanted.items() if present.get(path) != sha256(text)]
    stale = sorted(set(present) - set(wanted))
    if not writes and not stale:
        host.noop("services are supervised")
        return
    removals = [f"rm -f {shlex.quote(path)}" for path in stale]
    yield _in_pod(name, " && ".join([*writes, *removals, "pinacle-reload services >/dev/null"]))
