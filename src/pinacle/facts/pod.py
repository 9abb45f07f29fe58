"""Facts about pods on a host, read from Docker labels and from inside the pod container."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

from pyinfra.api import FactBase

from pinacle.catalog import parse_image_services
from pinacle.plan import LABEL_POD, LABEL_PORT, POD_METADATA_PATH, ContainerRecord

# One JSON object per container: what the planner and every day-2 command read of it.
CONTAINER_FORMAT = (
    '{"name":{{json .Name}},"id":{{json .Id}},"status":{{json .State.Status}},'
    '"exit_code":{{.State.ExitCode}},"restart_count":{{.RestartCount}},'
    '"started_at":{{json .State.StartedAt}},"created":{{json .Created}},'
    '"image":{{json .Config.Image}},"runtime":{{json .HostConfig.Runtime}},'
    '"labels":{{json .Config.Labels}},"nano_cpus":{{.HostConfig.NanoCpus}},'
    '"memory":{{.HostConfig.Memory}},"env":{{json .Config.Env}}}'
)


def parse_container(line: str) -> ContainerRecord:
    """A :data:`CONTAINER_FORMAT` line as a record."""
    raw: dict[str, Any] = json.loads(line)
    return ContainerRecord(
        name=str(raw.get("name", "")).lstrip("/"),
        id=str(raw.get("id", "")),
        status=str(raw.get("status", "")),
        exit_code=int(raw.get("exit_code") or 0),
        restart_count=int(raw.get("restart_count") or 0),
        started_at=str(raw.get("started_at", "")),
        created=str(raw.get("created", "")),
        image=str(raw.get("image", "")),
        runtime=str(raw.get("runtime", "")),
        labels=dict(raw.get("labels") or {}),
        cpus=int(raw.get("nano_cpus") or 0) / 1e9,
        memory_mb=int(raw.get("memory") or 0) // (1024 * 1024),
        env=tuple(raw.get("env") or ()),
    )


class PodContainer(FactBase[ContainerRecord | None]):
    """The pod's container (by name), with its state and labels; None when absent."""

    def command(self, container: str) -> str:
        fmt = shlex.quote(CONTAINER_FORMAT)
        return f"docker inspect --type container --format {fmt} {shlex.quote(container)} 2>/dev/null || echo absent"

    def process(self, output: list[str]) -> ContainerRecord | None:
        line = output[-1] if output else "absent"
        return parse_container(line) if line.startswith("{") else None


class DockerObjectExists(FactBase[bool]):
    """Whether a Docker network or volume of that name exists."""

    def command(self, kind: str, object_name: str) -> str:
        return f"docker {kind} inspect {shlex.quote(object_name)} >/dev/null 2>&1 && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1] == "yes"


