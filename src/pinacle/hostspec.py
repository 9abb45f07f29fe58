"""What a pod host should look like: settings, per-distro tables and daemon.json merging.

Pure: no pyinfra import, so every decision the host deploy makes can be tested with plain asserts.
The deploy (``pinacle.deploys.host``) reads facts and hands them to these functions.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pinacle.daemon_json import DAEMON_JSON_PATH
from pinacle.edge.settings import ADDRESS_PATTERN, AUTH_URL_PATTERN, FILE_PATTERN, EdgeSettings
from pinacle.errors import HostError

# A dated release, not ``latest``: the same inventory provisions the same runsc next month.
DEFAULT_RUNSC_VERSION = "20250715.0"
RUNSC_RELEASE_URL = "https://storage.googleapis.com/gvisor/releases/release/{version}/{arch}"
RELEASE_RUNSC_PATH = "/usr/local/bin/runsc"
DISTRO_RUNSC_PATH = "/usr/bin/runsc"
# Where the deploy records the SHA-512 it verified, so checks can later prove the binary is intact.
RUNSC_CHECKSUM_RECORD = "/etc/pinacle/runsc.sha512"
DOCKER_PIDFILE = "/var/run/docker.pid"
CONTAINERD_SOCKET = "/run/containerd/containerd.sock"

# Where a GNU coreutils ls may live (usr-merged Debian, Alpine with the coreutils package, others).
COREUTILS_LS_CANDIDATES = ("/usr/bin/ls", "/bin/ls")

# runsc_source = "debian-trixie": an apt source for one Debian suite, pinned so that only runsc
# comes from it. Signed-By bookworm's debian-archive-keyring (2023.3+deb12u2 and later carry
# trixie's archive keys), so apt checks the suite's signatures like any other Debian source.
DEBIAN_ARCHIVE_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
DEFAULT_DEBIAN_MIRROR = "http://deb.debian.org/debian"
# The first debian-archive-keyring in bookworm with trixie's archive keys.
DEBIAN_KEYRING_WITH_TRIXIE = "2023.3+deb12u2"
APT_SOURCES_DIR = "/etc/apt/sources.list.d"
APT_PREFERENCES_DIR = "/etc/apt/preferences.d"

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
RunscSourceName = Literal["release", "distro", "debian-trixie"]


@dataclass(frozen=True)
class RunscSource:
    """Where one ``runsc_source`` value takes runsc from, and which hosts can use it."""

    name: RunscSourceName
    path: str  # the binary daemon.json registers
    package_managers: tuple[PackageManagerName, ...]
    unsupported: str  # why another host cannot use it, and what to use instead
    package: str | None = None  # installed with the host's package manager
    debian_suite: str | None = None  # an extra Debian suite, pinned for ``package`` alone


_DEBIAN_SUITE_UNSUPPORTED = (
    "runsc_source='{source}' installs runsc from Debian's archive with apt, and this host uses "
    "{manager}: use runsc_source='release' (the official, checksum-verified release)"
)

RUNSC_SOURCES: Mapping[str, RunscSource] = {
    "release": RunscSource(
        name="release",
        path=RELEASE_RUNSC_PATH,
        package_managers=("apt", "apk"),
        unsupported="",
    ),
    "distro": RunscSource(
        name="distro",
        path=DISTRO_RUNSC_PATH,
        package_managers=("apt",),
        unsupported="{manager} hosts have no runsc package: use runsc_source='release'",
        package="runsc",
    ),
    "debian-trixie": RunscSource(
        name="debian-trixie",
        path=DISTRO_RUNSC_PATH,
        package_managers=("apt",),
        unsupported=_DEBIAN_SUITE_UNSUPPORTED.replace("{source}", "debian-trixie"),
        package="runsc",
        debian_suite="trixie",
    ),
}

# Every suite some source pins: a host on another source gets pinacle's files for these removed.
PINNED_DEBIAN_SUITES = tuple(sorted({s.debian_suite for s in RUNSC_SOURCES.values() if s.debian_suite}))


class AddressPool(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str = Field(pattern=r"^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$")
    size: int = Field(ge=16, le=30)


class HostSettings(BaseModel):
    """Host data the deploy understands, with the defaults production hosts get.

    Set any of these as pyinfra host or group data (``runsc_source = "distro"`` in an inventory).

    ``runsc_source`` (see ``RUNSC_SOURCES``):

    * ``release``: the official gVisor release ``runsc_version``, checked against its published
      SHA-512, in /usr/local/bin (the production default; apt and apk hosts);
    * ``distro``: the distro's own ``runsc`` package (Debian/Ubuntu; bookworm's 0.0~20221219 breaks
      coreutils ``ls``/``stat`` in pods);
    * ``debian-trixie``: Debian trixie's ``runsc`` package on a Debian host (bookworm), from an apt
      source for trixie pinned so that runsc alone comes from it, signature-checked by apt with
      the debian-archive-keyring. For hosts that cannot download the release. The mirror is the
      one the host's own sources use unless ``runsc_debian_mirror`` says otherwise.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    runsc_source: RunscSourceName = "release"
    runsc_version: str = Field(default=DEFAULT_RUNSC_VERSION, pattern=r"^[0-9]{8}(\.[0-9]+)?$")
    runsc_runtime_name: str = Field(default="runsc", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
    runsc_runtime_args: tuple[str, ...] = ()
    # runsc_source = "debian-trixie" only; None: the mirror the host's own Debian sources use.
    runsc_debian_mirror: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # Newer runsc releases keep root filesystem writes in a sandbox-internal overlay that
    # `docker commit` cannot see (gVisor issue 11559), so snapshots would silently lose installed
    # services. Off by default (`--overlay2=none`): rootfs writes then reach Docker's own layer.
    runsc_rootfs_overlay: bool = False
    # /14 cut into /24s: 1024 pod networks, where Docker's built-in pools run out after ~30.
    docker_address_pools: tuple[AddressPool, ...] = (AddressPool(base="10.200.0.0/14", size=24),)
    docker_live_restore: bool = True
    # False: the deploy never runs ``apt-get update``, for hosts whose package lists something else
    # keeps fresh (a golden image; the test fleet, which shares this machine's package database).
    apt_update: bool = True
    # Egress rules (host script pinacle-egress): pods cannot reach the host, link-local addresses,
    # each other's networks, nor these further IPv4 ranges (an office LAN, a database subnet).
    pod_egress_rules: bool = True
    pod_egress_deny: tuple[str, ...] = ()
    # The edge (pinacle.edge.settings.EdgeSettings): on by default, because that is what a user
    # of the Lima VM or the CI host gets, and without it every pod URL answers anyone who
    # reaches its port. Off: pods are reached on their own host ports, as before.
    edge_enabled: bool = True
    edge_http_port: int = Field(default=80, ge=1, le=65535)
    edge_https_port: int = Field(default=443, ge=1, le=65535)
    edge_tls: bool = False
    edge_tls_cert: str | None = Field(default=None, pattern=FILE_PATTERN)
    edge_tls_key: str | None = Field(default=None, pattern=FILE_PATTERN)
    edge_forward_auth_url: str | None = Field(default=None, pattern=AUTH_URL_PATTERN)
    edge_forward_auth_signin: str | None = Field(default=None, pattern=AUTH_URL_PATTERN)
    edge_address: str | None = Field(default=None, max_length=200, pattern=ADDRESS_PATTERN)

    @field_validator("pod_egress_deny")
    @classmethod
    def _deny_are_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for cidr in value:
            try:
                network = ipaddress.ip_network(cidr, strict=True)
            except ValueError as exc:
                raise ValueError(f"pod_egress_deny takes IPv4 networks like 192.168.0.0/16: {exc}") from None
            if network.version != 4 or "/" not in cidr:
                raise ValueError(f"pod_egress_deny takes IPv4 networks with a prefix like 192.168.0.0/16, got {cidr!r}")
        return value

    @field_validator("runsc_runtime_args")
    @classmethod
    def _args_are_flags(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arg in value:
            if not arg.startswith("--") or any(c.isspace() for c in arg):
                raise ValueError(f"runtime arguments are runsc flags like --network=host, got {arg!r}")
        return value

    @model_validator(mode="after")
    def _edge_is_valid(self) -> HostSettings:
        self.edge  # noqa: B018 (validates the combination: a certificate needs its key, ...)
        return self

    @property
    def edge(self) -> EdgeSettings:
        return EdgeSettings(
            enabled=self.edge_enabled,
            http_port=self.edge_http_port,
            https_port=self.edge_https_port,
            tls=self.edge_tls,
            tls_cert=self.edge_tls_cert,
            tls_key=self.edge_tls_key,
            forward_auth_url=self.edge_forward_auth_url,
            forward_auth_signin=self.edge_forward_auth_signin,
            address=self.edge_address,
        )

    @property
    def source(self) -> RunscSource:
        return RUNSC_SOURCES[self.runsc_source]

    @property
    def egress_args(self) -> tuple[str, ...]:
        """``pinacle-egress`` arguments: the pools' networks, ``--``, the deny ranges."""
        pools = [str(ipaddress.ip_network(pool.base, strict=False)) for pool in self.docker_address_pools]
        return (*pools, "--", *self.pod_egress_deny)

    @property
    def runsc_path(self) -> str:
        return self.source.path

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
            "coreutils",  # the probe's ls (essential on Debian: already there)
            "debootstrap",  # builds the pod base image with no registry (docker/build-base-image.sh)
        ),
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
            "coreutils",  # the probe's ls: GNU's, which calls statx as pod images' ls does
        ),
        busybox_static="/bin/busybox.static",
    ),
}


