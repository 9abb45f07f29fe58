"""``pinacle routes``: every edge of a fleet forwarding the names of the pods its peers hold."""

from __future__ import annotations

import click

from pinacle.app.fleet_routes import sync_routes
from pinacle.cli.common import echo_json, json_option, resolve_target, target_option
from pinacle.cli.errors import report_errors
from pinacle.cli.output import progress_lines


@click.command()
@target_option
@json_option
@report_errors
def routes(target: str | None, as_json: bool) -> None:
    """Bring each fleet host's edge table to the pods the other hosts serve now, changing only the
    hosts whose table differs. Every command that changes a fleet's pods ends with this; run it after
    the host deploy turned edges on, or after a host joined the inventory."""
    changed = sync_routes(resolve_target(target), progress_lines(quiet=as_json))
    if as_json:
        echo_json({"changed": changed})
    elif changed:
        click.echo(f"edge tables changed on {', '.join(sorted(changed))}")
    else:
        click.echo("every edge table is in step")
