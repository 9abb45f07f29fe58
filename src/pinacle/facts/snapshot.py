"""Facts about snapshots: every snapshot on a host in every state, and what a snapshot of a pod needs to read."""

from __future__ import annotations

import json
import shlex

from pyinfra.api import FactBase

from pinacle.errors import HostError
from pinacle.pod.names import SUPERVISOR_DIR
from pinacle.snapshots import (
    LABEL_SNAPSHOT_HELPER,
    LABEL_SNAPSHOT_NAME,
    RESTORE_DIR,
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
        f"grep -H '' {RESTORE_DIR}/*.json 2>/dev/null || true",
    ]
    return "; ".join(steps)


class SnapshotStates(FactBase[HostSnapshots]):
    """Every snapshot on the host: complete, incomplete (a killed run's leftovers) or in progress,
    and the restores under way. Docker failures fail the fact; only "No such image" is absence."""

    def command(self) -> str:
        return snapshot_states_command()

    def process(self, output: list[str]) -> HostSnapshots:
        try:
            return parse_snapshot_states(output)
        except ValueError as exc:
            raise HostError(f"Docker failed while pinacle read the host's snapshots: {exc}") from exc

    @staticmethod
    def default() -> HostSnapshots:
        return HostSnapshots()


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
