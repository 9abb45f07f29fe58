"""Facts about a pod host: its init system, package manager, Docker daemon, gVisor runtime, networks, paths."""

from __future__ import annotations

import re
import shlex

from pyinfra.api import FactBase

from pinacle.hostspec import PROBE_DIR
from pinacle.pod.names import LABEL_POD


class InitSystem(FactBase[str]):
    """``systemd``, ``openrc`` or ``none`` (a container or VM whose PID 1 is not an init system)."""

    def command(self) -> str:
        return (
            "if [ -d /run/systemd/system ]; then echo systemd; "
            "elif command -v openrc-run >/dev/null 2>&1 || [ -d /run/openrc ]; then echo openrc; "
            "else echo none; fi"
        )

    def process(self, output: list[str]) -> str:
        return output[0].strip() if output else "none"


class HostPackageManager(FactBase[str | None]):
    """``apt`` or ``apk``; None on hosts pinacle does not provision."""

    def command(self) -> str:
        return (
            "if command -v apk >/dev/null 2>&1; then echo apk; "
            "elif command -v apt-get >/dev/null 2>&1; then echo apt; else echo unknown; fi"
        )

    def process(self, output: list[str]) -> str | None:
        value = output[0].strip() if output else ""
        return value if value in ("apt", "apk") else None


class FileText(FactBase[str | None]):
    """The whole text of a file, or None when it does not exist."""

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -f {quoted} ]; then echo present; cat {quoted}; else echo absent; fi"

    def process(self, output: list[str]) -> str | None:
        if not output or output[0] != "present":
            return None
        return "\n".join(output[1:]) + "\n"


class FileSha512(FactBase[str | None]):
    """SHA-512 of a file, or None when it does not exist."""

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -f {quoted} ]; then sha512sum {quoted}; else echo absent; fi"

    def process(self, output: list[str]) -> str | None:
        first = output[0].split() if output else []
        return first[0] if first and first[0] != "absent" else None


class RunscVersion(FactBase[str | None]):
    """The version a runsc binary reports (``release-20250715.0``, ``0.0~20221219.0``), or None."""

    def command(self, path: str) -> str:
        quoted = shlex.quote(path)
        return f"if [ -x {quoted} ]; then {quoted} --version 2>/dev/null | head -n 1; fi; true"

    def process(self, output: list[str]) -> str | None:
        for line in output:
            if line.startswith("runsc version "):
                return line.split(" ", 2)[2].strip()
        return None


# apt-cache policy: "  Installed: 0.0~20240729.0-4+b7", " *** 0.0~20240729.0-4+b7 990",
# "        990 http://deb.debian.org/debian trixie/main amd64 Packages".
_POLICY_FIELD = re.compile(r"^\s*(Installed|Candidate): (\S+)$")
_POLICY_VERSION = re.compile(r"^\s*(?:\*\*\* )?(\S+) -?\d+$")
_POLICY_ORIGIN = re.compile(r"^\s*-?\d+ \S+ (\S+/\S+) \S+ Packages$")


class AptPolicy(FactBase[dict[str, object]]):
    """What ``apt-cache policy`` says of a package: installed and candidate versions, and the
    ``suite/component`` each version is listed in (``{"origins": {"0.0~20240729.0-4+b7":
    ["trixie/main"]}}``). Versions are None when absent; all empty without apt.
    """

    def command(self, package: str) -> str:
        return f"LC_ALL=C apt-cache policy {shlex.quote(package)} 2>/dev/null; true"

    def process(self, output: list[str]) -> dict[str, object]:
        fields: dict[str, str | None] = {"installed": None, "candidate": None}
        origins: dict[str, list[str]] = {}
        version: str | None = None
        for line in output:
            if field := _POLICY_FIELD.match(line):
                fields[field[1].lower()] = None if field[2] == "(none)" else field[2]
            elif listed := _POLICY_VERSION.match(line):
                version = listed[1]
                origins.setdefault(version, [])
            elif (origin := _POLICY_ORIGIN.match(line)) and version is not None:
                origins[version].append(origin[1])
        return {**fields, "origins": origins}

    @staticmethod
    def default() -> dict[str, object]:
        return {"installed": None, "candidate": None, "origins": {}}


