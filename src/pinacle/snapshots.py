"""Snapshots of a pod: names, image tags, archive paths, labels and the pod file they restore to.

Pure: no pyinfra import. ``docker commit`` captures the pod's root filesystem (installed packages,
supervisor configs) and the workspace volume is archived to a tarball on the host. Newer runsc
releases keep rootfs writes in a sandbox-internal overlay (gVisor issue 11559) that ``docker
commit`` does not see, so the host deploy registers the runtime with ``--overlay2=none`` unless the
host data asks for the overlay (``runsc_rootfs_overlay``); the workspace is on a volume either way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pinacle.errors import SpecError
from pinacle.pod.observed import ContainerRecord
from pinacle.pod.report import spec_data_from_labels

SNAPSHOT_REPOSITORY = "pinacle-snapshot"
SNAPSHOT_TMP_REPOSITORY = "pinacle-snapshot-tmp"
SNAPSHOT_DIR = "/var/lib/pinacle/snapshots"
LABEL_SNAPSHOT_OF = "pinacle.snapshot.of"
LABEL_SNAPSHOT_NAME = "pinacle.snapshot.name"
LABEL_SNAPSHOT_CREATED = "pinacle.snapshot.created"
LABEL_SNAPSHOT_SPEC = "pinacle.snapshot.spec"
LABEL_SNAPSHOT_LABELS = "pinacle.snapshot.labels"
SNAPSHOT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"


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
    """A snapshot image, as ``facts.snapshot.Snapshots`` reads it."""

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
