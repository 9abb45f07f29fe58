"""Facts about snapshots: pyinfra's view of the reads in :mod:`pinacle.readers.snapshot`."""

from __future__ import annotations

from pyinfra.api import FactBase

from pinacle.readers import snapshot as readers
from pinacle.snapshots import SnapshotRecord, program_commands


class Snapshots(FactBase[list[SnapshotRecord]]):
    """Every pinacle snapshot image on the host (finished ones: tagged in the final repository)."""

    def command(self) -> str:
        return readers.SNAPSHOTS_COMMAND

    def process(self, output: list[str]) -> list[SnapshotRecord]:
        return readers.parse_snapshots(output)

    @staticmethod
    def default() -> list[SnapshotRecord]:
        return []


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
