"""The desired pod: a resolved pod file compiled into the resources that make it up."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from pinacle.catalog import get_service
from pinacle.pod.names import (
    LABEL_DOMAIN,
    LABEL_NAME,
    LABEL_ROUTES,
    LABEL_SPEC_FIELDS,
    LABEL_SPEC_HASH,
    POD_HOME,
    POD_LOG_DIR,
    POD_USER,
    ROUTER_CONFIG_PATH,
    SUPERVISOR_DIR,
    WORKSPACE,
    container_name,
    network_name,
    pod_labels,
    volume_name,
)
from pinacle.pod.settings import DeploySettings
from pinacle.router import Route, render_router_config
from pinacle.spec import PodSpec

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
    "pids_limit": "the pids limit",
}
# Host tasks one pod may hold (its gVisor sandbox's threads and its processes): a fork bomb in a
# pod stops at this instead of exhausting the host's PIDs. An idle pod holds about 45.
POD_PIDS_LIMIT = 4096


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
    pids_limit: int = POD_PIDS_LIMIT

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
            "pids_limit": self.pids_limit,
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
            f"stdout_logfile={POD_LOG_DIR}/{self.name}.log\n"
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
    # The resolved pod file; kept in the pod's host record, so day-2 commands (start's health
    # checks, snapshots) rebuild exactly this pod instead of guessing it back from labels.
    spec: PodSpec = field(compare=False)

    @property
    def labels(self) -> dict[str, str]:
        return pod_labels(self.slug)

    @property
    def config_files(self) -> dict[str, str]:
        """Every file pinacle writes into the pod: its router and one program file per service."""
        return {ROUTER_CONFIG_PATH: self.router_config, **{p.conf_path: p.supervisor_conf() for p in self.programs}}

    @property
    def config_shas(self) -> dict[str, str]:
        return {path: sha256(text) for path, text in self.config_files.items()}

    def urls(self, host_port: int) -> dict[str, str]:
        return {r.name: r.url(self.slug, self.domain, host_port) for r in self.routes}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def pod_routes(spec: PodSpec) -> tuple[Route, ...]:
    """The ports the pod's router serves, catalog services first: what day-2 reads (health
    checks, URLs, the edge's table) need of a plan, without rendering its router."""
    services = (get_service(name) for name in spec.services)
    return (
        *(Route(service.name, service.port, service.health_path) for service in services),
        *(Route(app.name, app.port, app.health_path) for app in spec.ports),
    )


def plan_pod(spec: PodSpec, settings: DeploySettings) -> PodPlan:
    """Compile a resolved spec into the resources that make up the pod."""
    programs: list[ServiceProgram] = []
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
    for app in spec.ports:
        if app.command:
            programs.append(ServiceProgram(app.name, app.port, app.command, app.health_path))
    routes = pod_routes(spec)

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
