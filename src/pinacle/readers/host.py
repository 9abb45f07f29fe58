"""Reads of a pod host: its init system, package manager, Docker daemon, gVisor runtime, networks, paths.

Pure: no pyinfra import (``pinacle.facts.host`` wraps these as pyinfra facts).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from typing import TypedDict

from pinacle.errors import HostError
from pinacle.pod.names import LABEL_POD
from pinacle.readers import Read

# A tiny image that exists only to prove the runtime works: a static busybox (sh, dmesg), the host's
# GNU coreutils ``ls`` with the shared libraries it loads, and a plain directory (/probe) without
# symlinks for it to list. Busybox's ls does not call statx the way coreutils does, and an old runsc
# that rejects statx flags breaks every coreutils ls/stat in pods. Bump the tag when the contents
# change: hosts that have the old tag then build the new probe.
PROBE_IMAGE = "pinacle/probe:2"
PROBE_DIR = "/probe"


def _first_word(output: Sequence[str], absent: str) -> str:
    return output[0].strip() if output else absent


# --- init system and package manager ------------------------------------------------------------

INIT_SYSTEM_COMMAND = (
    "if [ -d /run/systemd/system ]; then echo systemd; "
    "elif command -v openrc-run >/dev/null 2>&1 || [ -d /run/openrc ]; then echo openrc; "
    "else echo none; fi"
)


def parse_init_system(output: Sequence[str]) -> str:
    return _first_word(output, "none")


def init_system() -> Read[str | None]:
    """``systemd``, ``openrc`` or ``none`` (a container or VM whose PID 1 is not an init system)."""
    return Read(INIT_SYSTEM_COMMAND, parse_init_system, lambda: None)


PACKAGE_MANAGER_COMMAND = (
    "if command -v apk >/dev/null 2>&1; then echo apk; "
    "elif command -v apt-get >/dev/null 2>&1; then echo apt; else echo unknown; fi"
)


def parse_package_manager(output: Sequence[str]) -> str | None:
    value = _first_word(output, "")
    return value if value in ("apt", "apk") else None


def package_manager() -> Read[str | None]:
    """``apt`` or ``apk``; None on hosts pinacle does not provision."""
    return Read(PACKAGE_MANAGER_COMMAND, parse_package_manager, lambda: None)


# --- files --------------------------------------------------------------------------------------


def file_text_command(path: str) -> str:
    quoted = shlex.quote(path)
    return f"if [ -f {quoted} ]; then echo present; cat {quoted}; else echo absent; fi"


def parse_file_text(output: Sequence[str]) -> str | None:
    if not output or output[0] != "present":
        return None
    return "\n".join(output[1:]) + "\n"


def file_text(path: str) -> Read[str | None]:
    """The whole text of a file, or None when it does not exist."""
    return Read(file_text_command(path), parse_file_text, lambda: None)


def file_sha512_command(path: str) -> str:
    quoted = shlex.quote(path)
    return f"if [ -f {quoted} ]; then sha512sum {quoted}; else echo absent; fi"


def parse_file_sha512(output: Sequence[str]) -> str | None:
    first = output[0].split() if output else []
    return first[0] if first and first[0] != "absent" else None


def file_sha512(path: str) -> Read[str | None]:
    """SHA-512 of a file, or None when it does not exist."""
    return Read(file_sha512_command(path), parse_file_sha512, lambda: None)


def path_exists_command(path: str) -> str:
    return f"[ -e {shlex.quote(path)} ] && echo yes || echo no"


def parse_path_exists(output: Sequence[str]) -> bool:
    return bool(output) and output[-1] == "yes"


def path_exists(path: str) -> Read[bool | None]:
    """Whether a path exists on the host (None, as pyinfra's facts say it, when nothing answered)."""
    return Read(path_exists_command(path), parse_path_exists, lambda: None)


# --- runsc and apt ------------------------------------------------------------------------------


def runsc_version_command(path: str) -> str:
    quoted = shlex.quote(path)
    return f"if [ -x {quoted} ]; then {quoted} --version 2>/dev/null | head -n 1; fi; true"


def parse_runsc_version(output: Sequence[str]) -> str | None:
    for line in output:
        if line.startswith("runsc version "):
            return line.split(" ", 2)[2].strip()
    return None


def runsc_version(path: str) -> Read[str | None]:
    """The version a runsc binary reports (``release-20250715.0``, ``0.0~20221219.0``), or None."""
    return Read(runsc_version_command(path), parse_runsc_version, lambda: None)


# apt-cache policy: "  Installed: 0.0~20240729.0-4+b7", " *** 0.0~20240729.0-4+b7 990",
# "        990 http://deb.debian.org/debian trixie/main amd64 Packages".
_POLICY_FIELD = re.compile(r"^\s*(Installed|Candidate): (\S+)$")
_POLICY_VERSION = re.compile(r"^\s*(?:\*\*\* )?(\S+) -?\d+$")
_POLICY_ORIGIN = re.compile(r"^\s*-?\d+ \S+ (\S+/\S+) \S+ Packages$")


def apt_policy_command(package: str) -> str:
    return f"LC_ALL=C apt-cache policy {shlex.quote(package)} 2>/dev/null; true"


def no_apt_policy() -> dict[str, object]:
    return {"installed": None, "candidate": None, "origins": {}}


def parse_apt_policy(output: Sequence[str]) -> dict[str, object]:
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


def apt_policy(package: str) -> Read[dict[str, object]]:
    """What ``apt-cache policy`` says of a package: installed and candidate versions, and the
    ``suite/component`` each version is listed in (``{"origins": {"0.0~20240729.0-4+b7":
    ["trixie/main"]}}``). Versions are None when absent; all empty without apt.
    """
    return Read(apt_policy_command(package), parse_apt_policy, no_apt_policy)


# --- daemons ------------------------------------------------------------------------------------


def running_processes_command(names: Sequence[str] = ("containerd", "dockerd")) -> str:
    checks = " ".join(shlex.quote(n) for n in names)
    return f'for p in {checks}; do pidof "$p" >/dev/null 2>&1 && echo "$p"; done; true'


def parse_running_processes(output: Sequence[str]) -> set[str]:
    return {line.strip() for line in output if line.strip()}


def running_processes(names: Sequence[str] = ("containerd", "dockerd")) -> Read[set[str]]:
    """Which of the given daemons have a running process (``pidof``, busybox and procps alike)."""
    return Read(running_processes_command(names), parse_running_processes, set)


DOCKER_SERVER_COMMAND = (
    "docker info --format "
    "'{{.ServerVersion}}|{{range $k, $v := .Runtimes}}{{$k}},{{end}}|{{.DefaultRuntime}}' "
    "2>/dev/null || echo down"
)


class DockerInfo(TypedDict):
    version: str
    runtimes: list[str]
    default_runtime: str


def parse_docker_server(output: Sequence[str]) -> DockerInfo | None:
    line = output[-1].strip() if output else "down"
    if line == "down" or line.count("|") != 2:
        return None
    version, runtimes, default = line.split("|")
    return {
        "version": version,
        "runtimes": sorted(r for r in runtimes.split(",") if r),
        "default_runtime": default,
    }


def docker_server() -> Read[DockerInfo | None]:
    """The Docker daemon as its API answers: version, runtimes, default runtime; None when down."""
    return Read(DOCKER_SERVER_COMMAND, parse_docker_server, lambda: None)


# --- images, the runtime probe, networks --------------------------------------------------------


def docker_image_id_command(image: str) -> str:
    return f"docker image inspect --format '{{{{.Id}}}}' {shlex.quote(image)} 2>/dev/null || echo absent"


def parse_docker_image_id(output: Sequence[str]) -> str | None:
    value = output[-1].strip() if output else "absent"
    return None if value in ("absent", "") else value


def docker_image_id(image: str) -> Read[str | None]:
    """The ID of a local image, or None."""
    return Read(docker_image_id_command(image), parse_docker_image_id, lambda: None)


def runtime_probe_command(runtime: str, image: str, directory: str) -> str:
    inside = f"/bin/busybox dmesg && /bin/ls -lan {shlex.quote(directory)}"
    return (
        f"out=$(docker run --rm --runtime={shlex.quote(runtime)} {shlex.quote(image)} "
        f'/bin/sh -c {shlex.quote(inside)} 2>&1); rc=$?; echo "rc=$rc"; printf \'%s\\n\' "$out"; true'
    )


def parse_runtime_probe(output: Sequence[str]) -> dict[str, object]:
    rc = int(output[0].removeprefix("rc=")) if output and output[0].startswith("rc=") else -1
    text = "\n".join(output[1:])
    return {"ok": rc == 0 and "gVisor" in text, "rc": rc, "output": text}


def runtime_probe(runtime: str, image: str, directory: str) -> Read[dict[str, object]]:
    """Start a throwaway container under a runtime: which kernel answers, and does coreutils' ls work.

    The probe image (``PROBE_IMAGE``) holds busybox and GNU coreutils' ``ls``; ``ls -lan``
    of its plain ``directory`` (``PROBE_DIR``) fails with "Invalid argument" under a runsc that rejects
    statx flags. A read, not an operation: proving the runtime works changes nothing on the host.
    """
    return Read(runtime_probe_command(runtime, image, directory), parse_runtime_probe, lambda: parse_runtime_probe([]))


NETWORK_USAGE_COMMAND = (
    "echo bridge $(docker network ls -q --filter driver=bridge 2>/dev/null | wc -l); "
    f"echo pinacle $(docker network ls -q --filter label={LABEL_POD} 2>/dev/null | wc -l)"
)


def parse_network_usage(output: Sequence[str]) -> dict[str, int]:
    usage: dict[str, int] = {}
    for line in output:
        key, _, count = line.partition(" ")
        if count.strip().isdigit():
            usage[key] = int(count)
    return usage


def network_usage() -> Read[dict[str, int]]:
    """How many bridge networks exist (each takes a pool subnet) and how many are pods'."""
    return Read(NETWORK_USAGE_COMMAND, parse_network_usage, dict)


def egress_rules_command(script: str, args: Sequence[str] = ()) -> str:
    quoted = shlex.quote(script)
    check = " ".join([quoted, "check", *map(shlex.quote, args)])
    return f"if [ -x {quoted} ]; then {check} >/dev/null 2>&1 && echo in-place || echo missing; else echo no-script; fi"


def parse_egress_rules(output: Sequence[str]) -> str:
    return output[-1].strip() if output else "missing"


def egress_rules(script: str, args: Sequence[str] = ()) -> Read[str]:
    """``in-place``, ``missing`` or ``no-script``: are pinacle's pod egress rules what ``args`` ask?

    + script: the installed ``pinacle-egress``
    + args: its arguments (pools, ``--``, deny ranges); none: what it last applied
    """
    return Read(egress_rules_command(script, args), parse_egress_rules, lambda: "missing")


HOST_SIZE_COMMAND = "nproc; awk '/^MemTotal:/ {print $2}' /proc/meminfo"


def parse_host_size(output: Sequence[str]) -> tuple[float, int]:
    """(CPUs, MiB of memory) from ``nproc`` and /proc/meminfo's MemTotal (kB); HostError if unreadable."""
    words = [line.strip() for line in output if line.strip()]
    if len(words) != 2 or not all(word.isdigit() for word in words):
        raise HostError(f"could not read the host's size (nproc, MemTotal): {' '.join(words)[:200]!r}")
    return float(words[0]), int(words[1]) // 1024


def host_size() -> Read[tuple[float, int]]:
    """The host's size, for placing pods across a fleet: its CPUs and memory."""
    return Read(HOST_SIZE_COMMAND, parse_host_size, lambda: parse_host_size([]))
