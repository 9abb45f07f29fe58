"""The typed records every use case returns: what the CLI prints, what ``--json`` serialises.

Pure and immutable (frozen dataclasses, tuples, read-only mappings); no pyinfra import. Each
record's ``to_json()`` is the one JSON shape of that thing: ``pinacle status --json`` prints
``{"pods": [PodStatus.to_json(), ...]}`` and :class:`pinacle.PodManager` returns the records
themselves, so a control plane and a shell script see the same fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeVar

from pinacle.pod.diff import Change

V = TypeVar("V")


def frozen_mapping(items: Mapping[str, V] | None = None) -> Mapping[str, V]:
    """A read-only copy: a record's mapping cannot be changed through the record."""
    return MappingProxyType(dict(items or {}))


@dataclass(frozen=True)
class ServiceStatus:
    """One route of a pod: its service, the port inside the pod, its health and its URL.

    ``http_status`` and ``healthy`` are None when nothing was asked (the pod is not running, or
    the read skipped health checks).
    """

    name: str
    port: int
    http_status: int | None
    healthy: bool | None
    url: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "port": self.port,
            "http_status": self.http_status,
            "healthy": self.healthy,
            "url": self.url,
        }


@dataclass(frozen=True)
class PodStatus:
    """One pod on one host, as ``pinacle list`` and ``pinacle status`` show it."""

    host: str
    slug: str
    name: str
    state: str
    status: str
    exit_code: int
    restart_count: int
    host_port: int | None
    image: str
    runtime: str
    created: str
    age_seconds: int | None
    healthy: bool | None
    services: tuple[ServiceStatus, ...] = ()
    # What is wrong beyond health: not under a gVisor runtime, a damaged host record; "" if nothing.
    problem: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def urls(self) -> Mapping[str, str]:
        """Service name -> URL (services without a host port have none)."""
        return frozen_mapping({s.name: s.url for s in self.services if s.url})

    def service(self, name: str) -> ServiceStatus:
        for service in self.services:
            if service.name == name:
                return service
        raise KeyError(f"pod {self.slug} has no service {name}")

    def to_json(self) -> dict[str, Any]:
        """``{"host", "slug", "name", "state", "status", "exit_code", "restart_count", "host_port",
        "image", "runtime", "created", "age_seconds", "healthy", "services": [SERVICE, ...], "problem"}``."""
        return {
            "host": self.host,
            "slug": self.slug,
            "name": self.name,
            "state": self.state,
            "status": self.status,
            "exit_code": self.exit_code,
            "restart_count": self.restart_count,
            "host_port": self.host_port,
            "image": self.image,
            "runtime": self.runtime,
            "created": self.created,
            "age_seconds": self.age_seconds,
            "healthy": self.healthy,
            "services": [s.to_json() for s in self.services],
            "problem": self.problem,
        }


@dataclass(frozen=True)
class PodRollout:
    """One pod rolled out on one host: where it answers, and how many resources changed."""

    host: str
    slug: str
    host_port: int
    urls: Mapping[str, str]
    changes: int
    statuses: Mapping[str, int] = field(default_factory=frozen_mapping)

    def to_json(self) -> dict[str, Any]:
        """``{"host", "slug", "host_port", "urls": {SERVICE: URL}, "changes"}``."""
        return {
            "host": self.host,
            "slug": self.slug,
            "host_port": self.host_port,
            "urls": dict(self.urls),
            "changes": self.changes,
        }


# One resource of a pod and what a rollout would do to it: the diff's own record, not a copy.
PlannedChange = Change


@dataclass(frozen=True)
class PodPlanResult:
    """What a rollout of one pod would do on one host; ``problem`` says why it could not run."""

    host: str
    slug: str
    host_port: int | None
    changes: tuple[PlannedChange, ...]
    problem: str = ""
    placement: tuple[str, ...] = ()  # on a fleet: where the pod goes and why, then each host's verdict

    @property
    def pending(self) -> bool:
        return any(change.pending for change in self.changes)

    def to_json(self) -> dict[str, Any]:
        """``{"host", "slug", "host_port", "pending", "problem", "placement": [LINE], "changes": [CHANGE]}``."""
        return {
            "host": self.host,
            "slug": self.slug,
            "host_port": self.host_port,
            "pending": self.pending,
            "problem": self.problem,
            "placement": list(self.placement),
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass(frozen=True)
class SnapshotInfo:
    """A snapshot on a host: its image (the pod's root filesystem) and its workspace archive.

    ``state`` is ``complete`` (restorable), ``incomplete`` (what an interrupted ``pinacle snapshot``
    left, named in ``leftovers``: `pinacle snapshot delete NAME` or `prune` removes it, taking it
    again replaces it) or ``in-progress`` (another process is taking it now). ``leftovers`` also
    names stray temporary files beside a complete snapshot.
    """

    host: str
    name: str
    source_slug: str
    image: str
    archive: str
    created: str
    size_bytes: int
    state: str = "complete"
    leftovers: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.state == "complete"

    def to_json(self) -> dict[str, Any]:
        """``{"host", "name", "source_slug", "image", "archive", "created", "size_bytes", "state",
        "leftovers": [TEXT, ...]}``."""
        return {
            "host": self.host,
            "name": self.name,
            "source_slug": self.source_slug,
            "image": self.image,
            "archive": self.archive,
            "created": self.created,
            "size_bytes": self.size_bytes,
            "state": self.state,
            "leftovers": list(self.leftovers),
        }


@dataclass(frozen=True)
class DoctorCheck:
    """One check of ``pinacle doctor``: ``status`` is ``ok``, ``warn`` or ``fail``."""

    name: str
    status: str
    message: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "message": self.message, "fix": self.fix}


@dataclass(frozen=True)
class HostReport:
    """Every doctor check of one host."""

    host: str
    checks: tuple[DoctorCheck, ...]

    @property
    def ok(self) -> bool:
        return not any(check.failed for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "checks": [c.to_json() for c in self.checks]}


@dataclass(frozen=True)
class ExecResult:
    """A command run in a pod: its exit code and what it printed (decoded as UTF-8)."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def to_json(self) -> dict[str, Any]:
        return {"exit_code": self.exit_code, "stdout": self.stdout, "stderr": self.stderr}


@dataclass(frozen=True)
class PodToken:
    """A pod's secret at its host's edge (``pinacle token``): whoever has it can log in to the pod.

    Never in a repr, a log or another command's output; ``to_json`` is ``pinacle token --json``'s.
    """

    host: str
    slug: str
    secret: str = field(repr=False)
    rotated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "slug": self.slug, "secret": self.secret, "rotated": self.rotated}


@dataclass(frozen=True)
class LoginLink:
    """A one-time login URL for a pod's edge host name (``pinacle open``); it expires after
    ``ttl_seconds`` and works once. Visiting it sets the pod's cookie (7 days) and lands on the
    service. ``service`` is None for the pod's main name. For a public name (``visibility:
    public``) ``url`` is the plain URL, which needs no login, and ``ttl_seconds`` is None.

    No ``to_json``: the URL is a credential, and ``--json`` output never carries one.
    """

    host: str
    slug: str
    service: str | None
    url: str = field(repr=False)
    ttl_seconds: int | None

    @property
    def public(self) -> bool:
        return self.ttl_seconds is None
