"""Operations on a host's edge: its config files, its process, its pod table."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Generator, Mapping, Sequence

from pyinfra import host
from pyinfra.api import operation

from pinacle.edge.settings import (
    EDGE_CONF,
    EDGE_DIR,
    EDGE_PID,
    EDGE_PODS_CONF,
    EDGE_TLS_SCRIPT,
)
from pinacle.facts.edge import EdgeRunning, EdgeTable
from pinacle.facts.host import FileSha512
from pinacle.hostspec import LOG_DIR
from pinacle.operations._shell import fail, wait_until, write_file_command

_CONF = shlex.quote(EDGE_CONF)
TEST_EDGE = f"nginx -t -q -c {_CONF}"
RELOAD_EDGE = f"nginx -s reload -c {_CONF}"
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


def _sha512(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def _edge_dir() -> str:
    return f"mkdir -p -m 0700 {EDGE_DIR} && chmod 0700 {EDGE_DIR}"


@operation()
def edge_config(files: Mapping[str, str]) -> Generator[str, None, None]:
    """
    Write the edge's config files (root-only) that differ, then reload a running edge.

    + files: path -> text (``pinacle.edge.config.render_edge_conf`` and the edge's state file)

    The pod table is left alone (it is the host's pods', ``edge_table`` keeps it), but an empty
    one is made if there is none, so the config tests valid before the first pod.
    """
    changed = [path for path, text in sorted(files.items()) if host.get_fact(FileSha512, path=path) != _sha512(text)]
    no_table = host.get_fact(FileSha512, path=EDGE_PODS_CONF) is None
    if not changed and not no_table:
        host.noop("the edge's config is up to date")
        return
    steps = [_edge_dir()]
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
def edge_table(table: str, certificates: Sequence[str] = ()) -> Generator[str, None, None]:
    """
    Bring the edge's pod table to ``table`` and reload the edge, only when it changed.

    + table: ``pods.conf`` as ``pinacle.edge.config.render_edge_table`` renders it
    + certificates: names (``pod-SLUG.DOMAIN``) the local CA must have issued a certificate for

    A table nginx refuses is put back to the previous one, so a reload never serves a broken
    table. The reload is graceful: old workers finish their open WebSockets (terminals, editors).
    """
    current = host.get_fact(EdgeTable)
    missing = sorted(set(certificates) - current.certificates)
    rewrite = current.sha512 != _sha512(table)
    if not rewrite and not missing:
        host.noop("the edge's pod table is up to date")
        return
    for name in missing:
        yield f"{shlex.quote(EDGE_TLS_SCRIPT)} issue {shlex.quote(name)}"
    if rewrite:
        table_path = shlex.quote(EDGE_PODS_CONF)
        previous = shlex.quote(EDGE_PODS_CONF + ".prev")
        refused = fail("nginx refused the new pod table (see above); the previous one is back in place")
        yield (
            f"{_edge_dir()} && {{ [ ! -f {table_path} ] || cp -p {table_path} {previous}; }} && "
            + write_file_command(EDGE_PODS_CONF, table, mode="0600")
            + f" && if ! {TEST_EDGE}; then {{ [ ! -f {previous} ] || mv -f {previous} {table_path}; }}; {refused}; fi"
            + f"; rm -f {previous}"
        )
    if current.running:
        yield RELOAD_EDGE


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
