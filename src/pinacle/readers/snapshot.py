"""Reads of snapshots: every snapshot on a host in every state, and what a snapshot of a pod needs to read.

Pure: no pyinfra import (``pinacle.facts.snapshot`` wraps these as pyinfra facts).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from pinacle.errors import HostError
from pinacle.pod.names import SUPERVISOR_DIR
from pinacle.pod.restoring import READ_RESTORE_MARKERS
from pinacle.readers import Read
from pinacle.snapshots import (
    LABEL_SNAPSHOT_HELPER,
    LABEL_SNAPSHOT_NAME,
    SECTION,
    SNAPSHOT_DIR,
    SNAPSHOT_LOCK_GLOB,
    HostSnapshots,
    parse_snapshot_states,
    program_commands,
)

IMAGE_FORMAT = (
    '{"id":{{json .Id}},"tags":{{json .RepoTags}},"created":{{json .Created}},'
    '"size":{{.Size}},"labels":{{json .Config.Labels}}}'
)


def snapshot_states_command() -> str:
    """One round trip: snapshot images (tagged and dangling), the snapshot directory's files and
    manifests, helper containers, which names a live process holds, and the restore markers."""
    helper = f"ps -a --filter label={LABEL_SNAPSHOT_HELPER} --format '{{{{.Label \"{LABEL_SNAPSHOT_HELPER}\"}}}}'"
    steps = [
        f"echo '{SECTION}images'",
        f"ids=$(docker image ls -q --filter label={LABEL_SNAPSHOT_NAME} 2>&1) || "
        f'{{ printf "{SECTION}error docker: %s\\n" "$ids"; exit 0; }}',
        # An image removed between listing and inspecting is absent (its "No such image" line).
        f'[ -z "$ids" ] || docker image inspect --format {shlex.quote(IMAGE_FORMAT)} '
        '$(printf "%s\\n" "$ids" | sort -u) 2>&1 || true',
        f"echo '{SECTION}files'",
        f"ls -1 {SNAPSHOT_DIR} 2>/dev/null || true",
        f"echo '{SECTION}manifests'",
        f"grep -H '' {SNAPSHOT_DIR}/*.json 2>/dev/null || true",
        f"echo '{SECTION}helpers'",
        f'out=$(docker {helper} 2>&1) && {{ [ -z "$out" ] || printf "%s\\n" "$out"; }} '
        f'|| printf "{SECTION}error helpers: %s\\n" "$out"',
        f"echo '{SECTION}locks'",
        f"stat -c '%t:%T:%i %n' {SNAPSHOT_LOCK_GLOB} 2>/dev/null || true",
        f"echo '{SECTION}proc-locks'",
        "cat /proc/locks 2>/dev/null || true",
        f"echo '{SECTION}restores'",
        READ_RESTORE_MARKERS,
    ]
    return "; ".join(steps)


def parse_host_snapshots(output: Sequence[str]) -> HostSnapshots:
    """:func:`snapshot_states_command`'s output; HostError on a Docker failure."""
    try:
        return parse_snapshot_states(list(output))
    except ValueError as exc:
        raise HostError(f"Docker failed while pinacle read the host's snapshots: {exc}") from exc


def snapshot_states() -> Read[HostSnapshots]:
    """Every snapshot on the host: complete, incomplete (a killed run's leftovers) or in progress,
    and the restores under way. Docker failures fail the read; only "No such image" is absence."""
    return Read(snapshot_states_command(), parse_host_snapshots, HostSnapshots)


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
