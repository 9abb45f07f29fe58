"""pinacle.operations.host as data: given these facts and arguments, these commands or a no-op."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from pyinfra.facts.openrc import OpenrcEnabled, OpenrcStatus
from pyinfra.facts.systemd import SystemdEnabled, SystemdStatus

from pinacle.errors import HostError
from pinacle.facts.host import (
    DockerImageId,
    DockerServer,
    FileSha512,
    FileText,
    RunningProcesses,
    RunscVersion,
    RuntimeProbe,
)
from pinacle.host import (
    DAEMON_JSON_PATH,
    DOCKER_PIDFILE,
    LOG_DIR,
    PROBE_IMAGE,
    RELEASE_RUNSC_PATH,
    RUNSC_CHECKSUM_RECORD,
    HostSettings,
    desired_daemon_config,
    render_daemon_json,
)
from pinacle.operations import host as ops
from pinacle.operations._shell import write_file_command

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


# --- docker_daemon_config ------------------------------------------------------------------------

POOLS = [{"base": "10.200.0.0/14", "size": 24}]
WITHOUT_RUNTIME = {"default-address-pools": POOLS, "live-restore": True}
COMPLETE = desired_daemon_config({"log-driver": "local"}, SETTINGS)


def daemon_facts(current: str | None, docker: object = None) -> dict[Any, Any]:
    return {(FileText, ("path", DAEMON_JSON_PATH)): current, DockerServer: docker}


def write_of(current: Mapping[str, Any]) -> str:
    return write_file_command(DAEMON_JSON_PATH, render_daemon_json(desired_daemon_config(current, SETTINGS)))


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
        "raises": (HostError, "not valid JSON.*fix or remove it"),
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
        "id": "absent_probe_image_is_imported_from_static_busybox",
        "op": ops.probe_image,
        "args": {"busybox": "/bin/busybox.static"},
        "facts": {(DockerImageId, ("image", PROBE_IMAGE)): None},
        "contains": [
            [
                'cp /bin/busybox.static "$tmp/bin/busybox"',
                'ln -s busybox "$tmp/bin/sh"',
                f"docker import -c 'CMD [\"/bin/sh\"]' - {PROBE_IMAGE}",
            ]
        ],
    },
]


@pytest.mark.parametrize("case", PROBE_CASES, ids=lambda c: c["id"])
def test_probe_image(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_busybox_path_is_quoted(run_operation: Any) -> None:
    result = run_operation(ops.probe_image, {DockerImageId: None}, busybox="/opt/my box/busybox;id")
    assert "cp '/opt/my box/busybox;id' " in result.commands[0]
    assert_valid_shell(result.commands[0])


# --- gvisor_runtime_works ------------------------------------------------------------------------

NETWORK_ERROR = (
    "docker: Error response from daemon: failed to create task: "
    "cannot run with network enabled in root network namespace: unknown."
)

GVISOR_CASES: list[Case] = [
    {
        "id": "container_under_gvisor_is_a_noop",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": SETTINGS},
        "facts": {
            (RuntimeProbe, ("runtime", "runsc"), ("image", PROBE_IMAGE)): {
                "ok": True,
                "rc": 0,
                "output": "[    0.000000] Starting gVisor...",
            }
        },
        "noop": "a container runs under runsc (gVisor kernel)",
    },
    {
        "id": "failed_probe_fails_with_the_fix_hint",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": SETTINGS},
        "facts": {RuntimeProbe: {"ok": False, "rc": 125, "output": NETWORK_ERROR}},
        "contains": [
            [
                "echo 'pinacle: a container did not start under runsc: ",
                "root network namespace",
                "fix: this runsc cannot set up the container network",
                "runsc_runtime_args=[",
                ">&2; exit 1",
            ]
        ],
    },
    {
        "id": "probe_under_a_renamed_runtime_uses_that_name",
        "op": ops.gvisor_runtime_works,
        "args": {"settings": HostSettings(runsc_runtime_name="gvisor")},
        "facts": {(RuntimeProbe, ("runtime", "gvisor")): {"ok": True, "rc": 0, "output": "gVisor"}},
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
    facts = {RuntimeProbe: {"ok": False, "rc": 125, "output": NETWORK_ERROR + "\n'$(id)'"}}
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
