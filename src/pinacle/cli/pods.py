"""``pinacle list|status|stop|start|delete|logs|exec``: one pod at a time, or all of them."""

from __future__ import annotations

import sys
from typing import Any

import click

from pinacle import executor
from pinacle.app import pods
from pinacle.cli.common import (
    echo_json,
    echo_urls,
    json_option,
    resolve_target,
    target_option,
    timeout_option,
)
from pinacle.cli.errors import report_errors
from pinacle.cli.output import progress_lines
from pinacle.errors import HealthError, HostError, PodNotFound, TargetError
from pinacle.pod.names import volume_name
from pinacle.pod.report import human_age
from pinacle.records import PodStatus


def _health(record: PodStatus) -> str:
    parts = []
    for service in record.services:
        mark = {True: "ok", False: "DOWN", None: "-"}[service.healthy]
        parts.append(f"{service.name}:{mark}")
    return ",".join(parts)


@click.command("list")
@target_option
@json_option
@report_errors
def list_command(target: str | None, as_json: bool) -> None:
    """Every pod on the target: state, port, services and their health, image, age.

    On a fleet (an inventory of several hosts) a HOST column comes first; hosts that did not answer
    are named on stderr after the others' pods, and the exit code is 3. JSON: ``{"pods": [POD, ...],
    "unreachable": [HOST, ...]}``, POD as in ``pinacle status --json``.
    """
    target = resolve_target(target)
    with executor.session(target) as session:
        records = pods.list_pods(session)
        fleet, total = session.fleet, len(session.hosts) + len(session.unreachable)
        unreachable = dict(session.unreachable)
    if as_json:
        echo_json({"pods": [r.to_json() for r in records], "unreachable": sorted(unreachable)})
    elif not records:
        click.echo("no pods")
    else:
        _print_pods(records, fleet=fleet)
    if unreachable:  # a partial list is not a full one: exit 3, naming each host that did not answer
        named = "; ".join(f"{name}: {why}" for name, why in sorted(unreachable.items()))
        raise TargetError(
            f"cannot reach {len(unreachable)} of {total} host(s) of {target}: {named}; the others' pods are listed"
        )


def _print_pods(records: list[PodStatus], fleet: bool) -> None:
    host_width = max((len(r.host) for r in records), default=4) + 1 if fleet else 0
    header = f"{'SLUG':<20} {'STATE':<12} {'PORT':<6} {'SERVICES':<36} {'IMAGE':<24} {'RUNTIME':<8} AGE"
    click.echo((f"{'HOST':<{host_width}}" if fleet else "") + header)
    for r in records:
        state = f"{r.state}!" if r.problem else r.state
        click.echo(
            (f"{r.host:<{host_width}}" if fleet else "")
            + f"{r.slug:<20} {state:<12} {r.host_port or '-'!s:<6} {_health(r):<36} "
            f"{r.image:<24} {r.runtime:<8} {human_age(r.age_seconds)}"
        )
    for r in records:
        if r.problem:
            click.echo(f"! pod {r.slug}: {r.problem}", err=True)


@click.command()
@click.argument("slug")
@target_option
@json_option
@report_errors
def status(slug: str, target: str | None, as_json: bool) -> None:
    """One pod in detail: state, exit code, restarts, each service's health and URL.

    JSON: ``{"pods": [POD]}`` with POD = {"host", "slug", "name", "state", "status",
    "exit_code", "restart_count", "host_port", "image", "runtime", "created", "age_seconds",
    "healthy", "services": [{"name", "port", "http_status", "healthy", "url"}], "problem"}.
    Exits 4 when the pod has a problem (not under gVisor, a damaged host record), 6 when unhealthy.
    """
    with executor.session(resolve_target(target)) as session:
        records = pods.pod_status(session, slug)
    if as_json:
        echo_json({"pods": [r.to_json() for r in records]})
        return
    for r in records:
        click.echo(f"pod {r.slug} ({r.name}) on {r.host}")
        click.echo(f"  state      {r.state} (docker: {r.status}, exit code {r.exit_code}, restarts {r.restart_count})")
        click.echo(f"  host port  {r.host_port}")
        click.echo(f"  image      {r.image} under {r.runtime}")
        click.echo(f"  age        {human_age(r.age_seconds)} (created {r.created})")
        for s in r.services:
            health = {True: "healthy", False: "UNHEALTHY", None: "not checked"}[s.healthy]
            code = f" (HTTP {s.http_status:03d})" if s.http_status is not None else ""
            click.echo(f"  {s.name:<14} port {s.port:<6} {health}{code}  {s.url}")
        if r.problem:
            click.echo(f"  PROBLEM    {r.problem}")
    if any(r.problem for r in records):
        sys.exit(HostError.exit_code)
    if any(r.healthy is False for r in records):
        sys.exit(HealthError.exit_code)


