"""Snapshots of a pod: names, image tags, archive paths, manifests, states and the pod file they restore to.

Pure: no pyinfra import. ``docker commit`` captures the pod's root filesystem (installed packages,
supervisor configs), the workspace volume is archived to a tarball on the host, and the pod file
the snapshot restores to is kept byte for byte in a root-only manifest beside it (never in an image
label: ``docker commit --change LABEL`` expands ``$VAR``, and labels are readable by anyone who can
reach Docker, while env values may be secrets). The host script ``pinacle-snapshot`` writes all
three under the name's lock, the manifest last; what a killed run leaves is read back here as an
``incomplete`` snapshot. Newer runsc
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
from pinacle.pod.names import lock_path
from pinacle.pod.observed import ContainerRecord
from pinacle.pod.report import spec_data_from_labels
from pinacle.pod.restoring import RestoreMarker, parse_restore_markers

SNAPSHOT_REPOSITORY = "pinacle-snapshot"
SNAPSHOT_TMP_REPOSITORY = "pinacle-snapshot-tmp"
# Root-only (0700): the archives, and the manifests that hold each snapshot's pod file (env too).
SNAPSHOT_DIR = "/var/lib/pinacle/snapshots"
SNAPSHOT_LOCK_GLOB = lock_path("snapshot", "*")
# The host script that takes, cleans and removes snapshots under their name's lock
# (src/pinacle/host_scripts/pinacle-snapshot, installed by the host deploy).
SNAPSHOT_SCRIPT = "/usr/local/lib/pinacle/pinacle-snapshot"
# What it says (exit 73) when the name is complete or another process holds it.
SNAPSHOT_EXISTS_MESSAGE = "already exists"
LABEL_SNAPSHOT_OF = "pinacle.snapshot.of"
LABEL_SNAPSHOT_NAME = "pinacle.snapshot.name"
LABEL_SNAPSHOT_CREATED = "pinacle.snapshot.created"
LABEL_SNAPSHOT_HELPER = "pinacle.snapshot.helper"
# Only snapshots taken before manifests carry these (values went through Dockerfile expansion).
LABEL_SNAPSHOT_SPEC = "pinacle.snapshot.spec"
LABEL_SNAPSHOT_LABELS = "pinacle.snapshot.labels"
SNAPSHOT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"

COMPLETE = "complete"
INCOMPLETE = "incomplete"
IN_PROGRESS = "in-progress"


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


def snapshot_manifest(name: str) -> str:
    return f"{SNAPSHOT_DIR}/{name}.json"


def snapshot_helper(name: str) -> str:
    """The container that streams a snapshot's workspace out (a dot: never a pod's name)."""
    return f"pinacle-snapshot.{name}"


def restore_helper(slug: str) -> str:
    """The container that fills a restored pod's workspace (a dot: never a pod's name)."""
    return f"pinacle-restore.{slug}"


def snapshot_manifest_text(
    name: str, source: str, created: str, spec: Mapping[str, Any], labels: Mapping[str, str]
) -> str:
    """The manifest of a snapshot: one line of JSON, stored on the host byte for byte.

    ``spec`` is the pod file the snapshot restores to, ``labels`` the source pod's ``pinacle.*``
    labels. ASCII-only (``\\u`` escapes), so no shell, Dockerfile or terminal decoding touches it.
    """
    data = {
        "version": 1,
        "name": name,
        "source": source,
        "created": created,
        "spec": dict(spec),
        "labels": {k: v for k, v in sorted(labels.items()) if k.startswith("pinacle.")},
    }
    return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class Manifest:
    """A snapshot's manifest as read back; ``error`` says why it could not be (then spec is None)."""

    name: str
    source: str = ""
    created: str = ""
    spec: Mapping[str, Any] | None = None
    error: str = ""

    @classmethod
    def parse(cls, name: str, text: str) -> Manifest:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return cls(name, error=f"its manifest is not JSON ({exc.msg})")
        spec = data.get("spec") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("version") != 1 or not isinstance(spec, dict):
            return cls(name, error="its manifest is not a version 1 snapshot manifest")
        return cls(name, str(data.get("source", "")), str(data.get("created", "")), spec)