class PodObjects(FactBase[dict[str, list[str]]]):
    """Every container, network and volume labelled as belonging to a pod (for delete and checks)."""

    def command(self, slug: str) -> str:
        label = shlex.quote(f"{LABEL_POD}={slug}")
        return (
            f"docker ps -a --filter label={label} --format 'container {{{{.Names}}}}'; "
            f"docker network ls --filter label={label} --format 'network {{{{.Name}}}}'; "
            f"docker volume ls --filter label={label} --format 'volume {{{{.Name}}}}'; true"
        )

    def process(self, output: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {"container": [], "network": [], "volume": []}
        for line in output:
            kind, _, name = line.partition(" ")
            if kind in found and name:
                found[kind].append(name)
        return found

    @staticmethod
    def default() -> dict[str, list[str]]:
        return {"container": [], "network": [], "volume": []}


class TakenPorts(FactBase[dict[int, str]]):
    """Host ports held by pods (label -> slug) or bound by anything else ("" as owner)."""

    def command(self) -> str:
        return (
            f"docker ps -a --filter label={LABEL_PORT} "
            f'--format \'{{{{.Label "{LABEL_PORT}"}}}} {{{{.Label "{LABEL_POD}"}}}}\' 2>/dev/null; '
            'for h in $(awk \'NR>1 && $4=="0A" {split($2,a,":"); print a[2]}\' '
            '/proc/net/tcp /proc/net/tcp6 2>/dev/null); do echo "$((0x$h))"; done; true'
        )

    def process(self, output: list[str]) -> dict[int, str]:
        taken: dict[int, str] = {}
        for line in output:
            port, _, owner = line.strip().partition(" ")
            if port.isdigit():
                taken[int(port)] = owner or taken.get(int(port), "")
        return taken

    @staticmethod
    def default() -> dict[int, str]:
        return {}


def _shell_path(path: str) -> str:
    """Quote a path, leaving a trailing ``*.ext`` glob for the shell to expand."""
    directory, _, base = path.rpartition("/")
    if re.fullmatch(r"\*\.[a-z]+", base):
        return f"{shlex.quote(directory)}/{base}"
    return shlex.quote(path)


class PodFiles(FactBase[dict[str, str]]):
    """SHA-256 of pinacle's config files inside a running pod container, by path."""

    def command(self, container: str, paths: tuple[str, ...]) -> str:
        script = (
            "for f in " + " ".join(_shell_path(p) for p in paths) + ('; do [ -f "$f" ] && sha256sum "$f"; done; true')
        )
        return f"docker exec {shlex.quote(container)} sh -c {shlex.quote(script)} 2>/dev/null; true"

    def process(self, output: list[str]) -> dict[str, str]:
        shas: dict[str, str] = {}
        for line in output:
            parts = line.split()
            if len(parts) == 2:
                shas[parts[1]] = parts[0]
        return shas

    @staticmethod
    def default() -> dict[str, str]:
        return {}


class PodMetadata(FactBase[dict[str, object] | None]):
    """The pod's routes, services and pod file (``/etc/pinacle/pod.json``); None when unreadable.

    A stopped pod's file is read with ``docker cp``: it sits in the container's own layer, as the
    host deploy registers runsc without its sandbox-internal rootfs overlay.
    """

    def command(self, container: str) -> str:
        name = shlex.quote(container)
        return (
            f"docker exec {name} cat {POD_METADATA_PATH} 2>/dev/null"
            f" || docker cp {name}:{POD_METADATA_PATH} - 2>/dev/null | tar -xO 2>/dev/null; true"
        )

    def process(self, output: list[str]) -> dict[str, object] | None:
        try:
            value = json.loads("\n".join(output))
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


class PodImage(FactBase[tuple[str, frozenset[str] | None] | None]):
    """A local image's ID and the catalog services its label says it carries; None when absent.

    The services are None for an image pinacle did not build (it has no such label).
    """

    def command(self, image: str) -> str:
        fmt = shlex.quote("{{.Id}} {{json .Config.Labels}}")
        return f"docker image inspect --format {fmt} {shlex.quote(image)} 2>/dev/null || echo absent"

    def process(self, output: list[str]) -> tuple[str, frozenset[str] | None] | None:
        line = output[-1].strip() if output else "absent"
        image_id, _, labels = line.partition(" ")
        if not image_id.startswith("sha256:"):
            return None
        parsed = json.loads(labels) if labels.startswith("{") else None
        return image_id, parse_image_services(parsed if isinstance(parsed, dict) else None)


class RouteStatus(FactBase[dict[str, int]]):
    """HTTP status of each route, requested through the pod's published port and router."""

    def command(self, host_port: int, requests: Mapping[str, tuple[str, str]]) -> str:
        lines = []
        for name, (host_name, path) in sorted(requests.items()):
            url = shlex.quote(f"http://127.0.0.1:{int(host_port)}{path}")
            header = shlex.quote(f"Host: {host_name}")
            lines.append(
                f"echo {shlex.quote(name)} $(curl -s -o /dev/null -m 5 -w '%{{http_code}}' "
                f"-H {header} {url} 2>/dev/null || echo 000)"
            )
        return "; ".join(lines) + "; true"

    def process(self, output: list[str]) -> dict[str, int]:
        statuses: dict[str, int] = {}
        for line in output:
            name, _, code = line.rpartition(" ")
            if name and code[-3:].isdigit():
                statuses[name] = int(code[-3:])
        return statuses

    @staticmethod
    def default() -> dict[str, int]:
        return {}
