"""Pods on a target: list them, show one, stop, start and delete them.

Reads go through :func:`pinacle.executor.observe_pods` and facts, changes through the day-2
``@deploy`` functions in :mod:`pinacle.deploys.pod`; the CLI only formats what these return.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.app.rollout import Step, quiet
from pinacle.errors import HostError, PodNotFound
from pinacle.pod.names import record_path
from pinacle.pod.observed import ContainerRecord, HostPods
from pinacle.pod.report import plan_from_container, pod_record, with_record
from pinacle.readers.host import path_exists
from pinacle.readers.pod import pod_objects

if TYPE_CHECKING:
    from pinacle.deploys import pod as deploys
else:  # pyinfra is imported only when a deploy runs
    deploys = executor.lazy_module("pinacle.deploys.pod")


def require_pod(session: executor.Session, slug: str, doing: str = "see `pinacle list`") -> None:
    if not pods(session, slug):
        raise PodNotFound(f"no pod {slug} on {session.target}; {doing}")


def require_docker(session: executor.Session) -> None:
    for host in session.hosts:
        if not executor.docker_is_up(host):
            raise HostError(f"{host.name}: Docker is not running; see `pinacle doctor`")


def pods(session: executor.Session, slug: str | None = None) -> list[tuple[Any, ContainerRecord]]:
    """(host, container) for every pod on the target, or for pod ``slug``; one read per host."""
    require_docker(session)
    return [(host, record) for host in session.hosts for record in host_pods(host, slug)]


def host_pods(host: Any, slug: str | None = None) -> list[ContainerRecord]:
    """The pod containers on one host, each with what its host record says (routes, pod file)."""
    return pods_of(executor.observe_pods(host), slug)


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
            for name, url in executor.health_urls(plan_from_container(record), record.host_port).items():
                urls[(record.slug, name)] = url
    answered = executor.route_statuses(host, urls) if urls else {}
    statuses: dict[str, dict[str, int] | None] = {r.slug: None for r in records}
    for (pod, name), status in answered.items():
        statuses[pod] = {**(statuses[pod] or {}), name: status}
    return statuses


def _records(session: executor.Session, slug: str | None = None, health: bool = True) -> list[dict[str, Any]]:
    results = []
    for host in session.hosts:
        found = host_pods(host, slug)
        statuses = health_statuses(host, found) if health else {}
        results += [pod_record(r, host.name, statuses.get(r.slug)) for r in found]
    return results


def list_pods(session: executor.Session, health: bool = True) -> list[dict[str, Any]]:
    """Every pod, in the shape of :func:`pinacle.pod.report.pod_record`."""
    require_docker(session)
    return _records(session, health=health)


def pod_status(session: executor.Session, slug: str) -> list[dict[str, Any]]:
    """One pod (one record per host holding it); PodNotFound when no host does."""
    require_pod(session, slug)
    return _records(session, slug)


def stop(session: executor.Session, slug: str) -> int:
    require_pod(session, slug)
    return session.apply(deploys.stop_pod, slug=slug).change_count


def start(session: executor.Session, slug: str, timeout: float = 180.0, step: Step = quiet) -> list[dict[str, Any]]:
    """Start a stopped pod on its port and wait until its services answer; its records."""
    require_pod(session, slug)
    session.apply(deploys.start_pod, slug=slug)
    records = []
    for host, record in pods(session, slug):
        if record.host_port is None:
            raise HostError(f"{host.name}: pod {slug} holds no host port")
        step(f"waiting for services of {slug} on {host.name}")
        plan = plan_from_container(record)
        statuses = executor.wait_until_healthy(host, plan, record.host_port, timeout, step)
        records.append(pod_record(record, host.name, statuses))
    return records


def delete(session: executor.Session, slug: str, purge: bool = False) -> bool:
    """Remove the pod's container and network (and volume with ``purge``); False if none existed."""
    require_docker(session)
    existed = False
    for host in session.hosts:
        objects = session.read(host, pod_objects(slug))
        existed = existed or bool(objects["container"] or objects["network"])
        existed = existed or bool(purge and objects["volume"])
        existed = existed or bool(session.read(host, path_exists(record_path(slug))))
    if not existed:
        return False
    session.apply(deploys.delete_pod, slug=slug, purge=purge)
    return True
