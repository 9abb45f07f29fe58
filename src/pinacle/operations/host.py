"""Operations that turn a machine into a gVisor pod host."""

from __future__ import annotations

import shlex
from collections.abc import Generator

from pyinfra import host
from pyinfra.api import operation
from pyinfra.operations import openrc, systemd

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
    CONTAINERD_SOCKET,
    DAEMON_JSON_PATH,
    DOCKER_PIDFILE,
    LOG_DIR,
    PROBE_IMAGE,
    RELEASE_RUNSC_PATH,
    RUNSC_CHECKSUM_RECORD,
    HostSettings,
    desired_daemon_config,
    parse_daemon_json,
    release_url,
    release_version_string,
    reload_suffices,
    render_daemon_json,
    runtime_failure_hint,
)
from pinacle.operations._shell import fail, wait_until, write_file_command

RELOAD_DOCKERD = f'kill -HUP "$(cat {DOCKER_PIDFILE})"'

# With no init system (containers, CI sandboxes) pinacle itself is the supervisor of last resort:
# detached from the deploy's session so the daemons outlive it, logs kept under LOG_DIR.
_START_CONTAINERD = (
    f"mkdir -p {LOG_DIR} && {{ setsid containerd >>{LOG_DIR}/containerd.log 2>&1 </dev/null & }} && "
    + wait_until(f"ctr --address {CONTAINERD_SOCKET} version", "containerd", 30, f"{LOG_DIR}/containerd.log")
)
_START_DOCKERD = (
    f"mkdir -p {LOG_DIR} && {{ setsid dockerd --containerd={CONTAINERD_SOCKET} "
    f">>{LOG_DIR}/dockerd.log 2>&1 </dev/null & }} && "
    + wait_until("docker info", "dockerd", 60, f"{LOG_DIR}/dockerd.log")
)
_STOP_DOCKERD = f'kill "$(cat {DOCKER_PIDFILE})" && ' + wait_until(
    "! pidof dockerd", "dockerd shutdown", 60, f"{LOG_DIR}/dockerd.log"
)

# How each init restarts dockerd when a config change is beyond what SIGHUP applies.
RESTART_DOCKERD = {
    "systemd": "systemctl restart docker",
    "openrc": "rc-service docker restart",
    "none": f"{_STOP_DOCKERD} && {_START_DOCKERD}",
}


@operation()
def runsc_release(version: str, machine: str) -> Generator[str, None, None]:
    """
    Install the official gVisor ``runsc`` release, verified against its published SHA-512.

    + version: dated release such as ``20250715.0``
    + machine: the host's ``uname -m``

    The download lands in a temporary directory; a checksum mismatch aborts there, so the binary
    already installed stays in place. Rename within /usr/local/bin makes the swap atomic.
    """
    installed = host.get_fact(RunscVersion, path=RELEASE_RUNSC_PATH)
    recorded = host.get_fact(FileText, path=RUNSC_CHECKSUM_RECORD)
    actual = host.get_fact(FileSha512, path=RELEASE_RUNSC_PATH)
    wanted = release_version_string(version)
    if installed == wanted and recorded is not None and recorded.strip() == actual:
        host.noop(f"runsc {wanted} is installed and matches its verified checksum")
        return
    url = release_url(version, machine)
    target = shlex.quote(RELEASE_RUNSC_PATH)
    mismatch = fail(f"runsc {version} does not match its published SHA-512; kept the old binary")
    yield (
        'set -e; tmp=$(mktemp -d); trap \'rm -rf "$tmp"\' EXIT; cd "$tmp"; '
        f"curl -fsSL --retry 3 -o runsc {shlex.quote(url + '/runsc')}; "
        f"curl -fsSL --retry 3 -o runsc.sha512 {shlex.quote(url + '/runsc.sha512')}; "
        f"sha512sum -c runsc.sha512 >/dev/null 2>&1 || {{ {mismatch}; }}; "
        f"chmod 0755 runsc; cp runsc {target}.pinacle-new; mv -f {target}.pinacle-new {target}; "
        f'mkdir -p "$(dirname {RUNSC_CHECKSUM_RECORD})"; '
        f"cut -d ' ' -f 1 runsc.sha512 > {RUNSC_CHECKSUM_RECORD}"
    )
    if host.get_fact(DockerServer) is not None:
        yield RELOAD_DOCKERD


