"""Facts about snapshots: the snapshot images on a host, and what a snapshot of a pod needs to read."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase

from pinacle.pod.names import SUPERVISOR_DIR
from pinacle.snapshots import (
    LABEL_SNAPSHOT_NAME,
    LABEL_SNAPSHOT_OF,
    SNAPSHOT_REPOSITORY,
    SnapshotRecord,
    program_commands,
)


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
