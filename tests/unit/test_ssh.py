"""The ssh command line that logs and exec use to reach SSH hosts, from pyinfra host data."""

from __future__ import annotations

import pytest

from pinacle.errors import TargetError
from pinacle.ssh import ssh_argv

DOCKER_EXEC = ["docker", "exec", "-i", "pinacle-demo", "sh", "-c", "echo 'hi there'"]


def test_plain_host_is_reached_by_name_without_a_tty() -> None:
    assert ssh_argv("pod-host-1", {}, ["docker", "ps"], tty=False) == [
        "ssh", "-o", "LogLevel=ERROR", "-T", "pod-host-1", "--", "docker ps",
    ]  # fmt: skip


def test_a_terminal_asks_for_a_tty() -> None:
    assert "-t" in ssh_argv("h", {}, ["docker", "ps"], tty=True)


def test_connection_data_becomes_ssh_options() -> None:
    data = {
        "ssh_hostname": "10.0.0.5",
        "ssh_port": 2222,
        "ssh_user": "deploy",
        "ssh_key": "/keys/pinacle",
        "ssh_known_hosts_file": "/keys/known_hosts",
        "ssh_strict_host_key_checking": "accept-new",
        "ssh_forward_agent": True,
    }
    argv = ssh_argv("pod-host-1", data, ["docker", "ps"], tty=False)
    assert argv[: argv.index("-T")] == [
        "ssh", "-p", "2222", "-l", "deploy", "-i", "/keys/pinacle", "-A",
        "-o", "UserKnownHostsFile=/keys/known_hosts", "-o", "StrictHostKeyChecking=accept-new",
        "-o", "LogLevel=ERROR",
    ]  # fmt: skip
    assert argv[-3:] == ["10.0.0.5", "--", "docker ps"]


def test_lima_is_reached_through_its_ssh_config_and_host_alias() -> None:
    data = {"ssh_config_file": "/Users/me/.lima/gvisor-alpine/ssh.config"}
    argv = ssh_argv("lima-gvisor-alpine", data, ["docker", "ps"], tty=False)
    assert argv[1:3] == ["-F", "/Users/me/.lima/gvisor-alpine/ssh.config"]
    assert argv[-3] == "lima-gvisor-alpine"


def test_the_remote_command_is_quoted_for_the_remote_shell() -> None:
    argv = ssh_argv("h", {}, DOCKER_EXEC, tty=False)
    assert argv[-1] == "docker exec -i pinacle-demo sh -c 'echo '\"'\"'hi there'\"'\"''"


def test_sudo_hosts_run_the_command_with_sudo_that_never_prompts_without_a_tty() -> None:
    argv = ssh_argv("h", {"_sudo": True}, ["docker", "ps"], tty=False)
    assert argv[-1] == "sudo -H -n -- docker ps"


def test_sudo_may_prompt_on_a_terminal_and_may_change_user() -> None:
    argv = ssh_argv("h", {"_sudo": True, "_sudo_user": "docker-admin"}, ["docker", "ps"], tty=True)
    assert argv[-1] == "sudo -H -u docker-admin -- docker ps"


def test_password_authentication_is_refused_with_the_fix() -> None:
    with pytest.raises(TargetError, match="use a key"):
        ssh_argv("h", {"ssh_password": "secret"}, ["docker", "ps"], tty=False)
