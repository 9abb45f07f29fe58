"""Facts for day-2 commands: every pod container, snapshot images, network usage."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase

from pinacle.facts.pod import CONTAINER_FORMAT, parse_container
from pinacle.pod.names import LABEL_POD, SUPERVISOR_DIR
from pinacle.pod.observed import ContainerRecord
from pinacle.snapshots import (
    LABEL_SNAPSHOT_NAME,
    LABEL_SNAPSHOT_OF,
    SNAPSHOT_REPOSITORY,
    SnapshotRecord,
    program_commands,
)


class PodContainers(FactBase[list[ContainerRecord]]):
    """Every container labelled as a pod (or as pod ``slug``), sorted by slug."""

    def command(self, slug: str | None = None) -> str:
        label = shlex.quote(f"{LABEL_POD}={slug}" if slug else LABEL_POD)
        return (
            f"docker ps -aq --filter label={label} | xargs -r docker inspect --type container "
            f"--format {shlex.quote(CONTAINER_FORMAT)} 2>/dev/null; true"
        )

    def process(self, output: list[str]) -> list[ContainerRecord]:
        records = []
        for line in output:
            if line.startswith("{"):
                record = parse_container(line)
                if record.slug:  # helpers started from snapshot images carry an empty label
                    records.append(record)
        return sorted(records, key=lambda r: r.slug)

    @staticmethod
    def default() -> list[ContainerRecord]:
        return []


class ProgramCommands(FactBase[dict[str, str]]):
    """The command of each supervised program inside a running pod container."""

    def command(self, container: str) -> str:
        script = f"grep -H '^command=' {shlex.quote(SUPERVISOR_DIR)}/*.conf"
        return f"docker exec {shlex.quote(container)} sh -c {shlex.quote(script)} 2>/dev/null; true"

    def process(self, output: list[str]) -> dict[str, str]:
        return program_commands(output)

    @staticmethod
    def default() -> dict[str, str]:
        return {}


class ImageEnv(FactBase[list[str]]):
    """The environment an image sets (to tell it from what a pod added)."""

    def command(self, image: str) -> str:
        return f"docker image inspect --format '{{{{json .Config.Env}}}}' {shlex.quote(image)} 2>/dev/null || echo null"

    def process(self, output: list[str]) -> list[str]:
        value = json.loads(output[-1]) if output else None
        return list(value or [])

    @staticmethod
    def default() -> list[str]:
        return []


class Snapshots(FactBase[list[SnapshotRecord]]):
    """Every pinacle snapshot image on the host (finished ones: tagged in the final repository)."""

    def command(self) -> str:
        fmt = (
            '{"tags":{{json .RepoTags}},"created":{{json .Created}},"size":{{.Size}},"labels":{{json .Config.Labels}}}'
        )
        return (
            f"docker image ls -q --filter label={LABEL_SNAPSHOT_OF} | sort -u | "
            f"xargs -r docker image inspect --format {shlex.quote(fmt)} 2>/dev/null; true"
        )

    def process(self, output: list[str]) -> list[SnapshotRecord]:
        found: list[SnapshotRecord] = []
        for line in output:
            if not line.startswith("{"):
                continue
            raw = json.loads(line)
            labels = dict(raw.get("labels") or {})
            for tag in raw.get("tags") or []:
                if tag.startswith(SNAPSHOT_REPOSITORY + "/"):
                    name = tag.rsplit(":", 1)[1]
                    found.append(
                        SnapshotRecord(
                            name=labels.get(LABEL_SNAPSHOT_NAME, name),
                            source=labels.get(LABEL_SNAPSHOT_OF, ""),
                            image=tag,
                            created=str(raw.get("created", "")),
                            size=int(raw.get("size") or 0),
                            labels=labels,
                        )
                    )
        return sorted(found, key=lambda s: (s.created, s.name))

    @staticmethod
    def default() -> list[SnapshotRecord]:
        return []


class NetworkUsage(FactBase[dict[str, int]]):
    """How many bridge networks exist (each takes a pool subnet) and how many are pods'."""

    def command(self) -> str:
        return (
            "echo bridge $(docker network ls -q --filter driver=bridge 2>/dev/null | wc -l); "
            f"echo pinacle $(docker network ls -q --filter label={LABEL_POD} 2>/dev/null | wc -l)"
        )

    def process(self, output: list[str]) -> dict[str, int]:
        usage: dict[str, int] = {}
        for line in output:
            key, _, count = line.partition(" ")
            if count.strip().isdigit():
                usage[key] = int(count)
        return usage

    @staticmethod
    def default() -> dict[str, int]:
        return {}


class PathExists(FactBase[bool]):
    """Whether a path exists on the host."""

    def command(self, path: str) -> str:
        return f"[ -e {shlex.quote(path)} ] && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1] == "yes"