@dataclass(frozen=True)
class SnapshotRecord:
    """A snapshot on a host, as ``facts.snapshot.SnapshotStates`` reads it.

    + state: ``complete``; ``incomplete`` (what a killed or failed run left: ``leftovers``);
      ``in-progress`` (a live ``pinacle snapshot`` or delete holds its name)
    + leftovers: what is there besides a complete snapshot, each in words
    """

    name: str
    source: str
    image: str
    created: str
    size: int
    labels: Mapping[str, str] = field(default_factory=dict)
    manifest: Manifest | None = None
    state: str = COMPLETE
    leftovers: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    def spec_data(self) -> dict[str, Any]:
        """The pod file it restores to: from its manifest, else (older snapshots) its image label."""
        if self.manifest is not None:
            if self.manifest.spec is None:
                raise SpecError(f"snapshot {self.name} carries no readable pod spec: {self.manifest.error}")
            return dict(self.manifest.spec)
        raw = self.labels.get(LABEL_SNAPSHOT_SPEC, "")
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SpecError(f"snapshot {self.name} carries no readable pod spec") from exc
        if not isinstance(data, dict):
            raise SpecError(f"snapshot {self.name} carries no readable pod spec")
        return data

    def to_json(self) -> dict[str, Any]:
        """``{"name", "source_slug", "image", "archive", "created", "size_bytes", "state", "leftovers"}``."""
        return {
            "name": self.name,
            "source_slug": self.source,
            "image": self.image,
            "archive": snapshot_archive(self.name),
            "created": self.created,
            "size_bytes": self.size,
            "state": self.state,
            "leftovers": list(self.leftovers),
        }


@dataclass(frozen=True)
class HostSnapshots:
    """Every snapshot of a host, whatever its state, and the restores under way (slug -> marker)."""

    snapshots: tuple[SnapshotRecord, ...] = ()
    restores: Mapping[str, RestoreMarker] = field(default_factory=dict)


SECTION = "#pinacle:"


def _device_inode(text: str) -> tuple[int, int, int] | None:
    """``"fe:00:1234"`` (hex major, hex minor, decimal inode) -> numbers."""
    parts = text.split(":")
    try:
        return int(parts[0], 16), int(parts[1], 16), int(parts[2])
    except (IndexError, ValueError):
        return None


def held_lock_names(stats: Iterable[str], proc_locks: Iterable[str]) -> set[str]:
    """Names whose lock file someone holds (an flock in ``/proc/locks``), without taking any lock.

    + stats: ``stat -c '%t:%T:%i %n'`` lines of the lock files
    + proc_locks: ``/proc/locks`` lines
    """
    held: set[tuple[int, int, int]] = set()
    for line in proc_locks:
        fields = line.split()
        if len(fields) >= 6 and fields[1] == "FLOCK" and (key := _device_inode(fields[5])):
            held.add(key)
    names = set()
    for line in stats:
        device, _, path = line.strip().partition(" ")
        base = path.rsplit("/", 1)[-1]
        if base.startswith("snapshot-") and base.endswith(".lock") and _device_inode(device) in held:
            names.add(base.removeprefix("snapshot-").removesuffix(".lock"))
    return names