def package_manager(name: str | None) -> PackageManager:
    if name is None or name not in PACKAGE_MANAGERS:
        raise HostError("pinacle provisions Debian/Ubuntu (apt) and Alpine (apk) hosts; found no apt-get or apk")
    return PACKAGE_MANAGERS[name]


def runsc_source(settings: HostSettings, manager: PackageManager) -> RunscSource:
    """The runsc source the host data asks for, or a HostError naming one this host can use."""
    source = settings.source
    if manager.name not in source.package_managers:
        raise HostError(source.unsupported.format(manager=manager.name))
    return source


def require_debian(package_manager_name: str | None, distro_id: str | None, suite: str) -> None:
    """A pinned Debian suite needs apt on Debian itself (Ubuntu and others mix badly with it)."""
    source = f"debian-{suite}"
    if package_manager_name != "apt":
        manager = package_manager_name or "no known package manager"
        raise HostError(_DEBIAN_SUITE_UNSUPPORTED.format(source=source, manager=manager))
    if distro_id != "debian":
        raise HostError(
            f"runsc_source={source!r} takes runsc from Debian's archive and is for Debian hosts; "
            f"this host is {distro_id or 'unknown'}: use runsc_source='release' (or 'distro')"
        )


def pinned_suite_paths(suite: str) -> tuple[str, str]:
    """The apt source and preferences files pinacle owns for one pinned Debian suite."""
    return f"{APT_SOURCES_DIR}/pinacle-{suite}.sources", f"{APT_PREFERENCES_DIR}/pinacle-{suite}"


