"""Day-2 state of pods, read back from Docker labels: pure functions, no pyinfra import.

Everything ``pinacle list/status/start/snapshot/restore/doctor`` knows about a pod comes from the
labels its container carries (``pinacle.pod``, ``pinacle.port``, ``pinacle.routes``, ...) and from
``docker inspect``; there is no side database. This module turns those observations into records
with stable JSON shapes, rebuilds a :class:`~pinacle.spec.PodSpec` from labels (so the planner and
the router health checks can be reused), and holds the arithmetic ``doctor`` needs.

Snapshots: ``docker commit`` captures the pod's root filesystem (installed packages, supervisor
configs) and the workspace volume is archived to a tarball on the host. Newer runsc releases keep
rootfs writes in a sandbox-internal overlay (gVisor issue 11559) that ``docker commit`` does not
see, so the host deploy registers the runtime with ``--overlay2=none`` unless the host data asks
for the overlay (``runsc_rootfs_overlay``); the workspace is on a volume either way.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pinacle.catalog import CATALOG
from pinacle.errors import SpecError
from pinacle.pod.desired import PodPlan, plan_pod
from pinacle.pod.health import healthy
from pinacle.pod.names import LABEL_DOMAIN, LABEL_NAME, LABEL_POD, LABEL_ROUTES
from pinacle.pod.observed import ContainerRecord, PodRecord
from pinacle.pod.settings import DeploySettings
from pinacle.router import Route
from pinacle.spec import PodSpec

SNAPSHOT_REPOSITORY = "pinacle-snapshot"
SNAPSHOT_TMP_REPOSITORY = "pinacle-snapshot-tmp"
SNAPSHOT_DIR = "/var/lib/pinacle/snapshots"
LABEL_SNAPSHOT_OF = "pinacle.snapshot.of"
LABEL_SNAPSHOT_NAME = "pinacle.snapshot.name"
LABEL_SNAPSHOT_CREATED = "pinacle.snapshot.created"
LABEL_SNAPSHOT_SPEC = "pinacle.snapshot.spec"
LABEL_SNAPSHOT_LABELS = "pinacle.snapshot.labels"
SNAPSHOT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"

# Docker's built-in pools when daemon.json sets none: 172.17-31.0.0/16 and 192.168.0.0/16 in /20s.
DOCKER_DEFAULT_POOLS: tuple[tuple[str, int], ...] = (("172.17.0.0/12", 16), ("192.168.0.0/16", 20))


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
        routes = plan_pod(spec_from_data(pod.spec), DeploySettings(domain=pod.domain)).routes
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


def plan_from_container(record: ContainerRecord) -> PodPlan:
    """A plan good for routes and URLs (health checks): from the pod's own pod file, else its labels."""
    data = record.spec_data or spec_data_from_labels(record.labels, record.image, record.runtime)
    spec = spec_from_data(data)
    domain = record.labels.get(LABEL_DOMAIN) or DeploySettings.domain
    return plan_pod(spec, DeploySettings(domain=domain))


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