@operation()
def docker_daemon_config(settings: HostSettings, init: str) -> Generator[str, None, None]:
    """
    Merge pinacle's runtime, address pools and live-restore into ``/etc/docker/daemon.json``.

    + settings: the validated host settings
    + init: ``systemd``, ``openrc`` or ``none``; how to restart dockerd if a reload cannot apply it

    Keys the operator set survive. A running dockerd is reloaded (SIGHUP) when that applies the
    change, so running pods are untouched; otherwise restarted, which live-restore makes safe.
    """
    current = parse_daemon_json(host.get_fact(FileText, path=DAEMON_JSON_PATH))
    desired = desired_daemon_config(current, settings)
    if desired == current:
        host.noop(f"{DAEMON_JSON_PATH} already holds the {settings.runsc_runtime_name} runtime")
        return
    yield write_file_command(DAEMON_JSON_PATH, render_daemon_json(desired))
    if host.get_fact(DockerServer) is None:
        return  # the start operation brings dockerd up with the new file
    yield RELOAD_DOCKERD if reload_suffices(current, desired) else RESTART_DOCKERD[init]


@operation()
def daemons_running(init: str) -> Generator[object, None, None]:
    """
    Enable and start containerd and Docker with whatever init the host has.

    + init: ``systemd``, ``openrc`` or ``none``
    """
    if init == "systemd":
        for name in ("containerd", "docker"):
            yield from systemd.service._inner(service=name, running=True, enabled=True)
        return
    if init == "openrc":
        for name in ("containerd", "docker"):
            yield from openrc.service._inner(service=name, running=True, enabled=True)
        return
    running = host.get_fact(RunningProcesses, names=("containerd", "dockerd"))
    if "containerd" not in running:
        yield _START_CONTAINERD
    if "dockerd" not in running:
        yield _START_DOCKERD
    if {"containerd", "dockerd"} <= running:
        host.noop("containerd and dockerd are running")


@operation()
def probe_image(busybox: str) -> Generator[str, None, None]:
    """
    Import a one-binary image (static busybox) used to prove the runtime starts containers.

    + busybox: path of a statically linked busybox on the host

    No registry is needed, so the probe works on air-gapped hosts too.
    """
    if host.get_fact(DockerImageId, image=PROBE_IMAGE) is not None:
        host.noop(f"{PROBE_IMAGE} exists")
        return
    yield (
        'set -e; tmp=$(mktemp -d); trap \'rm -rf "$tmp"\' EXIT; mkdir "$tmp/bin"; '
        f'cp {shlex.quote(busybox)} "$tmp/bin/busybox"; ln -s busybox "$tmp/bin/sh"; '
        f'tar -C "$tmp" -c . | docker import -c \'CMD ["/bin/sh"]\' - {PROBE_IMAGE} >/dev/null'
    )


@operation()
def gvisor_runtime_works(settings: HostSettings) -> Generator[str, None, None]:
    """
    Prove a container really runs under the gVisor runtime, or fail naming the fix.

    + settings: the validated host settings (the runtime name)

    Reads a fact only: a working runtime is a no-op, a broken one fails the deploy.
    """
    if not host.state.is_executing:
        return  # nothing is installed yet while the deploy is being planned
    probe = host.get_fact(RuntimeProbe, runtime=settings.runsc_runtime_name, image=PROBE_IMAGE)
    if probe["ok"]:
        host.noop(f"a container runs under {settings.runsc_runtime_name} (gVisor kernel)")
        return
    output = str(probe["output"])
    yield fail(
        f"a container did not start under {settings.runsc_runtime_name}: "
        f"{output.strip()[-400:]}\nfix: {runtime_failure_hint(output, settings)}"
    )
