"""What day-2 commands show of a pod, read back from Docker labels: pure functions, no pyinfra import.

Everything ``pinacle list/status/start/snapshot/restore/doctor`` knows about a pod comes from the
labels its container carries (``pinacle.pod``, ``pinacle.port``, ``pinacle.routes``, ...), from
``docker inspect`` and from the pod's host record; there is no side database. This module turns
those observations into records with stable JSON shapes and rebuilds a
:class:`~pinacle.spec.PodSpec` from labels (so the planner and the router health checks can be
reused).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pinacle.catalog import CATALOG
from pinacle.edge.settings import EdgeSettings
from pinacle.errors import SpecError
from pinacle.pod.desired import PodPlan, plan_pod, pod_routes
from pinacle.pod.health import healthy
from pinacle.pod.names import LABEL_DOMAIN, LABEL_NAME, LABEL_POD, LABEL_ROUTES
from pinacle.pod.observed import ContainerRecord, PodRecord
from pinacle.pod.settings import DeploySettings
from pinacle.records import PodStatus, ServiceStatus
from pinacle.router import Route
from pinacle.spec import PodSpec


def parse_routes(raw: str) -> list[tuple[str, int]]:
    """``"web-terminal:7681,app:3000"`` -> ``[("web-terminal", 7681), ("app", 3000)]``."""
    routes: list[tuple[str, int]] = []
    for item in raw.split(","):
        name, _, port = item.strip().rpartition(":")
        if name and port.isdigit():
            routes.append((name, int(port)))
    return routes


def with_record(record: ContainerRecord, pod: PodRecord | None) -> ContainerRecord:
    """The container with what its host record says: the pod file and the routes it serves now.

    The routes label is written when the container is created; a later change to routes only
    reloads the router and rewrites the record, so the record is the truth whenever there is one.
    """
    if pod is None:
        return record
    labels = dict(record.labels)
    try:
        routes = pod_routes(spec_from_data(pod.spec))
    except SpecError:
        return record
    labels[LABEL_ROUTES] = ",".join(f"{r.name}:{r.port}" for r in routes)
    labels[LABEL_DOMAIN] = pod.domain
    return replace(record, labels=labels, spec_data=pod.spec)


def spec_data_from_labels(
    labels: Mapping[str, str],
    image: str,
    runtime: str,
    commands: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The pod file (as data) a container's labels describe.

    Routes whose name is a catalog service become ``services``; the others become ``ports``, with
    their command when ``commands`` (service name -> supervisor command) knows it.
    """
    commands = commands or {}
    slug = labels.get(LABEL_POD, "")
    services: list[str] = []
    ports: list[dict[str, Any]] = []
    for name, port in parse_routes(labels.get(LABEL_ROUTES, "")):
        if name in CATALOG and CATALOG[name].port == port:
            services.append(name)
        else:
            app: dict[str, Any] = {"name": name, "port": port}
            if name in commands:
                app["command"] = commands[name]
            ports.append(app)
    return {
        "name": labels.get(LABEL_NAME) or slug,
        "slug": slug,
        "image": image,
        "runtime": runtime,
        "services": services,
        "ports": ports,
    }


def spec_from_data(data: Mapping[str, Any], **overrides: Any) -> PodSpec:
    try:
        return PodSpec.model_validate({**data, **overrides})
    except Exception as exc:  # pydantic's ValidationError, said in one line
        raise SpecError(f"cannot rebuild the pod from its labels: {exc}") from exc


def spec_of(record: ContainerRecord) -> PodSpec:
    """The pod's own pod file (from its host record, see :func:`with_record`), else its labels'."""
    return spec_from_data(record.spec_data or spec_data_from_labels(record.labels, record.image, record.runtime))


def domain_of(record: ContainerRecord) -> str:
    return record.labels.get(LABEL_DOMAIN) or DeploySettings.domain


def plan_from_container(record: ContainerRecord) -> PodPlan:
    """The whole plan of the pod (its router rendered): :func:`spec_of` planned for its domain."""
    return plan_pod(spec_of(record), DeploySettings(domain=domain_of(record)))


def age(created: str, now: datetime | None = None) -> int | None:
    """Seconds since an RFC 3339 timestamp as Docker prints it (nanoseconds and all)."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", created)
    if not match:
        return None
    then = datetime.fromisoformat(match[1]).replace(tzinfo=UTC)
    return max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))


def human_age(seconds: int | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def service_url(route: Route, slug: str, domain: str, host_port: int | None, edge: EdgeSettings | None) -> str | None:
    """The URL a user opens for ``route``: through the host's edge when it is on, else its host port."""
    if edge is not None and edge.enabled:
        return edge.url(route.host_name(slug, domain))
    return route.url(slug, domain, host_port) if host_port else None


def pod_record(
    record: ContainerRecord,
    host: str,
    statuses: Mapping[str, int] | None,
    now: datetime | None = None,
    problem: str = "",
    edge: EdgeSettings | None = None,
) -> PodStatus:
    """What ``pinacle list`` and ``pinacle status`` show of one pod (JSON: ``PodStatus.to_json``).

    ``http_status``/``healthy`` are None when the pod is not running (nothing was asked). With the
    host's ``edge`` on, URLs are the edge's (no port on 80/443), else the pod's own host port.
    """
    domain = record.labels.get(LABEL_DOMAIN) or DeploySettings.domain
    port = record.host_port
    services = []
    for name, inner in parse_routes(record.labels.get(LABEL_ROUTES, "")):
        status = statuses.get(name) if statuses is not None else None
        services.append(
            ServiceStatus(
                name=name,
                port=inner,
                http_status=status,
                healthy=None if status is None else healthy(status),
                url=service_url(Route(name, inner), record.slug, domain, port, edge),
            )
        )
    overall: bool | None = None
    if statuses is not None:
        overall = bool(services) and all(s.healthy for s in services)
    return PodStatus(
        host=host,
        slug=record.slug,
        name=record.labels.get(LABEL_NAME, record.slug),
        state=record.state,
        status=record.status,
        exit_code=record.exit_code,
        restart_count=record.restart_count,
        host_port=port,
        image=record.image,
        runtime=record.runtime,
        created=record.created,
        age_seconds=age(record.created, now),
        healthy=overall,
        services=tuple(services),
        problem=problem,
    )
