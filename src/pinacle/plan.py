"""The planner: a resolved PodSpec in, the pod's desired resources out; observed state in, actions out.

Pure (no pyinfra import): the operations and ``--dry-run`` both call ``diff_pod`` so what the plan
says is what apply does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pinacle.catalog import get_service, missing_from_image
from pinacle.errors import SpecError
from pinacle.router import Route, render_router_config, valid_domain
from pinacle.spec import PodSpec

LABEL_POD = "pinacle.pod"
LABEL_PORT = "pinacle.port"
LABEL_SPEC_HASH = "pinacle.spec-hash"
LABEL_SPEC_FIELDS = "pinacle.spec-fields"
LABEL_ROUTES = "pinacle.routes"
LABEL_DOMAIN = "pinacle.domain"
LABEL_NAME = "pinacle.name"

LIVE_LABELS = frozenset({LABEL_ROUTES})

# What a dry run calls each field of the container spec when it forces a replacement.
FIELD_NAMES = {
    "image": "image",
    "image_id": "image content (rebuilt)",
    "runtime": "runtime",
    "cpus": "resources.cpus",
    "memory_mb": "resources.memory",
    "env": "env",
    "network": "network",
    "volume": "volume",
    "publish_address": "publish address",
    "host_port": "host_port",
    "labels": "name or domain",
}

ROUTER_CONFIG_PATH = "/etc/pinacle/router/pod.conf"
# The deployed pod's routes, services and resolved pod file, written last by each deploy; labels
# are fixed when the container is created, this file follows live changes.
POD_METADATA_PATH = "/etc/pinacle/pod.json"
SUPERVISOR_DIR = "/etc/pinacle/supervisor"
WORKSPACE = "/workspace"
# Every pod image has this unprivileged user; it owns /workspace and runs the pod's services
# (root stays reachable inside the pod through sudo).
POD_USER = "dev"
POD_HOME = f"/home/{POD_USER}"
PORT_LOCK = "/run/lock/pinacle-ports.lock"


@dataclass(frozen=True)
class DeploySettings:
    """Where and how pods are published; the same for every pod on a target."""

    domain: str = "localhost"
    port_range: tuple[int, int] = (30000, 40000)
    publish_address: str = "127.0.0.1"

    def __post_init__(self) -> None:
        low, high = self.port_range
        if not 1024 <= low <= high <= 65535:
            raise SpecError(f"port range {low}-{high} must lie within 1024-65535, low to high")
        if not valid_domain(self.domain):
            raise SpecError(f"domain {self.domain!r} is not a valid host name suffix")
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", self.publish_address):
            raise SpecError(f"publish address {self.publish_address!r} must be an IPv4 address")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DeploySettings:
        """``PINACLE_DOMAIN``, ``PINACLE_PORT_RANGE`` (``30000-40000``), ``PINACLE_PUBLISH_ADDRESS``."""
        port_range = cls.port_range
        if raw := environ.get("PINACLE_PORT_RANGE"):
            match = re.fullmatch(r"(\d+)-(\d+)", raw)
            if not match:
                raise SpecError(f"PINACLE_PORT_RANGE must look like 30000-40000, got {raw!r}")
            port_range = (int(match[1]), int(match[2]))
        return cls(
            domain=environ.get("PINACLE_DOMAIN", cls.domain),
            port_range=port_range,
            publish_address=environ.get("PINACLE_PUBLISH_ADDRESS", cls.publish_address),
        )


def container_name(slug: str) -> str:
    return f"pinacle-{slug}"


def network_name(slug: str) -> str:
    return f"pinacle-{slug}"


def volume_name(slug: str) -> str:
    return f"pinacle-{slug}-workspace"


def pod_labels(slug: str) -> dict[str, str]:
    """The labels every resource of a pod carries, so nothing of it is ever orphaned."""
    return {LABEL_POD: slug}


@dataclass(frozen=True)
class ContainerSpec:
    """Everything ``docker run`` is given; its hash decides whether a container is replaced."""

    name: str
    image: str
    runtime: str
    cpus: float
    memory_mb: int
    env: tuple[tuple[str, str], ...]
    network: str
    volume: str
    publish_address: str
    host_port: int | None
    labels: tuple[tuple[str, str], ...]

    def _payload(self, image_id: str | None) -> dict[str, object]:
        return {
            "image": self.image,
            "image_id": image_id,
            "runtime": self.runtime,
            "cpus": self.cpus,
            "memory_mb": self.memory_mb,
            "env": list(self.env),
            "network": self.network,
            "volume": self.volume,
            "publish_address": self.publish_address,
            "host_port": self.host_port,
            # Routes and services are applied live (router reload, supervisor update); the labels
            # record them at creation time and must not force a replacement.
            "labels": [kv for kv in self.labels if kv[0] not in LIVE_LABELS],
        }

    def config_hash(self, image_id: str | None) -> str:
        """Like Compose's config-hash: any change to what the container was created from."""
        return _digest(self._payload(image_id))

    def spec_labels(self, image_id: str | None) -> dict[str, str]:
        """The hash that decides a replacement, and one short digest per field that says why.

        Digests rather than values: env values may be secrets and labels are readable by anyone
        who can list containers.
        """
        fields = ",".join(f"{key}:{_digest(value)[:8]}" for key, value in sorted(self._payload(image_id).items()))
        return {LABEL_SPEC_HASH: self.config_hash(image_id), LABEL_SPEC_FIELDS: fields}

    def changed_fields(self, image_id: str | None, recorded: str | None) -> list[str]:
        """Pod-file names of the fields that differ from a container's ``pinacle.spec-fields`` label."""
        if not recorded:
            return []
        old = dict(item.split(":", 1) for item in recorded.split(",") if ":" in item)
        new = dict(item.split(":", 1) for item in self.spec_labels(image_id)[LABEL_SPEC_FIELDS].split(","))
        changed = {key for key in new if old.get(key) != new[key]}
        if "image" in changed:
            changed.discard("image_id")  # another image has other content; saying so twice is noise
        return sorted(FIELD_NAMES.get(key, key) for key in changed)


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ServiceProgram:
    """One process the pod's supervisor keeps running."""

    name: str
    port: int
    command: str
    health_path: str

    @property
    def conf_path(self) -> str:
        return f"{SUPERVISOR_DIR}/{self.name}.conf"

    def supervisor_conf(self) -> str:
        # supervisord interpolates %(...)s in its values: a literal % must be doubled.
        command = self.command.replace("%", "%%")
        return (
            f"; pinacle service {self.name} (port {self.port}): generated, do not edit\n"
            f"[program:{self.name}]\n"
            f"command={command}\n"
            f"directory={WORKSPACE}\n"
            f"user={POD_USER}\n"
            f'environment=HOME="{POD_HOME}",USER="{POD_USER}",LOGNAME="{POD_USER}",SHELL="/bin/bash"\n'
            "autostart=true\nautorestart=true\nstartsecs=1\nstartretries=1000\n"
            "stopasgroup=true\nkillasgroup=true\n"
            f"stdout_logfile=/var/log/pinacle/{self.name}.log\n"
            "redirect_stderr=true\nstdout_logfile_maxbytes=10MB\n"
        )


