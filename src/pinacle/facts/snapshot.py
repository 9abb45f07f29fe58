"""Facts about snapshots: pyinfra's view of the reads in :mod:`pinacle.readers.snapshot`."""

from __future__ import annotations

from pyinfra.api import FactBase

from pinacle.readers import snapshot as readers
from pinacle.readers.snapshot import IMAGE_FORMAT, snapshot_states_command  # noqa: F401 (re-exported)
from pinacle.snapshots import HostSnapshots, program_commands


class SnapshotStates(FactBase[HostSnapshots]):
    """Every snapshot on the host: complete, incomplete (a killed run's leftovers) or in progress,
    and the restores under way. Docker failures fail the fact; only "No such image" is absence."""

    def command(self) -> str:
        return readers.snapshot_states_command()

    def process(self, output: list[str]) -> HostSnapshots:
        return readers.parse_host_snapshots(output)

    @staticmethod
    def default() -> HostSnapshots:
        return HostSnapshots()


class ProgramCommands(FactBase[dict[str, str]]):
    """The command of each supervised program inside a running pod container."""

    def command(self, container: str) -> str:
        return readers.program_commands_command(container)

    def process(self, output: list[str]) -> dict[str, str]:
        return program_commands(output)

    @staticmethod
    def default() -> dict[str, str]:
        return {}


class ImageEnv(FactBase[list[str]]):
    """The environment an image sets (to tell it from what a pod added)."""

    def command(self, image: str) -> str:
        return readers.image_env_command(image)

    def process(self, output: list[str]) -> list[str]:
        return readers.parse_image_env(output)

    @staticmethod
    def default() -> list[str]:
        return []
