"""Reads of snapshots: the snapshot images on a host, and what a snapshot of a pod needs to read.

Pure: no pyinfra import (``pinacle.facts.snapshot`` wraps these as pyinfra facts).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from pinacle.pod.names import SUPERVISOR_DIR
from pinacle.readers import Read
from pinacle.snapshots import (
    LABEL_SNAPSHOT_NAME,
    LABEL_SNAPSHOT_OF,
    SNAPSHOT_REPOSITORY,
    SnapshotRecord,
    program_commands,
)

_SNAPSHOT_FORMAT = (
    '{"tags":{{json .RepoTags}},"created":{{json .Created}},"size":{{.Size}},"labels":{{json .Config.Labels}}}'
)
SNAPSHOTS_COMMAND = (
    f"docker image ls -q --filter label={LABEL_SNAPSHOT_OF} | sort -u | "
    f"xargs -r docker image inspect --format {shlex.quote(_SNAPSHOT_FORMAT)} 2>/dev/null; true"
)


def parse_snapshots(output: Sequence[str]) -> list[SnapshotRecord]:
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


def snapshot_images() -> Read[list[SnapshotRecord]]:
    """Every pinacle snapshot image on the host (finished ones: tagged in the final repository)."""
    return Read(SNAPSHOTS_COMMAND, parse_snapshots, list)


def program_commands_command(container: str) -> str:
    script = f"grep -H '^command=' {shlex.quote(SUPERVISOR_DIR)}/*.conf"
    return f"docker exec {shlex.quote(container)} sh -c {shlex.quote(script)} 2>/dev/null; true"


def program_commands_of(container: str) -> Read[dict[str, str]]:
    """The command of each supervised program inside a running pod container."""
    return Read(program_commands_command(container), program_commands, dict)


def image_env_command(image: str) -> str:
    return f"docker image inspect --format '{{{{json .Config.Env}}}}' {shlex.quote(image)} 2>/dev/null || echo null"


def parse_image_env(output: Sequence[str]) -> list[str]:
    value = json.loads(output[-1]) if output else None
    return list(value or [])


def image_env_of(image: str) -> Read[list[str]]:
    """The environment an image sets (to tell it from what a pod added)."""
    return Read(image_env_command(image), parse_image_env, list)