def pinned_suite_source(mirror: str, suite: str) -> str:
    """A deb822 source for ``suite``, checked against the Debian archive keyring."""
    return (
        f"# Managed by pinacle's host deploy (host data runsc_source): runsc from Debian {suite}.\n"
        f"# Pinned in {APT_PREFERENCES_DIR}/pinacle-{suite} so that nothing else comes from it.\n"
        "Types: deb\n"
        f"URIs: {mirror}\n"
        f"Suites: {suite}\n"
        "Components: main\n"
        f"Signed-By: {DEBIAN_ARCHIVE_KEYRING}\n"
    )


def pinned_suite_preferences(package: str, suite: str) -> str:
    """apt pins: nothing from ``suite`` unless asked for by name, except ``package``, which follows it."""
    return (
        f"# Managed by pinacle's host deploy (host data runsc_source).\n"
        f"# Priority 1: no package comes from {suite} on its own.\n"
        "Package: *\n"
        f"Pin: release n={suite}\n"
        "Pin-Priority: 1\n"
        "\n"
        f"# Priority 990: {package} is installed and upgraded from {suite}.\n"
        f"Package: {package}\n"
        f"Pin: release n={suite}\n"
        "Pin-Priority: 990\n"
    )


def debian_mirror(repos: Iterable[tuple[str, str]], codename: str | None) -> str:
    """The archive the host's own sources use for its release (``(url, suite)`` pairs), else deb.debian.org."""
    for url, suite in repos:
        if codename and suite == codename and url.startswith(("http://", "https://")):
            return url.rstrip("/")
    return DEFAULT_DEBIAN_MIRROR


