"""pinacle.operations.host as data: given these facts and arguments, these commands or a no-op."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api.exceptions import OperationError
from pyinfra.facts.apt import AptSources
from pyinfra.facts.openrc import OpenrcEnabled, OpenrcStatus
from pyinfra.facts.server import LinuxDistribution
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

from pinacle.daemon_json import DAEMON_JSON_PATH, render_daemon_json
from pinacle.errors import HostError
from pinacle.facts.host import (
    AptPolicy,
    DockerImageId,
    DockerServer,
    EgressRules,
    FileSha512,
    FileText,
    HostPackageManager,
    RunningProcesses,
    RunscVersion,
    RuntimeProbe,
)
from pinacle.hostspec import (
    DISTRO_RUNSC_PATH,
    DOCKER_PIDFILE,
    RELEASE_RUNSC_PATH,
    RUNSC_CHECKSUM_RECORD,
    HostSettings,
    desired_daemon_config,
    pinned_suite_paths,
    pinned_suite_preferences,
    pinned_suite_source,
)
from pinacle.operations import host as ops
from pinacle.operations._shell import write_file_command
from pinacle.pod.names import LOG_DIR
from pinacle.readers.host import PROBE_IMAGE

Case = Mapping[str, Any]
CheckCase = Callable[[Case], Any]

SETTINGS = HostSettings()
SHA = "a" * 128
DOCKER_UP = {"version": "26.1.5", "runtimes": ["runc"], "default_runtime": "runc"}
RELOAD = 'kill -HUP "$(cat /var/run/docker.pid)"'
RELEASES = "https://storage.googleapis.com/gvisor/releases/release"

# --- runsc_release -------------------------------------------------------------------------------


def runsc_facts(
    installed: str | None, recorded: str | None, actual: str | None, docker: object = None
) -> dict[Any, Any]:
    return {
        (RunscVersion, ("path", RELEASE_RUNSC_PATH)): installed,
        (FileText, ("path", RUNSC_CHECKSUM_RECORD)): recorded,
        (FileSha512, ("path", RELEASE_RUNSC_PATH)): actual,
        DockerServer: docker,
    }


INSTALL = [
    "curl -fsSL --retry 3 -o runsc.sha512 ",
    "sha512sum -c runsc.sha512",
    f"mv -f {RELEASE_RUNSC_PATH}.pinacle-new {RELEASE_RUNSC_PATH}",
    f"cut -d ' ' -f 1 runsc.sha512 > {RUNSC_CHECKSUM_RECORD}",
]

RUNSC_CASES: list[Case] = [
    {
        "id": "installed_version_and_checksum_match_is_a_noop",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "x86_64"},
        "facts": runsc_facts("release-20250715.0", SHA + "\n", SHA),
        "noop": "runsc release-20250715.0 is installed and matches its verified checksum",
    },
    {
        "id": "absent_downloads_the_dated_x86_64_release",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "x86_64"},
        "facts": runsc_facts(None, None, None),
        "contains": [[f"{RELEASES}/20250715.0/x86_64/runsc", *INSTALL]],
    },
    {
        "id": "absent_downloads_the_dated_aarch64_release",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "arm64"},
        "facts": runsc_facts(None, None, None),
        "contains": [[f"{RELEASES}/20250715.0/aarch64/runsc.sha512", *INSTALL]],
    },
    {
        "id": "install_while_docker_runs_reloads_dockerd",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "x86_64"},
        "facts": runsc_facts(None, None, None, docker=DOCKER_UP),
        "contains": [INSTALL, [RELOAD]],
    },
    {
        "id": "checksum_record_not_matching_the_binary_reinstalls",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "x86_64"},
        "facts": runsc_facts("release-20250715.0", SHA + "\n", "b" * 128),
        "contains": [INSTALL],
    },
    {
        "id": "missing_checksum_record_reinstalls",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "x86_64"},
        "facts": runsc_facts("release-20250715.0", None, SHA),
        "contains": [INSTALL],
    },
    {
        "id": "other_installed_version_is_replaced",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "x86_64"},
        "facts": runsc_facts("release-20240101.0", SHA + "\n", SHA),
        "contains": [[f"{RELEASES}/20250715.0/x86_64/runsc", *INSTALL]],
    },
    {
        "id": "unpublished_arch_is_refused",
        "op": ops.runsc_release,
        "args": {"version": "20250715.0", "machine": "riscv64"},
        "facts": runsc_facts(None, None, None),
        "raises": (HostError, "x86_64 and aarch64 only"),
    },
]


@pytest.mark.parametrize("case", RUNSC_CASES, ids=lambda c: c["id"])
def test_runsc_release(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_runsc_checksum_mismatch_aborts_before_the_install(run_operation: Any) -> None:
    result = run_operation(ops.runsc_release, runsc_facts(None, None, None), version="20250715.0", machine="x86_64")
    command = result.commands[0]
    assert command.startswith("set -e;")
    assert command.index("sha512sum -c") < command.index("mv -f")
    assert "does not match its published SHA-512; kept the old binary" in command


def test_runsc_install_command_is_valid_shell(run_operation: Any) -> None:
    result = run_operation(ops.runsc_release, runsc_facts(None, None, None), version="20250715.0", machine="x86_64")
    assert_valid_shell(result.commands[0])


# --- runsc_debian_suite / no_pinned_debian_suites -------------------------------------------------

TRIXIE_RUNSC = "0.0~20240729.0-4+b7"
BOOKWORM_RUNSC = "0.0~20221219.0-2+b3"
MIRROR = "http://deb.debian.org/debian"
SOURCE_PATH, PIN_PATH = pinned_suite_paths("trixie")
SOURCE_TEXT = pinned_suite_source(MIRROR, "trixie")
PIN_TEXT = pinned_suite_preferences("runsc", "trixie")
APT_UPDATE = "DEBIAN_FRONTEND=noninteractive apt-get -y"
APT_INSTALL = (
    'DEBIAN_FRONTEND=noninteractive apt-get -y -o Dpkg::Options::="--force-confdef" '
    '-o Dpkg::Options::="--force-confold" install --no-install-recommends runsc'
)
UPDATE = [APT_UPDATE, " update || { echo 'pinacle: apt-get update failed", "debian-archive-keyring", "exit 1; }"]


def distro(distro_id: str, codename: str) -> dict[str, Any]:
    return {"name": distro_id, "release_meta": {"ID": distro_id, "VERSION_CODENAME": codename}}


def repo(url: str, suite: str, kind: str = "deb") -> dict[str, Any]:
    return {"type": kind, "url": url, "distribution": suite, "components": ["main"], "options": {}}


BOOKWORM = distro("debian", "bookworm")
BOOKWORM_SOURCES = [
    repo("http://deb.debian.org/debian-security", "bookworm-security"),
    repo(MIRROR, "bookworm"),
    repo(MIRROR, "bookworm-updates"),
]
# apt-cache policy runsc, as AptPolicy parses it.
FROM_TRIXIE = {
    "installed": TRIXIE_RUNSC,
    "candidate": TRIXIE_RUNSC,
    "origins": {TRIXIE_RUNSC: ["trixie/main"], BOOKWORM_RUNSC: ["bookworm/main"]},
}
BOOKWORM_ONLY = {
    "installed": BOOKWORM_RUNSC,
    "candidate": BOOKWORM_RUNSC,
    "origins": {BOOKWORM_RUNSC: ["bookworm/main"]},
}
BOOKWORM_INSTALLED = {**FROM_TRIXIE, "installed": BOOKWORM_RUNSC}
NOT_INSTALLED = {**FROM_TRIXIE, "installed": None}


def sha(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def suite_facts(
    source: str | None = SOURCE_TEXT,
    pin: str | None = PIN_TEXT,
    policy: Mapping[str, Any] = FROM_TRIXIE,
    manager: str | None = "apt",
    host_distro: Mapping[str, Any] = BOOKWORM,
    sources: list[dict[str, Any]] | None = None,
) -> dict[Any, Any]:
    facts: dict[Any, Any] = {
        HostPackageManager: manager,
        LinuxDistribution: host_distro,
        (FileSha512, ("path", SOURCE_PATH)): None if source is None else sha(source),
        (FileSha512, ("path", PIN_PATH)): None if pin is None else sha(pin),
        (AptPolicy, ("package", "runsc")): policy,
    }
    if sources is not None:
        facts[AptSources] = sources
    return facts


TRIXIE_ARGS = {"suite": "trixie", "package": "runsc"}
# The lead's hand-made files: the same source and pins, without pinacle's comments.
HAND_MADE_SOURCE = (
    f"Types: deb\nURIs: {MIRROR}\nSuites: trixie\nComponents: main\n"
    "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n"
)
HAND_MADE_PIN = (
    "Package: *\nPin: release n=trixie\nPin-Priority: 1\n\nPackage: runsc\nPin: release n=trixie\nPin-Priority: 990\n"
)

DEBIAN_SUITE_CASES: list[Case] = [
    {
        "id": "pinned_source_in_place_and_runsc_from_trixie_is_a_noop",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(sources=BOOKWORM_SOURCES),
        "noop": f"runsc {TRIXIE_RUNSC} from Debian trixie is installed (pinned)",
    },
    {
        "id": "fresh_bookworm_host_gets_source_pins_update_and_install",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(source=None, pin=None, policy=BOOKWORM_ONLY, sources=BOOKWORM_SOURCES),
        "contains": [
            [write_file_command(SOURCE_PATH, SOURCE_TEXT)],
            [write_file_command(PIN_PATH, PIN_TEXT)],
            UPDATE,
            [APT_INSTALL],
        ],
    },
    {
        "id": "hand_made_files_are_rewritten_then_apt_updates",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(source=HAND_MADE_SOURCE, pin=HAND_MADE_PIN, sources=BOOKWORM_SOURCES),
        "contains": [
            [write_file_command(SOURCE_PATH, SOURCE_TEXT)],
            [write_file_command(PIN_PATH, PIN_TEXT)],
            UPDATE,
            [APT_INSTALL],
        ],
    },
    {
        "id": "only_the_changed_file_is_rewritten",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(pin=HAND_MADE_PIN, sources=BOOKWORM_SOURCES),
        "contains": [[write_file_command(PIN_PATH, PIN_TEXT)], UPDATE, [APT_INSTALL]],
    },
    {
        "id": "files_in_place_but_lists_without_trixie_update_first",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(policy=BOOKWORM_ONLY, sources=BOOKWORM_SOURCES),
        "contains": [UPDATE, [APT_INSTALL]],
    },
    {
        "id": "bookworm_runsc_installed_is_upgraded_without_an_update",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(policy=BOOKWORM_INSTALLED, sources=BOOKWORM_SOURCES),
        "commands": [APT_INSTALL],
    },
    {
        "id": "runsc_not_installed_is_installed_without_an_update",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(policy=NOT_INSTALLED, sources=BOOKWORM_SOURCES),
        "commands": [APT_INSTALL],
    },
    {
        "id": "mirror_follows_the_hosts_own_bookworm_source",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(
            source=None,
            pin=PIN_TEXT,
            sources=[repo("http://ftp.de.debian.org/debian/", "bookworm"), repo(MIRROR, "trixie", kind="deb-src")],
        ),
        "contains": [
            [write_file_command(SOURCE_PATH, pinned_suite_source("http://ftp.de.debian.org/debian", "trixie"))],
            UPDATE,
            [APT_INSTALL],
        ],
    },
    {
        "id": "explicit_mirror_wins_and_the_hosts_sources_are_not_read",
        "op": ops.runsc_debian_suite,
        "args": {**TRIXIE_ARGS, "mirror": "https://mirror.example/debian"},
        "facts": suite_facts(),  # no AptSources: reading it would fail the case
        "contains": [
            [write_file_command(SOURCE_PATH, pinned_suite_source("https://mirror.example/debian", "trixie"))],
            UPDATE,
            [APT_INSTALL],
        ],
    },
    {
        "id": "host_sources_without_its_release_fall_back_to_deb_debian_org",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(sources=[repo("http://security.debian.org/debian-security", "bookworm-security")]),
        "noop": "from Debian trixie is installed",
    },
    {
        "id": "trixie_host_needs_no_extra_source",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(source=None, pin=None, host_distro=distro("debian", "trixie")),
        "noop": "from Debian trixie is installed",
    },
    {
        "id": "trixie_host_drops_pinacles_files",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(host_distro=distro("debian", "trixie")),
        "contains": [[f"rm -f {SOURCE_PATH}"], [f"rm -f {PIN_PATH}"], UPDATE, [APT_INSTALL]],
    },
    {
        "id": "apk_host_is_refused_naming_the_release",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(manager="apk", host_distro=distro("alpine", "")),
        "raises": (
            HostError,
            r"runsc_source='debian-trixie' installs runsc .* with apt.*apk: use runsc_source='release'",
        ),
    },
    {
        "id": "ubuntu_host_is_refused_naming_the_release",
        "op": ops.runsc_debian_suite,
        "args": TRIXIE_ARGS,
        "facts": suite_facts(host_distro=distro("ubuntu", "noble")),
        "raises": (HostError, r"for Debian hosts; this host is ubuntu: use runsc_source='release'"),
    },
]


@pytest.mark.parametrize("case", DEBIAN_SUITE_CASES, ids=lambda c: c["id"])
def test_runsc_debian_suite(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_debian_suite_commands_are_valid_shell(run_operation: Any) -> None:
    result = run_operation(ops.runsc_debian_suite, suite_facts(None, None, BOOKWORM_ONLY, sources=[]), **TRIXIE_ARGS)
    for command in result.commands:
        assert_valid_shell(command)


def test_failed_apt_update_names_the_keyring(tmp_path: Path, run_operation: Any) -> None:
    result = run_operation(ops.runsc_debian_suite, suite_facts(policy=BOOKWORM_ONLY, sources=[]), **TRIXIE_ARGS)
    update = result.commands[0]
    stub = tmp_path / "apt-get"
    stub.write_text("#!/bin/sh\necho 'W: GPG error: NO_PUBKEY 762F67A0B2C39DE4' >&2\nexit 100\n")
    stub.chmod(0o700)
    shell = subprocess.run(
        ["sh", "-c", update],
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
    )
    assert shell.returncode == 1
    assert "NO_PUBKEY" in shell.stderr
    assert "lacks trixie's keys: upgrade it (bookworm: 2023.3+deb12u2 or later)" in shell.stderr


def no_pinned_facts(source: bool, pin: bool) -> dict[Any, Any]:
    return {
        (FileSha512, ("path", SOURCE_PATH)): sha(SOURCE_TEXT) if source else None,
        (FileSha512, ("path", PIN_PATH)): sha(PIN_TEXT) if pin else None,
    }


NO_PINNED_CASES: list[Case] = [
    {
        "id": "no_pinacle_suite_files_is_a_noop",
        "op": ops.no_pinned_debian_suites,
        "facts": no_pinned_facts(False, False),
        "noop": "no pinned Debian suite of pinacle's is configured",
    },
    {
        "id": "stale_trixie_files_are_removed_and_apt_updates",
        "op": ops.no_pinned_debian_suites,
        "facts": no_pinned_facts(True, True),
        "contains": [[f"rm -f {SOURCE_PATH} {PIN_PATH}"], [APT_UPDATE, "update"]],
    },
    {
        "id": "a_lone_stale_pin_file_is_removed",
        "op": ops.no_pinned_debian_suites,
        "facts": no_pinned_facts(False, True),
        "contains": [[f"rm -f {PIN_PATH}"], ["update"]],
        "absent": [SOURCE_PATH],
    },
]


@pytest.mark.parametrize("case", NO_PINNED_CASES, ids=lambda c: c["id"])
def test_no_pinned_debian_suites(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


# --- docker_daemon_config ------------------------------------------------------------------------

POOLS = [{"base": "10.200.0.0/14", "size": 24}]
WITHOUT_RUNTIME = {"default-address-pools": POOLS, "live-restore": True}
COMPLETE = desired_daemon_config({"log-driver": "local"}, SETTINGS)


def daemon_facts(current: str | None, docker: object = None) -> dict[Any, Any]:
    return {(FileText, ("path", DAEMON_JSON_PATH)): current, DockerServer: docker}


def write_of(current: Mapping[str, Any]) -> str:
    content = render_daemon_json(desired_daemon_config(current, SETTINGS))
    return write_file_command(DAEMON_JSON_PATH, content, follow_symlinks=True)


DAEMON_CASES: list[Case] = [
    {
        "id": "absent_file_is_written_without_reload_while_docker_is_down",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "systemd"},
        "facts": daemon_facts(None),
        "commands": [write_of({})],
    },
    {
        "id": "runtime_added_while_docker_runs_reloads_with_sighup",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "systemd"},
        "facts": daemon_facts(render_daemon_json(WITHOUT_RUNTIME), docker=DOCKER_UP),
        "commands": [write_of(WITHOUT_RUNTIME), RELOAD],
    },
    {
        "id": "pools_changed_under_systemd_restarts_docker",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "systemd"},
        "facts": daemon_facts('{"log-driver": "local"}', docker=DOCKER_UP),
        "commands": [write_of({"log-driver": "local"}), "systemctl restart docker"],
    },
    {
        "id": "pools_changed_under_openrc_restarts_docker",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "openrc"},
        "facts": daemon_facts(None, docker=DOCKER_UP),
        "commands": [write_of({}), "rc-service docker restart"],
    },
    {
        "id": "pools_changed_without_init_stops_and_starts_dockerd",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "none"},
        "facts": daemon_facts(None, docker=DOCKER_UP),
        "contains": [
            ["base64 -d", DAEMON_JSON_PATH],
            ['kill "$(cat /var/run/docker.pid)"', "! pidof dockerd", "setsid dockerd"],
        ],
    },
    {
        "id": "identical_content_is_a_noop",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "systemd"},
        "facts": daemon_facts(render_daemon_json(COMPLETE), docker=DOCKER_UP),
        "noop": f"{DAEMON_JSON_PATH} already holds the runsc runtime",
    },
    {
        "id": "same_keys_differently_formatted_is_a_noop",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "systemd"},
        "facts": daemon_facts(
            '{"live-restore":true,"log-driver":"local","runtimes":{"runsc":{"path":'
            f'"{RELEASE_RUNSC_PATH}","runtimeArgs":["--overlay2=none"]}}}},"default-address-pools":'
            '[{"size":24,"base":"10.200.0.0/14"}]}',
            docker=DOCKER_UP,
        ),
        "noop": "already holds the runsc runtime",
    },
    {
        "id": "invalid_json_is_refused_with_the_fix",
        "op": ops.docker_daemon_config,
        "args": {"settings": SETTINGS, "init": "systemd"},
        "facts": daemon_facts("{ not json", docker=DOCKER_UP),
        "raises": (OperationError, "not valid JSON.*fix or remove it"),
    },
]


@pytest.mark.parametrize("case", DAEMON_CASES, ids=lambda c: c["id"])
def test_docker_daemon_config(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_daemon_json_write_decodes_to_the_merged_config(run_operation: Any) -> None:
    result = run_operation(
        ops.docker_daemon_config,
        daemon_facts('{"log-driver": "local"}'),
        settings=SETTINGS,
        init="systemd",
    )
    encoded = result.commands[0].split("printf %s ", 1)[1].split(" ", 1)[0]
    assert json.loads(base64.b64decode(encoded)) == COMPLETE


@pytest.mark.parametrize("init", ["systemd", "openrc", "none"])
def test_every_init_restart_is_valid_shell(init: str) -> None:
    assert_valid_shell(ops.RESTART_DOCKERD[init])


STUBS = {
    "pidof": '#!/bin/sh\n[ -e "$STUB/alive" ]\n',
    "docker": '#!/bin/sh\n[ -e "$STUB/alive" ] || [ -e "$STUB/started" ]\n',
    "setsid": '#!/bin/sh\ntouch "$STUB/started"\n',
}


def test_restart_without_init_returns_once_the_new_dockerd_answers(tmp_path: Path) -> None:
    """Run the real command with stub pidof/docker/setsid and a dockerd that takes 0.3 s to stop."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in STUBS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o700)
    (tmp_path / "alive").touch()
    command = ops.RESTART_DOCKERD["none"].replace(LOG_DIR, str(tmp_path / "log"))
    command = command.replace(DOCKER_PIDFILE, str(tmp_path / "docker.pid"))
    slow_stop = 'kill() { (sleep 0.3; rm -f "$STUB/alive") & }; '
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STUB": str(tmp_path)}
    # Output to a file, not a pipe: a pipe would also wait for whatever the command left behind.
    with (tmp_path / "stderr").open("w") as stderr:
        result = subprocess.run(
            ["bash", "-c", slow_stop + command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            timeout=20,
        )
    assert result.returncode == 0, (tmp_path / "stderr").read_text()
    assert not (tmp_path / "alive").exists(), "returned while the old dockerd was still up"
    assert (tmp_path / "started").exists(), "returned before the new dockerd was started"


# --- daemons_running -----------------------------------------------------------------------------

BOTH_DOWN_SYSTEMD = {SystemdStatus: {}, SystemdEnabled: {}}
BOTH_UP_SYSTEMD = {
    SystemdStatus: {"containerd.service": True, "docker.service": True},
    SystemdEnabled: {"containerd.service": True, "docker.service": True},
}

DAEMONS_CASES: list[Case] = [
    {
        "id": "no_init_both_down_starts_containerd_then_dockerd_detached",
        "op": ops.daemons_running,
        "args": {"init": "none"},
        "facts": {RunningProcesses: set()},
        "contains": [
            ["setsid containerd", "ctr --address /run/containerd/containerd.sock version"],
            ["setsid dockerd --containerd=/run/containerd/containerd.sock", "docker info"],
        ],
    },
    {
        "id": "no_init_only_dockerd_down_starts_dockerd",
        "op": ops.daemons_running,
        "args": {"init": "none"},
        "facts": {RunningProcesses: {"containerd"}},
        "contains": [["setsid dockerd"]],
    },
    {
        "id": "no_init_both_up_is_a_noop",
        "op": ops.daemons_running,
        "args": {"init": "none"},
        "facts": {RunningProcesses: {"containerd", "dockerd"}},
        "noop": "containerd and dockerd are running",
    },
    {
        "id": "systemd_both_down_starts_and_enables_both",
        "op": ops.daemons_running,
        "args": {"init": "systemd"},
        "facts": BOTH_DOWN_SYSTEMD,
        "commands": [
            "systemctl start containerd.service",
            "systemctl enable containerd.service",
            "systemctl start docker.service",
            "systemctl enable docker.service",
        ],
    },
    {
        "id": "systemd_both_up_and_enabled_is_a_noop",
        "op": ops.daemons_running,
        "args": {"init": "systemd"},
        "facts": BOTH_UP_SYSTEMD,
        "noop": "service docker.service is running",
    },
    {
        "id": "openrc_both_down_starts_and_adds_both_to_default",
        "op": ops.daemons_running,
        "args": {"init": "openrc"},
        "facts": {OpenrcStatus: {}, OpenrcEnabled: {}},
        "commands": [
            "rc-service containerd start",
            "rc-update add containerd default",
            "rc-service docker start",
            "rc-update add docker default",
        ],
    },
    {
        "id": "openrc_both_up_and_enabled_is_a_noop",
        "op": ops.daemons_running,
        "args": {"init": "openrc"},
        "facts": {
            OpenrcStatus: {"containerd": True, "docker": True},
            OpenrcEnabled: {"containerd": True, "docker": True},
        },
        "noop": "service docker is enabled",
    },
]


@pytest.mark.parametrize("case", DAEMONS_CASES, ids=lambda c: c["id"])
def test_daemons_running(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_systemd_status_is_asked_for_the_unit_names(run_operation: Any) -> None:
    result = run_operation(ops.daemons_running, BOTH_UP_SYSTEMD, init="systemd")
    asked = [kw["services"] for name, kw in result.fact_calls if name == "SystemdStatus"]
    assert asked == [["containerd.service"], ["docker.service"]]


# --- probe_image ---------------------------------------------------------------------------------

PROBE_CASES: list[Case] = [
    {
        "id": "present_probe_image_is_a_noop",
        "op": ops.probe_image,
        "args": {"busybox": "/bin/busybox"},
        "facts": {(DockerImageId, ("image", PROBE_IMAGE)): "sha256:" + "1" * 64},
        "noop": f"{PROBE_IMAGE} exists",
    },
    {
        "id": "absent_probe_image_is_imported_from_busybox_and_coreutils_ls",
        "op": ops.probe_image,
        "args": {"busybox": "/bin/busybox.static"},
        "facts": {(DockerImageId, ("image", PROBE_IMAGE)): None},
        "contains": [
            [
                'cp /bin/busybox.static "$tmp/bin/busybox"',
                'ln -s busybox "$tmp/bin/sh"',
                'grep -q "GNU coreutils"',
                'cp -L "$ls_bin" "$tmp/bin/ls"',
                'ldd "$ls_bin"',
                'echo pinacle > "$tmp/probe/file"',
                f"docker import -c 'CMD [\"/bin/sh\"]' - {PROBE_IMAGE}",
            ]
        ],
    },
]


def test_probe_image_tag_moved_past_the_busybox_only_probe() -> None:
    assert PROBE_IMAGE != "pinacle/probe:1"  # hosts with the old probe build the new one


@pytest.mark.parametrize("case", PROBE_CASES, ids=lambda c: c["id"])
def test_probe_image(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


@pytest.mark.skipif(not shutil.which("ldd") or not Path("/bin/busybox").exists(), reason="needs ldd and busybox")
def test_probe_image_tarball_holds_coreutils_ls_and_its_libraries(tmp_path: Path, run_operation: Any) -> None:
    """Run the real build with a stub ``docker`` that keeps the tarball it is given."""
    result = run_operation(ops.probe_image, {DockerImageId: None}, busybox="/bin/busybox")
    stub = tmp_path / "docker"
    stub.write_text(f"#!/bin/sh\ncat > {tmp_path}/probe.tar\n")
    stub.chmod(0o700)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    shell = subprocess.run(["sh", "-c", result.commands[0]], env=env, capture_output=True, text=True)
    assert shell.returncode == 0, shell.stderr
    with tarfile.open(tmp_path / "probe.tar") as tar:
        names = {name.removeprefix("./") for name in tar.getnames()}
    assert {"bin/busybox", "bin/sh", "bin/ls", "probe/file"} <= names
    libraries = subprocess.run(["ldd", "/bin/ls"], capture_output=True, text=True).stdout
    for library in (word for word in libraries.split() if word.startswith("/")):
        assert library.lstrip("/") in names


def test_busybox_path_is_quoted(run_operation: Any) -> None:
    result = run_operation(ops.probe_image, {DockerImageId: None}, busybox="/opt/my box/busybox;id")
    assert "cp '/opt/my box/busybox;id' " in result.commands[0]
    assert_valid_shell(result.commands[0])


# --- gvisor_runtime_works ------------------------------------------------------------------------

NETWORK_ERROR = (
    "docker: Error response from daemon: failed to create task: "
    "cannot run with network enabled in root network namespace: unknown."
)

# What the probe prints under Debian bookworm's runsc (captured on this machine).
STATX_ERROR = "/bin/ls: cannot access '/probe': Invalid argument\n[    0.000000] Starting gVisor...\n[    3.62] Ready!"
RELEASE_VERSION = (RunscVersion, ("path", RELEASE_RUNSC_PATH))

GVISOR_CASES: list[Case] = [
    {
        "id": "container_under_gvisor_is_a_noop",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": SETTINGS},
        "facts": {
            RELEASE_VERSION: "release-20250715.0",
            (RuntimeProbe, ("runtime", "runsc"), ("image", PROBE_IMAGE)): {
                "ok": True,
                "rc": 0,
                "output": "[    0.000000] Starting gVisor...",
            },
        },
        "noop": "a container runs under runsc (gVisor kernel, runsc release-20250715.0) and coreutils' ls works",
    },
    {
        "id": "failed_probe_fails_with_the_fix_hint",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": SETTINGS},
        "facts": {RELEASE_VERSION: None, RuntimeProbe: {"ok": False, "rc": 125, "output": NETWORK_ERROR}},
        "contains": [
            [
                "echo 'pinacle: the probe container failed under runsc (runsc version unknown, /usr/local/bin/runsc): ",
                "root network namespace",
                "fix: this runsc cannot set up the container network",
                "runsc_runtime_args=[",
                ">&2; exit 1",
            ]
        ],
    },
    {
        "id": "coreutils_ls_failing_with_invalid_argument_names_a_newer_runsc",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": HostSettings(runsc_source="distro")},
        "facts": {
            (RunscVersion, ("path", DISTRO_RUNSC_PATH)): "0.0~20221219.0",
            RuntimeProbe: {"ok": False, "rc": 2, "output": STATX_ERROR},
        },
        "contains": [
            [
                "failed under runsc (runsc 0.0~20221219.0, /usr/bin/runsc): /bin/ls: cannot access",
                "fix: this runsc is too old",
                "runsc_source='\"'\"'debian-trixie'\"'\"'",
                "runsc_source='\"'\"'release'\"'\"'",
            ]
        ],
    },
    {
        "id": "probe_under_a_renamed_runtime_uses_that_name",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": HostSettings(runsc_runtime_name="gvisor")},
        "facts": {
            RELEASE_VERSION: "release-20250715.0",
            (RuntimeProbe, ("runtime", "gvisor")): {"ok": True, "rc": 0, "output": "gVisor"},
        },
        "noop": "runs under gvisor",
    },
    {
        "id": "while_planning_nothing_is_probed",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": SETTINGS},
        "facts": {},
        "executing": False,
        "commands": [],
    },
]


@pytest.mark.parametrize("case", GVISOR_CASES, ids=lambda c: c["id"])
def test_gvisor_runtime_works(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_runtime_failure_command_exits_non_zero(run_operation: Any) -> None:
    facts = {RELEASE_VERSION: None, RuntimeProbe: {"ok": False, "rc": 125, "output": NETWORK_ERROR + "\n'$(id)'"}}
    result = run_operation(ops.gvisor_runtime_works, facts, settings=SETTINGS)
    shell = subprocess.run(["sh", "-c", result.commands[0]], capture_output=True, text=True)
    assert shell.returncode == 1
    assert "'$(id)'" in shell.stderr
    assert "fix: this runsc cannot set up the container network" in shell.stderr


# --- helpers -------------------------------------------------------------------------------------


def assert_valid_shell(command: str) -> None:
    for shell in ("bash", "sh"):
        result = subprocess.run([shell, "-n", "-c", command], capture_output=True, text=True)
        assert result.returncode == 0, f"{shell}: {result.stderr}"


EGRESS_SCRIPT_PATH = "/usr/local/lib/pinacle/pinacle-egress"
DENYING = HostSettings(pod_egress_deny=("192.168.0.0/16",))
EGRESS_CASES: list[Case] = [
    {
        "id": "rules_in_place_are_a_noop",
        "op": ops.pod_egress,
        "args": {"settings": SETTINGS, "script": EGRESS_SCRIPT_PATH},
        "facts": {EgressRules: "in-place"},
        "noop": "egress rules are in place",
    },
    {
        "id": "missing_rules_are_applied_with_the_pools_and_denied_ranges",
        "op": ops.pod_egress,
        "args": {"settings": DENYING, "script": EGRESS_SCRIPT_PATH},
        "facts": {EgressRules: "missing"},
        "commands": [f"{EGRESS_SCRIPT_PATH} apply 10.200.0.0/14 -- 192.168.0.0/16"],
    },
    {
        "id": "a_host_without_the_script_yet_gets_the_rules_after_it_is_installed",
        "op": ops.pod_egress,
        "args": {"settings": SETTINGS, "script": EGRESS_SCRIPT_PATH},
        "facts": {EgressRules: "no-script"},
        "commands": [f"{EGRESS_SCRIPT_PATH} apply 10.200.0.0/14 --"],
    },
]


@pytest.mark.parametrize("case", EGRESS_CASES, ids=lambda c: c["id"])
def test_pod_egress(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)
