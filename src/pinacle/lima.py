"""Reach the Lima development VM the pyinfra way: through the OpenSSH config Lima writes for it.

Lima keeps one ``ssh.config`` per instance (host alias ``lima-<instance>``) and rewrites it at every
``limactl start`` (the forwarded SSH port changes). ``inventory/dev.py`` therefore asks ``limactl``
for the file and its instance state each time the inventory is loaded, and hands the file to
pyinfra's SSH connector as ``ssh_config_file``. Nothing is cached, nothing is guessed.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pinacle.errors import TargetError

DEFAULT_INSTANCE = "gvisor-alpine"
"""The instance ``limactl start lima/gvisor-alpine.yaml`` creates (named after the file)."""

INSTANCE_ENV_VAR = "PINACLE_LIMA_INSTANCE"
"""Environment variable that overrides the instance name."""

TEMPLATE_PATH = "lima/gvisor-alpine.yaml"

LIMACTL_TIMEOUT_SECONDS = 30

# One line per instance: "<Status>\t<SSHConfigFile>". Asking for the status in the same call lets a
# stopped VM fail here with a clear message instead of later, at connect time, on a stale port.
_LS_FORMAT = "{{.Status}}\t{{.SSHConfigFile}}"

Runner = Callable[..., subprocess.CompletedProcess[str]]
"""The shape of :func:`subprocess.run` as used here (injected in unit tests)."""

HostData = dict[str, Any]


def lima_instance_name(environ: Mapping[str, str] | None = None) -> str:
    """The Lima instance to target: ``$PINACLE_LIMA_INSTANCE`` or ``gvisor-alpine``."""
    env = os.environ if environ is None else environ
    return env.get(INSTANCE_ENV_VAR, "").strip() or DEFAULT_INSTANCE


def lima_ssh_host_alias(instance: str) -> str:
    """The ``Host`` alias Lima writes into the instance's ``ssh.config``."""
    return f"lima-{instance}"


def limactl_ls_argv(instance: str) -> list[str]:
    """The ``limactl`` command that reports an instance's status and SSH config file."""
    return ["limactl", "ls", "--format", _LS_FORMAT, instance]


def _create_hint(instance: str) -> str:
    name_flag = "" if instance == DEFAULT_INSTANCE else f"--name={instance} "
    return f"`limactl start {name_flag}{TEMPLATE_PATH}` (on a Linux host add `--vm-type=qemu`)"


def lima_ssh_config_path(instance: str, run: Runner = subprocess.run) -> Path:
    """Path of the OpenSSH config Lima wrote for the *running* instance ``instance``.

    Raises :class:`~pinacle.errors.TargetError` naming the fix when ``limactl`` is missing, the
    instance does not exist, or it is not running.
    """
    argv = limactl_ls_argv(instance)
    try:
        result = run(
            argv,
            capture_output=True,
            text=True,
            check=False,
            timeout=LIMACTL_TIMEOUT_SECONDS,
        )
    except FileNotFoundError as exc:
        raise TargetError(
            "limactl is not installed (or not on PATH), so the Lima VM "
            f"{instance!r} cannot be reached. Install Lima (https://lima-vm.io, e.g. "
            f"`brew install lima`), then create and start the VM with {_create_hint(instance)}."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TargetError(
            f"`{' '.join(argv)}` did not answer within {LIMACTL_TIMEOUT_SECONDS}s; check `limactl ls` by hand."
        ) from exc

    stdout = result.stdout or ""
    stderr = (result.stderr or "").strip()
    # Do not strip the whole output: an empty status would take its tab separator with it.
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        # Lima prints "No instance matching <name> found." on stderr (exit 1 in Lima >= 2,
        # exit 0 with empty output in older releases).
        detail = f" (limactl said: {stderr})" if stderr else ""
        raise TargetError(
            f"The Lima VM {instance!r} does not exist{detail}. Create and start it with {_create_hint(instance)}."
        )
    if result.returncode != 0:
        raise TargetError(f"`{' '.join(argv)}` failed with exit code {result.returncode}: {stderr or stdout.strip()}")
    if len(lines) != 1 or "\t" not in lines[0]:
        raise TargetError(
            f"Unexpected output from `{' '.join(argv)}`: {stdout!r} (expected one line: status, tab, ssh config path)."
        )

    status, _, config = lines[0].partition("\t")
    status, config = status.strip(), config.strip()
    if status != "Running":
        raise TargetError(
            f"The Lima VM {instance!r} is not running (status: {status or 'unknown'}). "
            f"Start it with `limactl start {instance}`; if it does not exist yet, "
            f"create it with {_create_hint(instance)}."
        )

    path = Path(config)
    if not config or not path.is_absolute():
        raise TargetError(f"limactl reported no usable SSH config path for the Lima VM {instance!r}: {config!r}")
    if not path.is_file():
        raise TargetError(
            f"The Lima VM {instance!r} is running but its SSH config {path} is missing; "
            f"restart it with `limactl stop {instance} && limactl start {instance}`."
        )
    return path


def lima_inventory_hosts(
    instance: str | None = None,
    run: Runner = subprocess.run,
) -> list[tuple[str, HostData]]:
    """pyinfra inventory hosts for the Lima VM: ``[(alias, host data)]``.

    The host name is Lima's SSH alias, so pyinfra's SSH connector looks it up in the instance's
    ``ssh.config`` (HostName, Port, User, IdentityFile, host-key settings all come from there).
    ``instance`` defaults to :func:`lima_instance_name`.
    """
    name = instance or lima_instance_name()
    config = lima_ssh_config_path(name, run=run)
    alias = lima_ssh_host_alias(name)
    data: HostData = {
        # pyinfra SSH connector data (pyinfra.connectors.ssh.ConnectorData)
        "ssh_config_file": str(config),
        # Lima's default user is not root; it has passwordless sudo in every Lima guest.
        "_sudo": True,
        # Deploy data: the official, checksum-verified gVisor release (the default). The init
        # system (OpenRC on Alpine) is detected by the deploy, not declared here.
        "runsc_source": "release",
        "lima_instance": name,
    }
    return [(alias, data)]
