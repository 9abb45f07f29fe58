"""Facts about a pod host: pyinfra's view of the reads in :mod:`pinacle.readers.host`."""

from __future__ import annotations

from pyinfra.api import FactBase

from pinacle.readers import host as readers
from pinacle.readers.host import PROBE_DIR


class InitSystem(FactBase[str]):
    """``systemd``, ``openrc`` or ``none`` (a container or VM whose PID 1 is not an init system)."""

    def command(self) -> str:
        return readers.INIT_SYSTEM_COMMAND

    def process(self, output: list[str]) -> str:
        return readers.parse_init_system(output)


class HostPackageManager(FactBase[str | None]):
    """``apt`` or ``apk``; None on hosts pinacle does not provision."""

    def command(self) -> str:
        return readers.PACKAGE_MANAGER_COMMAND

    def process(self, output: list[str]) -> str | None:
        return readers.parse_package_manager(output)


class FileText(FactBase[str | None]):
    """The whole text of a file, or None when it does not exist."""

    def command(self, path: str) -> str:
        return readers.file_text_command(path)

    def process(self, output: list[str]) -> str | None:
        return readers.parse_file_text(output)


class FileSha512(FactBase[str | None]):
    """SHA-512 of a file, or None when it does not exist."""

    def command(self, path: str) -> str:
        return readers.file_sha512_command(path)

    def process(self, output: list[str]) -> str | None:
        return readers.parse_file_sha512(output)


class RunscVersion(FactBase[str | None]):
    """The version a runsc binary reports (``release-20250715.0``, ``0.0~20221219.0``), or None."""

    def command(self, path: str) -> str:
        return readers.runsc_version_command(path)

    def process(self, output: list[str]) -> str | None:
        return readers.parse_runsc_version(output)


class AptPolicy(FactBase[dict[str, object]]):
    """What ``apt-cache policy`` says of a package: installed and candidate versions, and the
    ``suite/component`` each version is listed in (``{"origins": {"0.0~20240729.0-4+b7":
    ["trixie/main"]}}``). Versions are None when absent; all empty without apt.
    """

    def command(self, package: str) -> str:
        return readers.apt_policy_command(package)

    def process(self, output: list[str]) -> dict[str, object]:
        return readers.parse_apt_policy(output)

    @staticmethod
    def default() -> dict[str, object]:
        return readers.no_apt_policy()


class RunningProcesses(FactBase[set[str]]):
    """Which of the given daemons have a running process (``pidof``, busybox and procps alike)."""

    def command(self, names: tuple[str, ...] = ("containerd", "dockerd")) -> str:
        return readers.running_processes_command(names)

    def process(self, output: list[str]) -> set[str]:
        return readers.parse_running_processes(output)

    @staticmethod
    def default() -> set[str]:
        return set()


class DockerServer(FactBase[readers.DockerInfo | None]):
    """The Docker daemon as its API answers: version, runtimes, default runtime; None when down."""

    def command(self) -> str:
        return readers.DOCKER_SERVER_COMMAND

    def process(self, output: list[str]) -> readers.DockerInfo | None:
        return readers.parse_docker_server(output)


class DockerImageId(FactBase[str | None]):
    """The ID of a local image, or None."""

    def command(self, image: str) -> str:
        return readers.docker_image_id_command(image)

    def process(self, output: list[str]) -> str | None:
        return readers.parse_docker_image_id(output)


class RuntimeProbe(FactBase[dict[str, object]]):
    """Start a throwaway container under a runtime: which kernel answers, and does coreutils' ls work.

    See :func:`pinacle.readers.host.runtime_probe`.
    """

    def command(self, runtime: str, image: str, directory: str = PROBE_DIR) -> str:
        return readers.runtime_probe_command(runtime, image, directory)

    def process(self, output: list[str]) -> dict[str, object]:
        return readers.parse_runtime_probe(output)


class NetworkUsage(FactBase[dict[str, int]]):
    """How many bridge networks exist (each takes a pool subnet) and how many are pods'."""

    def command(self) -> str:
        return readers.NETWORK_USAGE_COMMAND

    def process(self, output: list[str]) -> dict[str, int]:
        return readers.parse_network_usage(output)

    @staticmethod
    def default() -> dict[str, int]:
        return {}


class PathExists(FactBase[bool]):
    """Whether a path exists on the host."""

    def command(self, path: str) -> str:
        return readers.path_exists_command(path)

    def process(self, output: list[str]) -> bool:
        return readers.parse_path_exists(output)


class EgressRules(FactBase[str]):
    """``in-place``, ``missing`` or ``no-script``: are pinacle's pod egress rules what ``args`` ask?

    + script: the installed ``pinacle-egress``
    + args: its arguments (pools, ``--``, deny ranges); none: what it last applied
    """

    def command(self, script: str, args: tuple[str, ...] = ()) -> str:
        return readers.egress_rules_command(script, args)

    def process(self, output: list[str]) -> str:
        return readers.parse_egress_rules(output)