def pod_record(
    record: ContainerRecord,
    host: str,
    statuses: Mapping[str, int] | None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The JSON shape of one pod, used by ``pinacle list --json`` and ``pinacle status --json``::

        {"host": "@local", "slug": "example", "name": "Example pod", "state": "running",
         "status": "running", "exit_code": 0, "restart_count": 0, "host_port": 30000,
         "image": "pinacle/base:latest", "runtime": "runsc", "created": "2025-...Z",
         "age_seconds": 42, "healthy": true,
         "services": [{"name": "app", "port": 3000, "http_status": 200, "healthy": true,
                       "url": "http://localhost-3000.pod-example.localhost:30000/"}]}

    ``http_status``/``healthy`` are null when the pod is not running (nothing was asked).
    """
    domain = record.labels.get(LABEL_DOMAIN) or DeploySettings.domain
    port = record.host_port
    services = []
    for name, inner in parse_routes(record.labels.get(LABEL_ROUTES, "")):
        status = statuses.get(name) if statuses is not None else None
        services.append(
            {
                "name": name,
                "port": inner,
                "http_status": status,
                "healthy": None if status is None else healthy(status),
                "url": Route(name, inner).url(record.slug, domain, port) if port else None,
            }
        )
    overall: bool | None = None
    if statuses is not None:
        overall = bool(services) and all(s["healthy"] for s in services)
    return {
        "host": host,
        "slug": record.slug,
        "name": record.labels.get(LABEL_NAME, record.slug),
        "state": record.state,
        "status": record.status,
        "exit_code": record.exit_code,
        "restart_count": record.restart_count,
        "host_port": port,
        "image": record.image,
        "runtime": record.runtime,
        "created": record.created,
        "age_seconds": age(record.created, now),
        "healthy": overall,
        "services": services,
    }


# --- snapshots ----------------------------------------------------------------------------------


def check_snapshot_name(name: str) -> str:
    if not re.fullmatch(SNAPSHOT_NAME_PATTERN, name):
        raise SpecError(
            f"snapshot name {name!r} must be lowercase letters, digits, '.', '_' or '-' "
            "(at most 63, starting with a letter or digit)"
        )
    return name


def default_snapshot_name(slug: str, now: datetime | None = None) -> str:
    return f"{slug}-{(now or datetime.now(UTC)).strftime('%Y%m%d-%H%M%S')}"


def snapshot_image(slug: str, name: str) -> str:
    return f"{SNAPSHOT_REPOSITORY}/{slug}:{name}"


def snapshot_tmp_image(slug: str, name: str) -> str:
    return f"{SNAPSHOT_TMP_REPOSITORY}/{slug}:{name}"


def snapshot_archive(name: str) -> str:
    return f"{SNAPSHOT_DIR}/{name}.tar"


@dataclass(frozen=True)
class SnapshotRecord:
    """A snapshot image, as ``facts.lifecycle.Snapshots`` reads it."""

    name: str
    source: str
    image: str
    created: str
    size: int
    labels: Mapping[str, str] = field(default_factory=dict)

    def spec_data(self) -> dict[str, Any]:
        raw = self.labels.get(LABEL_SNAPSHOT_SPEC, "")
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SpecError(f"snapshot {self.name} carries no readable pod spec") from exc
        if not isinstance(data, dict):
            raise SpecError(f"snapshot {self.name} carries no readable pod spec")
        return data

    def to_json(self) -> dict[str, Any]:
        """``{"name", "source_slug", "image", "archive", "created", "size_bytes"}``."""
        return {
            "name": self.name,
            "source_slug": self.source,
            "image": self.image,
            "archive": snapshot_archive(self.name),
            "created": self.created,
            "size_bytes": self.size,
        }


def program_commands(lines: Iterable[str]) -> dict[str, str]:
    """``.../app.conf:command=...`` lines (``grep -H``) -> ``{"app": "..."}``, ``%%`` undone."""
    commands: dict[str, str] = {}
    for line in lines:
        path, sep, command = line.partition(":command=")
        if sep:
            name = path.rsplit("/", 1)[-1].removesuffix(".conf")
            commands[name] = command.replace("%%", "%")
    return commands


def snapshot_spec_data(
    record: ContainerRecord,
    commands: Mapping[str, str],
    image_env: Sequence[str],
) -> dict[str, Any]:
    """The pod file a snapshot restores to.

    The pod's own pod file when pod.json could be read, without its fixed host port (a restore
    ``--as`` another slug must not collide with the source pod); otherwise rebuilt from labels,
    supervisor commands, limits and the pod's own env.
    """
    if record.spec_data:
        return {**record.spec_data, "host_port": None, "template": None}
    data = spec_data_from_labels(record.labels, record.image, record.runtime, commands)
    if record.cpus > 0:
        data["resources"] = {"cpus": record.cpus, "memory": record.memory_mb or 1024}
    env = {}
    for item in record.env:
        key, sep, value = item.partition("=")
        if sep and item not in image_env and not key.upper().startswith("PINACLE_"):
            env[key] = value
    if env:
        data["env"] = env
    return data


# --- doctor arithmetic --------------------------------------------------------------------------


def snapshot_visibility(daemon: Mapping[str, Any], runtime: str) -> tuple[str, str] | None:
    """``(level, message)`` on whether snapshots see a pod's root filesystem writes; None if unknown.

    Read from daemon.json: runsc keeps rootfs writes in a sandbox-internal overlay unless it runs
    with ``--overlay2=none`` (the overlay is runsc's default since 2023; gVisor issue 11559).
    """
    registered = (daemon.get("runtimes") or {}).get(runtime)
    if not isinstance(registered, dict):
        return None
    overlay = [a for a in registered.get("runtimeArgs") or [] if str(a).startswith("--overlay2")]
    if overlay == ["--overlay2=none"]:
        return "ok", f"{runtime} runs with --overlay2=none: snapshots see root filesystem writes"
    shown = overlay[-1] if overlay else "no --overlay2 flag (the release default keeps an overlay)"
    return "warn", f"{runtime} runs with {shown}: snapshots keep /workspace but miss root filesystem writes"


def pool_capacity(pools: Sequence[Mapping[str, Any]] | None) -> int:
    """How many networks ``default-address-pools`` can hand out (Docker's defaults when unset)."""
    entries = [(str(p.get("base")), int(p.get("size", 0))) for p in pools] if pools else list(DOCKER_DEFAULT_POOLS)
    total = 0
    for base, size in entries:
        try:
            network = ipaddress.ip_network(base, strict=False)
        except ValueError:
            continue
        if size >= network.prefixlen:
            total += 2 ** (size - network.prefixlen)
    return total


def level(used: int, capacity: int, warn_ratio: float = 0.8) -> str:
    """``ok``, ``warn`` (at least ``warn_ratio`` used) or ``fail`` (nothing left)."""
    if capacity <= 0 or used >= capacity:
        return "fail"
    return "warn" if used >= capacity * warn_ratio else "ok"


def ports_in_range(taken: Iterable[int], port_range: tuple[int, int]) -> int:
    low, high = port_range
    return sum(1 for p in set(taken) if low <= p <= high)