@click.command()
@click.argument("slug")
@target_option
@report_errors
def stop(slug: str, target: str | None) -> None:
    """Stop a pod; its port, network, volume and config are kept (start brings it back)."""
    with executor.session(resolve_target(target)) as session:
        changes = pods.stop(session, slug)
    click.echo(f"pod {slug} stopped" if changes else f"pod {slug} was already stopped")


@click.command()
@click.argument("slug")
@target_option
@timeout_option
@json_option
@report_errors
def start(slug: str, target: str | None, timeout: float, as_json: bool) -> None:
    """Start a stopped pod on the same port; wait until its services are healthy."""
    with executor.session(resolve_target(target)) as session:
        records = pods.start(session, slug, timeout, progress_lines(quiet=as_json))
    if as_json:
        echo_json({"pods": [r.to_json() for r in records]})
    else:
        echo_urls(records)


@click.command()
@click.argument("slug")
@click.option("--purge", is_flag=True, help="Also remove the workspace volume (its data is lost).")
@target_option
@report_errors
def delete(slug: str, purge: bool, target: str | None) -> None:
    """Remove a pod's container and network, freeing its port; the workspace is kept unless
    --purge. Deleting a pod that does not exist is not an error."""
    with executor.session(resolve_target(target)) as session:
        existed = pods.delete(session, slug, purge)
    if not existed:
        click.echo(f"pod {slug} does not exist; nothing to delete")
    elif purge:
        click.echo(f"pod {slug} deleted, workspace volume included")
    else:
        click.echo(
            f"pod {slug} deleted; workspace volume {volume_name(slug)} kept "
            f"(`pinacle delete {slug} --purge` removes it)"
        )


def _one_pod(session: executor.Session, slug: str) -> tuple[Any, Any]:
    found = pods.pods(session, slug)
    if not found:
        raise PodNotFound(f"no pod {slug} on {session.target}; see `pinacle list`")
    return found[0]


@click.command()
@click.argument("slug")
@click.argument("service", required=False)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("-n", "--lines", default=200, show_default=True, help="Lines of history.")
@target_option
@report_errors
def logs(slug: str, service: str | None, follow: bool, lines: int, target: str | None) -> None:
    """The pod container's log, or SERVICE's log (/var/log/pinacle/SERVICE.log in the pod)."""
    with executor.session(resolve_target(target)) as session:
        host, record = _one_pod(session, slug)
        argv = pods.log_argv(record, service, lines, follow)
        code = executor.stream(host, argv)
    sys.exit(code)


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("slug")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option("--root", is_flag=True, help="Run as root instead of the pod's user (dev).")
@target_option
@report_errors
def exec_command(slug: str, command: tuple[str, ...], root: bool, target: str | None) -> None:
    """Run COMMAND in the pod (``pinacle exec SLUG -- CMD ARGS...``); with a TTY on a terminal.

    It runs as the pod's user (``dev``, in /workspace), so the files it makes belong to the same
    user as the editor and terminals; ``--root`` runs it as root. Standard input is passed on
    either way (``pinacle exec SLUG -- sh < script.sh``), and the command's exit code is pinacle's.
    """
    interactive = sys.stdin.isatty()
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise click.UsageError("no command given: pinacle exec SLUG -- CMD ARGS...")
    with executor.session(resolve_target(target)) as session:
        host, _record = _one_pod(session, slug)
        argv = pods.exec_argv(slug, command, root, tty=interactive)
        code = executor.stream(host, argv, interactive=interactive)
    sys.exit(code)
