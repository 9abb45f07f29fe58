"""Pods on a target: list them, show one, stop, start and delete them.

Reads go through :func:`pinacle.executor.observe_pods` and facts, changes through the day-2
``@deploy`` functions in :mod:`pinacle.deploys.pod`; the CLI only formats what these return.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.app.fleet_routes import sync_fleet_routes
from pinacle.errors import HostError, PodNotFound, UsageError
from pinacle.pod import access
from pinacle.pod.desired import pod_routes
from pinacle.pod.names import LABEL_ROUTES, POD_HOME, POD_LOG_DIR, POD_USER, WORKSPACE, container_name, record_path
from pinacle.pod.observed import ContainerRecord, HostPods
from pinacle.pod.report import domain_of, parse_routes, plan_from_container, pod_record, spec_of, with_record
from pinacle.pod.restoring import restore_marker_path
from pinacle.progress import Progress, silent
from pinacle.readers.edge import edge_state
from pinacle.readers.host import docker_server, path_exists
from pinacle.readers.pod import pod_objects, pod_states
from pinacle.records import PodStatus

if TYPE_CHECKING:
    from pinacle.deploys import pod as deploys
else:  # pyinfra is imported only when a deploy runs
    deploys = executor.lazy_module("pinacle.deploys.pod")


def require_pod(session: executor.Session, slug: str, doing: str = "see `pinacle list`") -> None:
    if not pods(session, slug):
        raise PodNotFound(f"no pod {slug} on {session.target}; {doing}")


def require_docker(session: executor.Session) -> None:
    """HostError naming the first host (by name) whose Docker is not running; all hosts asked at once."""
    servers = session.read_all(docker_server())
    for name in sorted(servers):
        if servers[name] is None:
            raise HostError(f"{name}: Docker is not running; see `pinacle doctor`")


def host_states(session: executor.Session) -> dict[str, HostPods]:
    """Host name -> its pods, every host read at once (one host: ahead of the imports on @local)."""
    if len(session.hosts) > 1:
        return session.read_all(pod_states())
    return {host.name: executor.observe_pods(host) for host in session.hosts}


def pods(session: executor.Session, slug: str | None = None) -> list[tuple[Any, ContainerRecord]]:
    """(host, container) for every pod on the target, or for pod ``slug``; one read per host, at once."""
    require_docker(session)
    states = host_states(session)
    return [(host, record) for host in session.hosts for record in pods_of(states[host.name], slug)]


def pods_of(state: HostPods, slug: str | None = None) -> list[ContainerRecord]:
    """The pod containers of a host already read, each with what its host record says."""
    return [
        with_record(container, state.records.get(name))
        for name, container in sorted(state.containers.items())
        if slug is None or name == slug
    ]


def health_statuses(host: Any, records: list[ContainerRecord]) -> dict[str, dict[str, int] | None]:
    """slug -> route name -> HTTP status, for every running pod of ``records``: one parallel request."""
    urls: dict[tuple[str, str], str] = {}
    for record in records:
        if record.running and record.host_port is not None:
            domain, routes = domain_of(record), pod_routes(spec_of(record))  # no router rendered
            for name, url in executor.route_health_urls(record.slug, domain, routes, record.host_port).items():
                urls[(record.slug, name)] = url
    answered = executor.route_statuses(host, urls) if urls else {}
    statuses: dict[str, dict[str, int] | None] = {r.slug: None for r in records}
    for (pod, name), status in answered.items():
        statuses[pod] = {**(statuses[pod] or {}), name: status}
    return statuses


def _records(session: executor.Session, slug: str | None = None, health: bool = True) -> list[PodStatus]:
    results = []
    states = host_states(session)
    edges = session.read_all(edge_state())
    for host in session.hosts:
        state = states[host.name]
        found = pods_of(state, slug)
        statuses = health_statuses(host, found) if health else {}
        edge = edges[host.name]
        results += [pod_record(r, host.name, statuses.get(r.slug), problem=state.problem(r), edge=edge) for r in found]
    return results


def list_pods(session: executor.Session, health: bool = True) -> list[PodStatus]:
    """Every pod on the target, with the health of its services unless ``health`` is False."""
    require_docker(session)
    return _records(session, health=health)


def pod_status(session: executor.Session, slug: str) -> list[PodStatus]:
    """One pod (one record per host holding it); PodNotFound when no host does."""
    require_pod(session, slug)
    return _records(session, slug)


def held(session: executor.Session, slug: str, doing: str = "see `pinacle list`") -> list[tuple[Any, ContainerRecord]]:
    """(host, container) of each host that holds pod ``slug``; PodNotFound if none."""
    found = pods(session, slug)
    if not found:
        raise PodNotFound(f"no pod {slug} on {session.target}; {doing}")
    return found


def holders(session: executor.Session, slug: str, doing: str = "see `pinacle list`") -> list[Any]:
    """The hosts that hold pod ``slug`` (on a fleet, day-2 changes run there only); PodNotFound if none."""
    return [host for host, _record in held(session, slug, doing)]


def stop(session: executor.Session, slug: str) -> int:
    found = held(session, slug)
    if session.local:  # the deploy's commands, without loading pyinfra (as a rollout on @local)
        from pinacle.operations.pod_commands import Step, stop_commands

        [(_host, current)] = found
        stopping = Step(f"Stop pod {slug}", tuple(stop_commands(slug, current)))
        return executor.run_locally(session, [stopping]).change_count
    changes = session.apply(deploys.stop_pod, on=[host for host, _record in found], slug=slug).change_count
    sync_fleet_routes(session)
    return changes


def start(
    session: executor.Session, slug: str, timeout: float = 180.0, progress: Progress | None = None
) -> list[PodStatus]:
    """Start a stopped pod on its port and wait until its services answer; its records."""
    step = progress or silent()
    where = holders(session, slug)
    container = None
    for host in where:
        state = executor.observe_pods(host)
        container = state.containers.get(slug)
        if container is not None and not state.sandboxed(container):
            raise HostError(f"{host.name}: pod {slug} is not started: {state.problem(container)}")
    step("start", f"starting pod {slug}", slug)
    if session.local:  # the one host's container, just read
        from pinacle.operations.pod_commands import Step, start_commands

        executor.run_locally(session, [Step(f"Start pod {slug}", tuple(start_commands(slug, container)))])
    else:
        session.apply(deploys.start_pod, on=where, slug=slug)
    records = []
    for host, record in pods(session, slug):
        if record.host_port is None:
            raise HostError(f"{host.name}: pod {slug} holds no host port")
        step("wait", f"waiting for services of {slug} on {host.name}", slug, host.name)
        plan = plan_from_container(record)
        statuses = executor.wait_until_healthy(host, plan, record.host_port, timeout, step)
        records.append(pod_record(record, host.name, statuses, edge=session.read(host, edge_state())))
    sync_fleet_routes(session, step)
    return records


def delete(session: executor.Session, slug: str, purge: bool = False, only: Any = None) -> bool:
    """Remove the pod's container and network (and volume with ``purge``); False if none existed.
    ``only``: on that host alone (a move removing the pod it carried elsewhere)."""
    from pinacle.operations.pod_commands import Step, removal_commands

    require_docker(session)
    removals = {}  # host -> what of the pod is there to remove
    for host in session.hosts if only is None else [only]:
        objects = session.read(host, pod_objects(slug))
        record = bool(session.read(host, path_exists(record_path(slug))))
        marker = bool(session.read(host, path_exists(restore_marker_path(slug))))
        removals[host] = removal_commands(slug, objects, record, marker, purge)
    where = [host for host, commands in removals.items() if commands]
    if not where:
        return False
    if session.local:  # the deploy's commands, without loading pyinfra (as a rollout on @local)
        executor.run_locally(session, [Step(f"Delete pod {slug}", tuple(removals[where[0]]))])
    else:
        session.apply(deploys.delete_pod, on=where, slug=slug, purge=purge)
    if purge:
        forget_edge_secrets(session, slug, where)
    sync_fleet_routes(session)
    return True


def forget_edge_secrets(session: executor.Session, slug: str, hosts: list[Any] | None = None) -> None:
    """Delete the pod's secret at the edge of ``hosts`` (default every host: a purged pod's logins
    die with it); nothing on a host that never had the edge."""
    script = access.edge_auth_script()
    for host in session.hosts if hosts is None else hosts:
        code, _out, err = executor.run_captured(host, access.forget_argv(slug, script))
        if code != 0:
            raise access.command_failure(host.name, script, code, err)


def log_argv(record: ContainerRecord, service: str | None = None, lines: int = 200, follow: bool = False) -> list[str]:
    """The command that prints the pod container's log, or ``service``'s log file in the pod.

    UsageError when the pod has no such service (nginx, its router, always counts).
    """
    name = container_name(record.slug)
    if service is None:
        return ["docker", "logs", "--tail", str(lines), *(["--follow"] if follow else []), name]
    known = [n for n, _ in parse_routes(record.labels.get(LABEL_ROUTES, ""))]
    if service not in known and service != "nginx":
        raise UsageError(f"pod {record.slug} has no service {service!r}; its services: {', '.join(known)}, nginx")
    tail = ["tail", "-n", str(lines), *(["-F"] if follow else [])]
    return ["docker", "exec", name, *tail, f"{POD_LOG_DIR}/{service}.log"]


def exec_argv(slug: str, command: Sequence[str], root: bool = False, tty: bool = False) -> list[str]:
    """The ``docker exec`` that runs ``command`` in pod ``slug``: as its user ``dev`` in the
    workspace (the owner of the editor's and terminals' files), or as root with ``root``."""
    if not command:
        raise UsageError("no command given")
    flags = ["-it"] if tty else ["-i"]
    if not root:
        flags += ["-u", POD_USER, "-w", WORKSPACE, "-e", f"HOME={POD_HOME}"]
    return ["docker", "exec", *flags, container_name(slug), *command]
