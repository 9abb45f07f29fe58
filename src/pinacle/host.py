"""What a pod host should look like: settings, per-distro tables and daemon.json merging.

Pure: no pyinfra import, so every decision the host deploy makes can be tested with plain asserts.
The deploy (``pinacle.deploys.host``) reads facts and hands them to these functions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pinacle.errors import HostError

# A dated release, not ``latest``: the same inventory provisions the same runsc next month.
DEFAULT_RUNSC_VERSION = "20250715.0"
RUNSC_RELEASE_URL = "https://storage.googleapis.com/gvisor/releases/release/{version}/{arch}"
RELEASE_RUNSC_PATH = "/usr/local/bin/runsc"
DISTRO_RUNSC_PATH = "/usr/bin/runsc"
# Where the deploy records the SHA-512 it verified, so checks can later prove the binary is intact.
RUNSC_CHECKSUM_RECORD = "/etc/pinacle/runsc.sha512"
DAEMON_JSON_PATH = "/etc/docker/daemon.json"
DOCKER_PIDFILE = "/var/run/docker.pid"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"
LOG_DIR = "/var/log/pinacle"

# A tiny image (a static busybox) that exists only to prove the runtime can start a container.
PROBE_IMAGE = "pinacle/probe:1"

# gVisor's release directory names its architectures the way ``uname -m`` does.
RELEASE_ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}

# dockerd re-reads these on SIGHUP; any other key needs a restart (see dockerd's reload docs).
RELOADABLE_DAEMON_KEYS = frozenset(
    {
        "debug",
        "labels",
        "live-restore",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "default-runtime",
        "runtimes",
        "authorization-plugins",
        "insecure-registries",
        "registry-mirrors",
        "shutdown-timeout",
        "features",
    }
)

InitName = Literal["systemd", "openrc", "none"]
PackageManagerName = Literal["apt", "apk"]


class AddressPool(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str = Field(pattern=r"^\d{1,3}(\.\d{1,3}){3}/\d{1,2}$")
    size: int = Field(ge=16, le=30)


class HostSettings(BaseModel):
    """Host data the deploy understands, with the defaults production hosts get.

    Set any of these as pyinfra host or group data (``runsc_source = "distro"`` in an inventory).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    runsc_source: Literal["release", "distro"] = "release"
    runsc_version: str = Field(default=DEFAULT_RUNSC_VERSION, pattern=r"^\d{8}(\.\d+)?$")
    runsc_runtime_name: str = Field(default="runsc", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    runsc_runtime_args: tuple[str, ...] = ()
    # Newer runsc releases keep root filesystem writes in a sandbox-internal overlay that
    # `docker commit` cannot see (gVisor issue 11559), so snapshots would silently lose installed
    # services. Off by default (`--overlay2=none`): rootfs writes then reach Docker's own layer.
    runsc_rootfs_overlay: bool = False
    # /14 cut into /24s: 1024 pod networks, where Docker's built-in pools run out after ~30.
    docker_address_pools: tuple[AddressPool, ...] = (AddressPool(base="10.200.0.0/14", size=24),)
    docker_live_restore: bool = True

    @field_validator("runsc_runtime_args")
    @classmethod
    def _args_are_flags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arg in value:
            if not arg.startswith("--") or any(c.isspace() for c in arg):
                raise ValueError(f"runtime arguments are runsc flags like --network=host, got {arg!r}")
        return value

    @property
    def runsc_path(self) -> str:
        return RELEASE_RUNSC_PATH if self.runsc_source == "release" else DISTRO_RUNSC_PATH

    @property
    def runtime_args(self) -> tuple[str, ...]:
        """The runtimeArgs daemon.json gets: the operator's flags plus the overlay choice.

        An explicit ``--overlay2=...`` among the operator's flags wins over ``runsc_rootfs_overlay``.
        """
        if self.runsc_rootfs_overlay or any(arg.startswith("--overlay2") for arg in self.runsc_runtime_args):
            return self.runsc_runtime_args
        return (*self.runsc_runtime_args, "--overlay2=none")


def host_settings(data: Mapping[str, Any]) -> HostSettings:
    """Validate host data before any command runs; a typo'd value fails with its name."""
    known = {k: data[k] for k in HostSettings.model_fields if k in data and data[k] is not None}
    try:
        return HostSettings.model_validate(known)
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise HostError("invalid pinacle host data:\n" + "\n".join(lines)) from exc


def release_arch(machine: str) -> str:
    try:
        return RELEASE_ARCHES[machine]
    except KeyError:
        raise HostError(f"gVisor publishes runsc for x86_64 and aarch64 only; this host is {machine!r}") from None


def release_url(version: str, machine: str) -> str:
    return RUNSC_RELEASE_URL.format(version=version, arch=release_arch(machine))


def release_version_string(version: str) -> str:
    """What ``runsc --version`` prints for a release: ``runsc version release-20250715.0``."""
    return f"release-{version}" if "." in version else f"release-{version}.0"


@dataclass(frozen=True)
class PackageManager:
    """How one family of distros installs the host's packages."""

    name: PackageManagerName
    docker_packages: tuple[str, ...]
    runsc_package: str | None
    busybox_static: str  # the path of a statically linked busybox once installed


PACKAGE_MANAGERS: Mapping[str, PackageManager] = {
    "apt": PackageManager(
        name="apt",
        docker_packages=(
            "docker.io",
            "containerd",
            "iptables",
            "curl",
            "ca-certificates",
            "busybox-static",
            "debootstrap",  # builds the pod base image with no registry (docker/build-base-image.sh)
        ),
        runsc_package="runsc",
        busybox_static="/bin/busybox",
    ),
    "apk": PackageManager(
        name="apk",
        docker_packages=(
            "docker",
            "containerd",
            "iptables",
            "curl",
            "ca-certificates",
            "busybox-static",
        ),
        runsc_package=None,  # Alpine ships no runsc: use the official release
        busybox_static="/bin/busybox.static",
    ),
}


def package_manager(name: str | None) -> PackageManager:
    if name is None or name not in PACKAGE_MANAGERS:
        raise HostError("pinacle provisions Debian/Ubuntu (apt) and Alpine (apk) hosts; found no apt-get or apk")
    return PACKAGE_MANAGERS[name]


def desired_daemon_config(current: Mapping[str, Any], settings: HostSettings) -> dict[str, Any]:
    """Merge pinacle's keys into the operator's daemon.json; every other key survives as it was."""
    merged: dict[str, Any] = json.loads(json.dumps(current))  # deep copy of plain JSON
    runtime: dict[str, Any] = {"path": settings.runsc_path}
    if settings.runtime_args:
        runtime["runtimeArgs"] = list(settings.runtime_args)
    runtimes = dict(merged.get("runtimes") or {})
    runtimes[settings.runsc_runtime_name] = runtime
    merged["runtimes"] = runtimes
    merged["default-address-pools"] = [p.model_dump() for p in settings.docker_address_pools]
    # live-restore keeps pods running while dockerd restarts; an operator's explicit choice wins.
    merged.setdefault("live-restore", settings.docker_live_restore)
    return merged


def parse_daemon_json(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HostError(
            f"{DAEMON_JSON_PATH} is not valid JSON ({exc}); fix or remove it, then re-run the deploy"
        ) from None
    if not isinstance(value, dict):
        raise HostError(f"{DAEMON_JSON_PATH} must hold a JSON object")
    return value


def render_daemon_json(config: Mapping[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def changed_daemon_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def reload_suffices(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when SIGHUP applies the change, so running pods are not touched by a restart."""
    return changed_daemon_keys(old, new) <= RELOADABLE_DAEMON_KEYS


def runtime_failure_hint(output: str, settings: HostSettings) -> str:
    """Turn a failed probe into what to do about it."""
    if "cannot run with network enabled in root network namespace" in output:
        return (
            "this runsc cannot set up the container network on this kernel (Debian's runsc 20221219 "
            "is known to). Either install the official release (host data runsc_source='release') "
            "or register the runtime with runsc_runtime_args=['--network=host']"
        )
    if "unknown or invalid runtime name" in output:
        return (
            f"Docker does not know the runtime {settings.runsc_runtime_name!r}: check "
            f"{DAEMON_JSON_PATH} and reload dockerd (kill -HUP $(cat {DOCKER_PIDFILE}))"
        )
    return "see the output above; `runsc --version` and the dockerd log under /var/log/pinacle help"