class RunningProcesses(FactBase[set[str]]):
    """Which of the given daemons have a running process (``pidof``, busybox and procps alike)."""

    def command(self, names: tuple[str, ...] = ("containerd", "dockerd")) -> str:
        checks = " ".join(shlex.quote(n) for n in names)
        return f'for p in {checks}; do pidof "$p" >/dev/null 2>&1 && echo "$p"; done; true'

    def process(self, output: list[str]) -> set[str]:
        return {line.strip() for line in output if line.strip()}

    @staticmethod
    def default() -> set[str]:
        return set()


class DockerServer(FactBase[dict[str, object] | None]):
    """The Docker daemon as its API answers: version, runtimes, default runtime; None when down."""

    def command(self) -> str:
        return (
            "docker info --format "
            "'{{.ServerVersion}}|{{range $k, $v := .Runtimes}}{{$k}},{{end}}|{{.DefaultRuntime}}' "
            "2>/dev/null || echo down"
        )

    def process(self, output: list[str]) -> dict[str, object] | None:
        line = output[-1].strip() if output else "down"
        if line == "down" or line.count("|") != 2:
            return None
        version, runtimes, default = line.split("|")
        return {
            "version": version,
            "runtimes": sorted(r for r in runtimes.split(",") if r),
            "default_runtime": default,
        }


class DockerImageId(FactBase[str | None]):
    """The ID of a local image, or None."""

    def command(self, image: str) -> str:
        return f"docker image inspect --format '{{{{.Id}}}}' {shlex.quote(image)} 2>/dev/null || echo absent"

    def process(self, output: list[str]) -> str | None:
        value = output[-1].strip() if output else "absent"
        return None if value in ("absent", "") else value


class RuntimeProbe(FactBase[dict[str, object]]):
    """Start a throwaway container under a runtime: which kernel answers, and does coreutils' ls work.

    The probe image (``pinacle.hostspec.PROBE_IMAGE``) holds busybox and GNU coreutils' ``ls``; ``ls -lan``
    of its plain ``/probe`` directory fails with "Invalid argument" under a runsc that rejects
    statx flags. A fact, not an operation: proving the runtime works changes nothing on the host.
    """

    def command(self, runtime: str, image: str, directory: str = PROBE_DIR) -> str:
        inside = f"/bin/busybox dmesg && /bin/ls -lan {shlex.quote(directory)}"
        return (
            f"out=$(docker run --rm --runtime={shlex.quote(runtime)} {shlex.quote(image)} "
            f'/bin/sh -c {shlex.quote(inside)} 2>&1); rc=$?; echo "rc=$rc"; printf \'%s\\n\' "$out"; true'
        )

    def process(self, output: list[str]) -> dict[str, object]:
        rc = int(output[0].removeprefix("rc=")) if output and output[0].startswith("rc=") else -1
        text = "\n".join(output[1:])
        return {"ok": rc == 0 and "gVisor" in text, "rc": rc, "output": text}


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


class EgressRules(FactBase[str]):
    """``in-place``, ``missing`` or ``no-script``: are pinacle's pod egress rules what ``args`` ask?

    + script: the installed ``pinacle-egress``
    + args: its arguments (pools, ``--``, deny ranges); none: what it last applied
    """

    def command(self, script: str, args: tuple[str, ...] = ()) -> str:
        quoted = shlex.quote(script)
        check = " ".join([quoted, "check", *map(shlex.quote, args)])
        return (
            f"if [ -x {quoted} ]; then {check} >/dev/null 2>&1 && echo in-place || echo missing; "
            "else echo no-script; fi"
        )

    def process(self, output: list[str]) -> str:
        return output[-1].strip() if output else "missing"
