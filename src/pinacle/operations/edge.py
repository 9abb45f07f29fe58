"""Operations on a host's edge: its config files, its process, its pod table."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Generator, Mapping, Sequence

from pyinfra import host
from pyinfra.api import StringCommand, operation

from pinacle.edge.commands import RELOAD_EDGE, TEST_EDGE, edge_dir_command, refresh_commands, sha512, table_commands
from pinacle.edge.settings import (
    EDGE_AUTH_PID,
    EDGE_AUTH_SOCKET,
    EDGE_AUTH_STARTED,
    EDGE_CONF,
    EDGE_PID,
    EDGE_PODS_CONF,
    EdgeSettings,
)
from pinacle.edge.units import socket_dir_command
from pinacle.facts.edge import EdgeAuthRunning, EdgeRunning, EdgeState, EdgeTable
from pinacle.facts.host import DockerServer, FileSha512, FileText
from pinacle.facts.pod import PodStates
from pinacle.operations._shell import wait_until, write_file_command
from pinacle.operations.staging import staged
from pinacle.pod.names import LOG_DIR

_CONF = shlex.quote(EDGE_CONF)
# nginx daemonizes itself; setsid keeps it out of the deploy's session all the same (as dockerd).
START_EDGE = (
    f"mkdir -p -m 0700 /run/pinacle {LOG_DIR} && {TEST_EDGE} && "
    f"setsid nginx -c {_CONF} >>{LOG_DIR}/edge.log 2>&1 </dev/null && "
    + wait_until(
        f'[ -s {EDGE_PID} ] && kill -0 "$(cat {EDGE_PID})"', "the edge (nginx)", 30, f"{LOG_DIR}/edge-error.log"
    )
)
STOP_EDGE = f"nginx -s quit -c {_CONF}"
EMPTY_TABLE = "# pinacle edge pod table: no pod yet.\n"


@operation()
def edge_config(files: Mapping[str, str]) -> Generator[str, None, None]:
    """
    Write the edge's config files (root-only) that differ, then reload a running edge.

    + files: path -> text (``pinacle.edge.config.render_edge_conf`` and the edge's state file)

    The pod table is left alone (it is the host's pods', ``edge_table`` keeps it), but an empty
    one is made if there is none, so the config tests valid before the first pod.
    """
    changed = [path for path, text in sorted(files.items()) if host.get_fact(FileSha512, path=path) != sha512(text)]
    no_table = host.get_fact(FileSha512, path=EDGE_PODS_CONF) is None
    if not changed and not no_table:
        host.noop("the edge's config is up to date")
        return
    steps = [edge_dir_command()]
    steps += [write_file_command(path, files[path], mode="0600") for path in changed]
    if no_table:
        steps.append(write_file_command(EDGE_PODS_CONF, EMPTY_TABLE, mode="0600"))
    yield " && ".join(steps)
    if host.get_fact(EdgeRunning):
        yield f"{TEST_EDGE} && {RELOAD_EDGE}"


@operation()
def edge_started() -> Generator[str, None, None]:
    """Start the edge with no init system (containers, CI): detached, logs under LOG_DIR."""
    if host.get_fact(EdgeRunning):
        host.noop("the edge (nginx) is running")
        return
    yield START_EDGE


@operation()
def edge_stopped() -> Generator[str, None, None]:
    """Stop the edge (host data edge_enabled = False): open connections finish first."""
    if not host.get_fact(EdgeRunning):
        host.noop("the edge is not running")
        return
    yield STOP_EDGE


@operation()
def edge_table_refreshed(edge: EdgeSettings | None = None) -> Generator[str | StringCommand, None, None]:
    """
    Regenerate the edge's pod table from the pods the host holds when this runs; reload the edge
    only when the table changed. Every deploy that starts, stops, creates or removes a pod ends
    with it, so it sees what that deploy did.

    + edge: the settings to render with (the host deploy's); default: what the host recorded

    A host without an edge (or with it off) is left alone.
    """
    edge = edge or host.get_fact(EdgeState)
    if edge is None or not edge.enabled:
        host.noop("no edge on this host")
        return
    pods = host.get_fact(PodStates, images=()) if host.get_fact(DockerServer) is not None else None
    commands = refresh_commands(edge, pods, host.get_fact(EdgeTable))
    if not commands:
        host.noop("the edge's pod table is up to date")
    yield from staged(commands)  # many pods of many ports make a table longer than one argument


@operation()
def edge_table(
    table: str, certificates: Sequence[str] = (), secrets: Sequence[str] = ()
) -> Generator[str | StringCommand, None, None]:
    """
    Bring the edge's pod table to ``table`` and reload the edge, only when it changed.

    + table: ``pods.conf`` as ``pinacle.edge.config.render_edge_table`` renders it
    + certificates: names (``pod-SLUG.DOMAIN``) the local CA must have issued a certificate for
    + secrets: pods that must have a secret for the credential daemon (made once, at first deploy)

    A table nginx refuses is put back to the previous one, so a reload never serves a broken
    table. The reload is graceful: old workers finish their open WebSockets (terminals, editors).
    """
    commands = table_commands(table, host.get_fact(EdgeTable), certificates, secrets)
    if not commands:
        host.noop("the edge's pod table is up to date")
    yield from staged(commands)


@operation()
def distro_nginx_stopped(init: str) -> Generator[str, None, None]:
    """
    Stop and disable the distribution's nginx service that installing the package started.

    + init: ``systemd``, ``openrc`` or ``none``
    """
    if init == "systemd":
        yield "systemctl disable --now nginx.service >/dev/null 2>&1 || true"
    elif init == "openrc":
        yield "rc-service nginx stop >/dev/null 2>&1 || true; rc-update del nginx >/dev/null 2>&1 || true"
    else:
        yield '[ ! -s /run/nginx.pid ] || kill -QUIT "$(cat /run/nginx.pid)" 2>/dev/null || true'


@operation()
def edge_auth_started(argv: Sequence[str], script_sha512: str, nginx_group: str) -> Generator[str, None, None]:
    """
    Run the credential daemon with no init system: detached, its log under LOG_DIR.

    + argv: its command line (``pinacle.edge.units.edge_auth_argv``)
    + script_sha512: the SHA-512 of the script this deploy installs; a daemon started from another
      one, or with other arguments, is restarted (its state is on disk, so nothing is lost but a second of logins)
    + nginx_group: the group of nginx's workers, the only non-root users who may reach its socket
    """
    running = host.get_fact(EdgeAuthRunning)
    started = (host.get_fact(FileText, path=EDGE_AUTH_STARTED) or "").strip()
    command = shlex.join(argv)
    # What it runs: another script or other arguments restart it.
    fingerprint = hashlib.sha512(f"{script_sha512} {command}".encode()).hexdigest()
    if running and started == fingerprint:
        host.noop("the edge's credential daemon is running")
        return
    pid = shlex.quote(EDGE_AUTH_PID)
    if running:
        yield f'kill "$(cat {pid})" && ' + wait_until(
            f'! kill -0 "$(cat {pid})"', "the old credential daemon's exit", 30, f"{LOG_DIR}/edge-auth.log"
        )
    socket = shlex.quote(EDGE_AUTH_SOCKET)
    yield (
        f"mkdir -p {LOG_DIR} && {socket_dir_command(nginx_group)} && "
        f"{{ setsid sh -c {shlex.quote(f'echo $$ > {pid}; exec {command}')} "
        f">>{LOG_DIR}/edge-auth.log 2>&1 </dev/null & }} && "
        + wait_until(f"[ -S {socket} ]", "the edge's credential daemon", 30, f"{LOG_DIR}/edge-auth.log")
        + f" && echo {fingerprint} > {shlex.quote(EDGE_AUTH_STARTED)}"
    )


@operation()
def edge_auth_stopped() -> Generator[str, None, None]:
    """Stop the credential daemon the host deploy started without an init (edge turned off)."""
    if not host.get_fact(EdgeAuthRunning):
        host.noop("the edge's credential daemon is not running")
        return
    yield f'kill "$(cat {shlex.quote(EDGE_AUTH_PID)})" && rm -f {shlex.quote(EDGE_AUTH_PID)}'