def parse_snapshot_states(output: Sequence[str]) -> HostSnapshots:
    """``facts.snapshot.snapshot_states_command``'s output; SpecError-free, HostError-free.

    Raises ValueError with Docker's message on an error line (the fact turns it into HostError).
    """
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output:
        if line.startswith(SECTION + "error "):
            raise ValueError(line.removeprefix(SECTION + "error "))
        if line.startswith(SECTION):
            current = sections.setdefault(line.removeprefix(SECTION), [])
        elif current is not None:
            current.append(line)

    finals: dict[str, dict[str, Any]] = {}
    temporary: dict[str, list[str]] = {}
    dangling: dict[str, list[str]] = {}
    for line in sections.get("images", []):
        if not line.startswith("{"):
            if line.strip() and "No such image" not in line:
                raise ValueError(f"reading snapshot images: {line.strip()}")
            continue
        raw = json.loads(line)
        labels = dict(raw.get("labels") or {})
        name = labels.get(LABEL_SNAPSHOT_NAME, "")
        if not name:
            continue
        tags = list(raw.get("tags") or [])
        if not tags:
            dangling.setdefault(name, []).append(str(raw.get("id", "")).removeprefix("sha256:")[:12])
        for tag in tags:
            if tag.startswith(SNAPSHOT_REPOSITORY + "/"):
                finals[name] = {**raw, "tag": tag, "labels": labels}
            elif tag.startswith(SNAPSHOT_TMP_REPOSITORY + "/"):
                temporary.setdefault(name, []).append(tag)

    files = {line.strip() for line in sections.get("files", []) if line.strip()}
    manifests: dict[str, Manifest] = {}
    for line in sections.get("manifests", []):
        path, _, text = line.partition(":")
        name = path.rsplit("/", 1)[-1].removesuffix(".json")
        manifests[name] = Manifest.parse(name, text)
    helpers = {line.strip() for line in sections.get("helpers", []) if line.strip()}
    held = held_lock_names(sections.get("locks", []), sections.get("proc-locks", []))

    names = set(finals) | set(temporary) | set(dangling) | set(manifests) | helpers | held
    for item in files:
        for suffix in (".tar", ".tar.part", ".json", ".json.part"):
            if item.endswith(suffix):
                names.add(item.removesuffix(suffix))
                break
    records = []
    for name in names:
        final = finals.get(name)
        manifest = manifests.get(name)
        labels = dict(final["labels"]) if final else {}
        has_archive = f"{name}.tar" in files
        legacy = bool(labels.get(LABEL_SNAPSHOT_SPEC)) and f"{name}.json" not in files
        complete = final is not None and has_archive and (f"{name}.json" in files or legacy)
        leftovers = [f"temporary image {tag}" for tag in temporary.get(name, [])]
        leftovers += [f"untagged image {image_id}" for image_id in dangling.get(name, [])]
        parts = [s for s in (".tar.part", ".json.part") if name + s in files]
        leftovers += [f"partial file {SNAPSHOT_DIR}/{name}{s}" for s in parts]
        if name in helpers:
            leftovers.append(f"helper container {snapshot_helper(name)}")
        if not complete:
            if final is not None:
                leftovers.append(f"image {final['tag']}")
            leftovers += [f"{what} {SNAPSHOT_DIR}/{name}{s}" for what, s in (("archive", ".tar"), ("manifest", ".json"))
                          if name + s in files]  # fmt: skip
        state = IN_PROGRESS if name in held else COMPLETE if complete else INCOMPLETE
        tag = final["tag"] if final else (temporary.get(name) or [""])[0]
        source = (manifest.source if manifest else "") or labels.get(LABEL_SNAPSHOT_OF, "")
        if not source and tag:
            source = tag.split("/", 1)[1].rsplit(":", 1)[0]
        created = str(final.get("created", "")) if final else (manifest.created if manifest else "")
        records.append(
            SnapshotRecord(
                name=name,
                source=source,
                image=tag,
                created=created,
                size=int(final.get("size") or 0) if final else 0,
                labels=labels,
                manifest=manifest,
                state=state,
                leftovers=tuple(leftovers),
            )
        )
    restores = parse_restore_markers(sections.get("restores", []))
    return HostSnapshots(tuple(sorted(records, key=lambda r: (r.created, r.name))), restores)


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
