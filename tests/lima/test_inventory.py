"""The inventories: ``pinacle.lima`` (how ``inventory/dev.py`` finds the Lima VM) and the files.

Lima cannot run on this Linux CI machine (no nested virtualisation, no macOS), so the Lima side is
tested with a fake ``run`` callable or a fake ``limactl`` executable on ``PATH`` that answers the
way ``limactl ls --format ...`` does. These are pure unit tests of argument building, output
parsing and error messages; talking to a real VM is left to a developer machine
(``pyinfra inventory/dev.py debug-inventory``). The SSH-config side is real: pyinfra's own
SSH client parses a file shaped like the one Lima writes.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pyinfra.api.exceptions import InventoryError
from pyinfra.api.inventory import Inventory
from pyinfra.api.state import State
from pyinfra.connectors.sshuserclient.client import SSHClient
from pyinfra.context import ctx_state

from pinacle.errors import TargetError
from pinacle.inventory_file import load_inventory_file
from pinacle.lima import (
    DEFAULT_INSTANCE,
    INSTANCE_ENV_VAR,
    lima_inventory_hosts,
    lima_ssh_config_path,
)
from pinacle.ssh import SSH_DATA_KEYS, ssh_argv

REPO_ROOT = Path(__file__).resolve().parents[2]
INVENTORY_DIR = REPO_ROOT / "inventory"


class FakeRun:
    """Stands in for ``subprocess.run``; records each call and answers like ``limactl``."""

    def __init__(self, stdout: str = "", stderr: str = "", returncode: int = 0) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.returncode = returncode
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((list(argv), kwargs))
        return subprocess.CompletedProcess(argv, self.returncode, self.stdout, self.stderr)


def lima_ssh_config(path: Path, instance: str = DEFAULT_INSTANCE, port: int = 60123) -> Path:
    """Write a file shaped like the ``ssh.config`` Lima keeps per instance."""
    path.write_text(
        f"Host lima-{instance}\n"
        f'  IdentityFile "{path.parent}/_config/user"\n'
        "  StrictHostKeyChecking no\n"
        "  UserKnownHostsFile /dev/null\n"
        "  NoHostAuthenticationForLocalhost yes\n"
        "  PreferredAuthentications publickey\n"
        "  BatchMode yes\n"
        "  IdentitiesOnly yes\n"
        "  User developer\n"
        "  Hostname 127.0.0.1\n"
        f"  Port {port}\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def ssh_config(tmp_path: Path) -> Path:
    return lima_ssh_config(tmp_path / "ssh.config")


@pytest.fixture(autouse=True)
def _default_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(INSTANCE_ENV_VAR, raising=False)


# --- pinacle.lima ------------------------------------------------------------------------------


def test_asks_limactl_for_status_and_ssh_config_of_the_instance(ssh_config: Path) -> None:
    run = FakeRun(stdout=f"Running\t{ssh_config}\n")

    assert lima_ssh_config_path("gvisor-alpine", run=run) == ssh_config

    [(argv, kwargs)] = run.calls
    assert argv[:3] == ["limactl", "ls", "--format"]
    assert "{{.SSHConfigFile}}" in argv[3]
    assert "{{.Status}}" in argv[3]
    assert argv[4:] == ["gvisor-alpine"]
    assert kwargs["capture_output"] is True
    assert kwargs["text"] is True
    assert kwargs["check"] is False
    assert kwargs["timeout"] > 0


def test_host_is_lima_alias_with_its_ssh_config_and_sudo(ssh_config: Path) -> None:
    run = FakeRun(stdout=f"Running\t{ssh_config}\n")

    [(name, data)] = lima_inventory_hosts("gvisor-alpine", run=run)

    assert name == "lima-gvisor-alpine"
    assert data["ssh_config_file"] == str(ssh_config)
    assert data["_sudo"] is True
    assert data["runsc_source"] == "release"
    assert "init_system" not in data  # detected by the deploy


def test_environment_variable_overrides_the_instance(ssh_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSTANCE_ENV_VAR, "pinacle-test")
    run = FakeRun(stdout=f"Running\t{ssh_config}\n")

    [(name, _)] = lima_inventory_hosts(run=run)

    assert name == "lima-pinacle-test"
    assert run.calls[0][0][-1] == "pinacle-test"


def test_missing_limactl_is_a_target_error_naming_the_fix() -> None:
    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(2, "No such file or directory", argv[0])

    with pytest.raises(TargetError) as caught:
        lima_ssh_config_path("gvisor-alpine", run=run)

    message = str(caught.value)
    assert "limactl is not installed" in message
    assert "limactl start lima/gvisor-alpine.yaml" in message
    assert isinstance(caught.value.__cause__, FileNotFoundError)


def test_missing_limactl_with_the_real_subprocess_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no limactl anywhere

    with pytest.raises(TargetError, match=r"limactl start lima/gvisor-alpine\.yaml"):
        lima_ssh_config_path("gvisor-alpine")


@pytest.mark.parametrize(
    ("returncode", "stderr"),
    [
        (1, 'time="..." level=warning msg="No instance matching gvisor-alpine found."'),
        (0, ""),  # older Lima releases: warning only, exit 0, nothing on stdout
    ],
)
def test_unknown_instance_is_a_target_error_naming_the_fix(returncode: int, stderr: str) -> None:
    run = FakeRun(stdout="", stderr=stderr, returncode=returncode)

    with pytest.raises(TargetError) as caught:
        lima_ssh_config_path("gvisor-alpine", run=run)

    message = str(caught.value)
    assert "'gvisor-alpine' does not exist" in message
    assert "limactl start lima/gvisor-alpine.yaml" in message


def test_other_instance_name_gets_a_create_command_with_that_name() -> None:
    with pytest.raises(TargetError, match=r"limactl start --name=dev2 lima/gvisor-alpine\.yaml"):
        lima_ssh_config_path("dev2", run=FakeRun(stdout=""))


@pytest.mark.parametrize("status", ["Stopped", "Broken", ""])
def test_vm_not_running_is_a_target_error_naming_the_fix(status: str, ssh_config: Path) -> None:
    # A stopped instance still reports its (stale) ssh.config: it must not be used.
    run = FakeRun(stdout=f"{status}\t{ssh_config}\n")

    with pytest.raises(TargetError) as caught:
        lima_ssh_config_path("gvisor-alpine", run=run)

    message = str(caught.value)
    assert "'gvisor-alpine' is not running" in message
    assert "limactl start gvisor-alpine" in message
    assert "limactl start lima/gvisor-alpine.yaml" in message


def test_running_vm_without_its_ssh_config_file(tmp_path: Path) -> None:
    run = FakeRun(stdout=f"Running\t{tmp_path / 'gone' / 'ssh.config'}\n")

    with pytest.raises(TargetError, match=r"SSH config .* is missing"):
        lima_ssh_config_path("gvisor-alpine", run=run)


def test_limactl_failure_is_reported_with_its_output() -> None:
    run = FakeRun(stdout="Running\t/x/ssh.config\n", stderr="boom", returncode=2)

    with pytest.raises(TargetError, match="exit code 2: boom"):
        lima_ssh_config_path("gvisor-alpine", run=run)


def test_limactl_timeout_is_a_target_error() -> None:
    def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        raise subprocess.TimeoutExpired(argv, kwargs["timeout"])

    with pytest.raises(TargetError, match="did not answer"):
        lima_ssh_config_path("gvisor-alpine", run=run)


def test_unexpected_output_is_a_target_error() -> None:
    with pytest.raises(TargetError, match="Unexpected output"):
        lima_ssh_config_path("gvisor-alpine", run=FakeRun(stdout="Running /no/tab\n"))


def test_pyinfra_ssh_client_resolves_the_alias_through_the_lima_config(ssh_config: Path) -> None:
    # What pyinfra's SSH connector does with `ssh_config_file` before it opens a connection.
    client = SSHClient()
    parsed = client.parse_config(  # type: ignore[no-untyped-call]
        "lima-gvisor-alpine", {}, ssh_config_file=str(ssh_config)
    )
    hostname, cfg, _agent, _policy, known_hosts, _keepalive, _identity_agent = parsed

    assert hostname == "127.0.0.1"
    assert cfg["port"] == 60123
    assert cfg["username"] == "developer"
    assert cfg["key_filename"] == [f"{ssh_config.parent}/_config/user"]
    assert known_hosts == ("/dev/null",)


# --- inventory files, loaded the way the pyinfra CLI loads them ---------------------------------


def load_inventory(name: str) -> Inventory:
    """The inventory as pinacle loads it (pinacle.inventory_file: pyinfra's rules, not its CLI)."""
    with ctx_state.use(State()):
        inventory = load_inventory_file(INVENTORY_DIR / name, cwd=REPO_ROOT)
    assert isinstance(inventory, Inventory)
    return inventory


# pyinfra's own CLI loader, in a process of its own: importing pyinfra_cli monkey-patches the
# whole process for gevent, which the test process (threads, Playwright) must not be.
PYINFRA_LOADER = """
import json, sys
from pyinfra.api.state import State
from pyinfra.context import ctx_state
from pyinfra_cli.inventory import make_inventory
with ctx_state.use(State()):
    inventory = make_inventory(sys.argv[1], cwd=sys.argv[2])
print(json.dumps({h.name: {"groups": sorted(h.groups), "data": h.data.dict()} for h in inventory}, default=str))
"""


def described(inventory: Inventory) -> dict[str, Any]:
    return json.loads(
        json.dumps({h.name: {"groups": sorted(h.groups), "data": h.data.dict()} for h in inventory}, default=str)
    )


@pytest.mark.parametrize("name", ["local.py", "production.example.py"])
def test_pinacle_loads_inventories_as_pyinfras_cli_does(name: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PYINFRA_LOADER, str(INVENTORY_DIR / name), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert described(load_inventory(name)) == json.loads(done.stdout.splitlines()[-1])


def test_local_inventory() -> None:
    inventory = load_inventory("local.py")

    [host] = list(inventory)
    assert host.name == "@local"
    assert host.connector_cls.__name__ == "LocalConnector"
    assert host.data.runsc_source == "debian-trixie"
    assert host.data.runsc_runtime_args == ["--network=host"]
    # Module-level lists become pyinfra groups: only the host list may be one.
    assert set(host.groups) <= {"local", "@local"}


def test_production_example_inventory() -> None:
    inventory = load_inventory("production.example.py")

    hosts = {host.name: host for host in inventory}
    assert set(hosts) == {
        "pod-host-1.example.com",
        "pod-host-2.example.com",
        "pod-host-3.example.com",
    }
    for host in hosts.values():
        assert host.connector_cls.__name__ == "SSHConnector"
        assert host.data.runsc_source == "release"
        assert host.data._sudo is True
        assert host.data.ssh_user
    assert hosts["pod-host-3.example.com"].data.ssh_port == 2222
    assert set(inventory.groups) >= {"debian_pod_hosts", "alpine_pod_hosts"}


def test_production_example_hosts_are_reached_by_logs_and_exec_with_sudo() -> None:
    host = {h.name: h for h in load_inventory("production.example.py")}["pod-host-3.example.com"]
    data = {key: host.data.get(key) for key in SSH_DATA_KEYS}
    argv = ssh_argv(host.name, data, ["docker", "logs", "pinacle-demo"], tty=False)
    assert argv[:5] == ["ssh", "-p", "2222", "-l", "alpine"]
    assert argv[-3:] == ["pod-host-3.example.com", "--", "sudo -H -n -- docker logs pinacle-demo"]


@pytest.fixture
def fake_limactl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A ``limactl`` on PATH that reports a running VM, answering only the expected call."""
    config = lima_ssh_config(tmp_path / "ssh.config")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "limactl"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$1" = ls ] && [ "$2" = --format ] && [ "$4" = gvisor-alpine ] || exit 9\n'
        f"printf 'Running\\t%s\\n' '{config}'\n",
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    yield config


def test_dev_inventory_with_a_running_vm(fake_limactl: Path) -> None:
    inventory = load_inventory("dev.py")

    [host] = list(inventory)
    assert host.name == "lima-gvisor-alpine"
    assert host.connector_cls.__name__ == "SSHConnector"
    assert host.data.ssh_config_file == str(fake_limactl)
    assert host.data._sudo is True
    assert host.data.runsc_source == "release"


def test_dev_inventory_without_limactl_fails_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(InventoryError, match=r"limactl start lima/gvisor-alpine\.yaml"):
        load_inventory("dev.py")
