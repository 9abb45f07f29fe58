"""The ``ssh`` command line that reaches a pyinfra SSH host, for commands that need a terminal.

pyinfra's SSH connector runs commands through paramiko and hands their output back when they end.
``pinacle logs --follow`` and ``pinacle exec`` need the user's terminal wired to the remote command
(stdin, a TTY, output as it comes, the exit code), which is what the ``ssh`` client does. The command
line is built from the same host data pyinfra connects with, so both reach the host the same way.
Pure: host data in, argv out.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from pinacle.errors import TargetError

# The pyinfra host data (connector data and global arguments) the ssh command line follows.
SSH_DATA_KEYS = (
    "ssh_hostname",
    "ssh_port",
    "ssh_user",
    "ssh_key",
    "ssh_password",
    "ssh_config_file",
    "ssh_known_hosts_file",
    "ssh_strict_host_key_checking",
    "ssh_forward_agent",
    "_sudo",
    "_sudo_user",
)


def ssh_argv(name: str, data: Mapping[str, Any], remote: Sequence[str], tty: bool) -> list[str]:
    """``ssh ... HOST -- 'remote command'`` for inventory host ``name`` with pyinfra host ``data``."""
    if data.get("ssh_password"):
        raise TargetError(
            f"{name}: logs and exec stream through the ssh client, which cannot be given ssh_password; "
            "use a key (ssh_key) or an agent for this host"
        )
    argv = ["ssh"]
    if config := data.get("ssh_config_file"):
        argv += ["-F", os.path.expanduser(str(config))]
    if port := data.get("ssh_port"):
        argv += ["-p", str(int(port))]
    if user := data.get("ssh_user"):
        argv += ["-l", str(user)]
    if key := data.get("ssh_key"):
        argv += ["-i", os.path.expanduser(str(key))]
    if data.get("ssh_forward_agent"):
        argv.append("-A")
    if known_hosts := data.get("ssh_known_hosts_file"):
        argv += ["-o", f"UserKnownHostsFile={os.path.expanduser(str(known_hosts))}"]
    if checking := data.get("ssh_strict_host_key_checking"):
        argv += ["-o", f"StrictHostKeyChecking={checking}"]
    argv += ["-o", "LogLevel=ERROR"]  # errors only: no "Connection to ... closed." after each command
    argv.append("-t" if tty else "-T")
    command = list(remote)
    if data.get("_sudo"):
        # Without a terminal sudo cannot ask for a password: fail at once (-n) rather than hang.
        sudo = ["sudo", "-H"] + ([] if tty else ["-n"])
        if sudo_user := data.get("_sudo_user"):
            sudo += ["-u", str(sudo_user)]
        command = [*sudo, "--", *command]
    argv += [str(data.get("ssh_hostname") or name), "--", shlex.join(command)]
    return argv