@dataclass(frozen=True)
class PodPlan:
    """The desired resources of one pod."""

    slug: str
    name: str
    domain: str
    network: str
    volume: str
    container: ContainerSpec
    router_config: str
    programs: tuple[ServiceProgram, ...]
    routes: tuple[Route, ...]
    main_port: int
    port_range: tuple[int, int]
    # The resolved pod file; written into pod.json so day-2 commands (start's health checks,
    # snapshots) rebuild exactly this pod instead of guessing it back from labels.
    spec: PodSpec = field(compare=False)

    @property
    def labels(self) -> dict[str, str]:
        return pod_labels(self.slug)

    @property
    def router_sha(self) -> str:
        return sha256(self.router_config)

    @property
    def metadata(self) -> str:
        """What ``pinacle status``, ``start`` and ``snapshot`` read back from inside the pod."""
        return (
            json.dumps(
                {
                    "slug": self.slug,
                    "name": self.name,
                    "domain": self.domain,
                    "main_port": self.main_port,
                    "routes": [{"name": r.name, "port": r.port, "health_path": r.health_path} for r in self.routes],
                    "services": [p.name for p in self.programs],
                    "spec": self.spec.model_dump(mode="json"),
                },
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )

    def urls(self, host_port: int) -> dict[str, str]:
        return {r.name: r.url(self.slug, self.domain, host_port) for r in self.routes}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def plan_pod(spec: PodSpec, settings: DeploySettings) -> PodPlan:
    """Compile a resolved spec into the resources that make up the pod."""
    programs: list[ServiceProgram] = []
    routes: list[Route] = []
    for name in spec.services:
        service = get_service(name)
        programs.append(
            ServiceProgram(
                name=service.name,
                port=service.port,
                command=service.start,
                health_path=service.health_path,
            )
        )
        routes.append(Route(service.name, service.port, service.health_path))
    for app in spec.ports:
        routes.append(Route(app.name, app.port, app.health_path))
        if app.command:
            programs.append(ServiceProgram(app.name, app.port, app.command, app.health_path))

    labels = {
        **pod_labels(spec.slug),
        LABEL_NAME: spec.name,
        LABEL_DOMAIN: settings.domain,
        LABEL_ROUTES: ",".join(f"{r.name}:{r.port}" for r in routes),
    }
    container = ContainerSpec(
        name=container_name(spec.slug),
        image=spec.image,
        runtime=spec.runtime,
        cpus=spec.resources.cpus,
        memory_mb=spec.resources.memory_mb,
        env=tuple(sorted(spec.env.items())),
        network=network_name(spec.slug),
        volume=volume_name(spec.slug),
        publish_address=settings.publish_address,
        host_port=spec.host_port,
        labels=tuple(sorted(labels.items())),
    )
    return PodPlan(
        slug=spec.slug,
        name=spec.name,
        domain=settings.domain,
        network=network_name(spec.slug),
        volume=volume_name(spec.slug),
        container=container,
        router_config=render_router_config(spec.slug, settings.domain, routes, spec.main_port),
        programs=tuple(programs),
        routes=tuple(routes),
        main_port=spec.main_port,
        port_range=settings.port_range,
        spec=spec,
    )


# --- observed state and the diff -----------------------------------------------------------------


@dataclass(frozen=True)
class ContainerRecord:
    """One pod container as ``docker inspect`` describes it (facts ``PodContainer``/``PodContainers``).

    The planner reads its labels and state; day-2 commands read the rest.
    """

    name: str
    id: str
    status: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int = 0
    restart_count: int = 0
    started_at: str = ""
    created: str = ""
    image: str = ""
    runtime: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    cpus: float = 0.0
    memory_mb: int = 0
    env: tuple[str, ...] = ()
    # The resolved pod file from the pod's pod.json, when it could be read (see with_pod_metadata).
    spec_data: Mapping[str, Any] | None = None

    @property
    def slug(self) -> str:
        return self.labels.get(LABEL_POD, "")

    @property
    def host_port(self) -> int | None:
        raw = self.labels.get(LABEL_PORT, "")
        return int(raw) if raw.isdigit() else None

    @property
    def spec_hash(self) -> str | None:
        return self.labels.get(LABEL_SPEC_HASH)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def state(self) -> str:
        """``running``, ``stopped`` (exit 0 or stopped by hand), ``exited (N)``, ``dead``, ..."""
        if self.status == "exited":
            return "stopped" if self.exit_code in (0, 143) else f"exited ({self.exit_code})"
        return self.status


@dataclass(frozen=True)
class ObservedPod:
    """What the host has of one pod, as read by facts."""

    network: bool = False
    volume: bool = False
    container: ContainerRecord | None = None
    image_id: str | None = None
    router_sha: str | None = None
    metadata_sha: str | None = None
    program_shas: Mapping[str, str] = field(default_factory=dict)
    # The catalog services the pod's image carries (its label); None for a non-pinacle image.
    image_services: frozenset[str] | None = None


class Action(StrEnum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    START = "start"


@dataclass(frozen=True)
class Change:
    resource: str
    action: Action
    reason: str = ""

    def describe(self, dry_run: bool = True) -> str:
        verb = {
            Action.NOOP: "no change to",
            Action.CREATE: "create",
            Action.UPDATE: "update",
            Action.REPLACE: "replace",
            Action.DELETE: "delete",
            Action.START: "start",
        }[self.action]
        prefix = "Would " if dry_run and self.action is not Action.NOOP else ""
        text = f"{prefix}{verb} {self.resource}"
        return f"{text[0].upper()}{text[1:]}" + (f" ({self.reason})" if self.reason else "")


def image_problem(plan: PodPlan, observed: ObservedPod) -> str:
    """Why the pod's image cannot run this pod (empty when it can); checked before any change.

    The dry run reports it as an error and the container operation fails on it, before a
    container is created, so a pod never starts without the software its services need.
    """
    if observed.image_id is None:
        return (
            f"image {plan.container.image} is not on this host; build it with "
            "docker/build-base-image.sh or docker/build-workstation-image.sh (or set image: in the pod file)"
        )
    return missing_from_image(list(plan.spec.services), plan.container.image, observed.image_services)


def container_change(plan: PodPlan, observed: ObservedPod) -> Change:
    """Create, replace (and why), start, or leave the pod container alone."""
    resource = f"container {plan.container.name}"
    current = observed.container
    if current is None:
        return Change(resource, Action.CREATE, f"under runtime {plan.container.runtime}")
    wanted = plan.container.config_hash(observed.image_id)
    if current.spec_hash != wanted:
        changed = plan.container.changed_fields(observed.image_id, current.labels.get(LABEL_SPEC_FIELDS))
        why = f"{', '.join(changed)} changed" if changed else "its spec or image changed"
        return Change(resource, Action.REPLACE, f"{why}; the workspace is kept")
    if plan.container.host_port is not None and current.host_port != plan.container.host_port:
        return Change(resource, Action.REPLACE, f"host port {plan.container.host_port} requested")
    if not current.running:
        return Change(resource, Action.START, "it is stopped")
    return Change(resource, Action.NOOP)


def diff_pod(plan: PodPlan, observed: ObservedPod) -> list[Change]:
    """The plan, resource by resource, in the order apply walks it."""
    changes = [
        Change(f"network {plan.network}", Action.NOOP if observed.network else Action.CREATE),
        Change(f"volume {plan.volume}", Action.NOOP if observed.volume else Action.CREATE),
    ]
    container = container_change(plan, observed)
    changes.append(container)
    fresh = container.action in (Action.CREATE, Action.REPLACE)
    router = "router config"
    if fresh or observed.router_sha != plan.router_sha:
        changes.append(Change(router, Action.UPDATE, "rendered config differs; Nginx is reloaded"))
    else:
        changes.append(Change(router, Action.NOOP))
    for program in plan.programs:
        resource = f"service {program.name} (port {program.port})"
        if fresh or program.name not in observed.program_shas:
            changes.append(Change(resource, Action.CREATE))
        elif observed.program_shas[program.name] != sha256(program.supervisor_conf()):
            changes.append(Change(resource, Action.UPDATE, "its command changed"))
        else:
            changes.append(Change(resource, Action.NOOP))
    wanted = {p.name for p in plan.programs}
    for name in sorted(set(observed.program_shas) - wanted):
        changes.append(Change(f"service {name}", Action.DELETE, "no longer declared"))
    record = f"pod record {POD_METADATA_PATH}"
    if fresh or observed.metadata_sha != sha256(plan.metadata):
        changes.append(Change(record, Action.UPDATE, "the pod file day-2 commands read"))
    else:
        changes.append(Change(record, Action.NOOP))
    return changes


def healthy(status: int) -> bool:
    """Anything a server answered on its own (not the router's 404/502) counts as alive."""
    return 200 <= status < 500 and status != 404


def has_changes(changes: list[Change]) -> bool:
    return any(c.action is not Action.NOOP for c in changes)


def lowest_free_port(port_range: tuple[int, int], taken: set[int]) -> int | None:
    """The port a new pod would get: the lowest in range that no pod holds and nothing binds."""
    low, high = port_range
    return next((p for p in range(low, high + 1) if p not in taken), None)