def installed_from_suite(policy: Mapping[str, Any], suite: str) -> bool:
    """True when the installed version is apt's candidate and comes from ``suite`` (``AptPolicy``)."""
    installed = policy.get("installed")
    origins = dict(policy.get("origins") or {}).get(installed, ())
    return (
        installed is not None
        and installed == policy.get("candidate")
        and any(o.startswith(f"{suite}/") for o in origins)
    )


def suite_listed(policy: Mapping[str, Any], suite: str) -> bool:
    """True when apt's lists know ``suite`` for the package (apt-get update has fetched it)."""
    return any(o.startswith(f"{suite}/") for origins in dict(policy.get("origins") or {}).values() for o in origins)


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


def changed_daemon_keys(old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    return {k for k in set(old) | set(new) if old.get(k) != new.get(k)}


def reload_suffices(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True when SIGHUP applies the change, so running pods are not touched by a restart."""
    return changed_daemon_keys(old, new) <= RELOADABLE_DAEMON_KEYS


# coreutils' ls under a runsc that rejects its statx flags (Debian bookworm's 0.0~20221219):
# "/bin/ls: cannot access '/probe': Invalid argument".
_STATX_FAILURE = re.compile(r"\bls: .*Invalid argument")


# Most telling first: coreutils' ls failing, then Docker's or runsc's own errors.
_PROBE_ERRORS = (re.compile(r"\bls: "), re.compile(r"error|cannot|failed|invalid", re.IGNORECASE))


def probe_failure_line(output: str) -> str:
    """The line of a failed probe's output that says what broke (the sandbox's boot log is noise)."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for pattern in _PROBE_ERRORS:
        if found := next((line for line in lines if pattern.search(line)), None):
            return found
    return lines[-1] if lines else "no output"


def runtime_failure_hint(output: str, settings: HostSettings) -> str:
    """Turn a failed probe into what to do about it."""
    if _STATX_FAILURE.search(output):
        return (
            "this runsc is too old: coreutils' ls fails with 'Invalid argument' in the sandbox (it "
            "rejects a statx flag; Debian bookworm's runsc 0.0~20221219 does), so ls and stat break "
            "in every pod. Use host data runsc_source='debian-trixie' (Debian hosts) or "
            "runsc_source='release', then re-run the host deploy"
        )
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


EGRESS_SYSTEMD_UNIT = "/etc/systemd/system/pinacle-egress.service"
EGRESS_OPENRC_SCRIPT = "/etc/init.d/pinacle-egress"


def egress_boot_unit(init: str, script: str) -> tuple[str, str] | None:
    """(path, text) of the unit that re-applies the egress rules at boot, after Docker; None
    without an init system (the rules then last until the next reboot or host deploy)."""
    if init == "systemd":
        return EGRESS_SYSTEMD_UNIT, (
            "[Unit]\nDescription=pinacle pod egress rules\nAfter=docker.service\nRequires=docker.service\n\n"
            f"[Service]\nType=oneshot\nExecStart={script} reapply\nRemainAfterExit=yes\n\n"
            "[Install]\nWantedBy=multi-user.target\n"
        )
    if init == "openrc":
        return EGRESS_OPENRC_SCRIPT, (
            '#!/sbin/openrc-run\ndescription="pinacle pod egress rules"\n\n'
            "depend() {\n    after docker\n}\n\n"
            f'start() {{\n    ebegin "Applying pinacle pod egress rules"\n    {script} reapply\n    eend $?\n}}\n'
        )
    return None
