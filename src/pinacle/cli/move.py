"""``pinacle move SLUG --to HOST``, ``drain HOST``, ``undrain HOST``: pods between the hosts of a fleet."""

from __future__ import annotations

import click

from pinacle.app import move as move_case
from pinacle.cli.common import echo_json, echo_urls, json_option, resolve_target, target_option, timeout_option
from pinacle.cli.errors import report_errors
from pinacle.cli.output import progress_lines


@click.command()
@click.argument("slug")
@click.option("--to", "to", required=True, metavar="HOST", help="The inventory host to carry the pod to.")
@target_option
@timeout_option
@json_option
@report_errors
def move(slug: str, to: str, target: str | None, timeout: float, as_json: bool) -> None:
    """Carry pod SLUG to host HOST of the inventory: stop, snapshot, carry image and workspace (checked by
    SHA-256), restore there under the same slug, then remove it from the host it left. A move killed
    anywhere is finished by running it again; at most one copy runs, and a copy of the workspace is always
    on disk."""
    records = move_case.move(resolve_target(target), slug, to, timeout, progress_lines(quiet=as_json))
    if as_json:
        echo_json({"pods": [r.to_json() for r in records]})
    else:
        echo_urls(records)


@click.command()
@click.argument("host")
@target_option
@timeout_option
@json_option
@report_errors
def drain(host: str, target: str | None, timeout: float, as_json: bool) -> None:
    """Move every pod off HOST (each to the host with the most room its placement allows) and place no
    new pod there until `pinacle undrain HOST`. Run again, it finishes what an interrupted drain left."""
    records = move_case.drain(resolve_target(target), host, timeout, progress_lines(quiet=as_json))
    if as_json:
        echo_json({"drained": host, "pods": [r.to_json() for r in records]})
        return
    echo_urls(records)
    click.echo(f"{host} is drained: no new pod is placed there until `pinacle undrain {host}`")


@click.command()
@click.argument("host")
@target_option
@report_errors
def undrain(host: str, target: str | None) -> None:
    """Let placement put new pods on HOST again (after `pinacle drain HOST`)."""
    move_case.undrain(resolve_target(target), host)
    click.echo(f"{host} takes new pods again")
