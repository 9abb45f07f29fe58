"""``pinacle snapshot SLUG [NAME]``, ``snapshot list``, ``snapshot delete NAME``, ``restore``."""

from __future__ import annotations

import click

from pinacle import executor
from pinacle.app import snapshots
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


class _DefaultToCreate(click.Group):
    """``pinacle snapshot SLUG [NAME]`` means ``pinacle snapshot create SLUG [NAME]``."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_DefaultToCreate)
def snapshot() -> None:
    """Snapshots of pods: `pinacle snapshot SLUG [NAME]`, `list`, `delete NAME`.

    A snapshot is the pod container committed to the image pinacle-snapshot/SLUG:NAME (its root
    filesystem: installed packages, service configs) plus its workspace volume archived to
    /var/lib/pinacle/snapshots/NAME.tar. Restore with `pinacle restore NAME [--as NEW-SLUG]`.
    """


@snapshot.command("create")
@click.argument("slug")
@click.argument("name", required=False)
@target_option
@json_option
@report_errors
def create(slug: str, name: str | None, target: str | None, as_json: bool) -> None:
    """Snapshot pod SLUG as NAME (default SLUG-<UTC time>).

    JSON: ``{"snapshots": [SNAPSHOT]}``, SNAPSHOT = {"host", "name", "source_slug", "image",
    "archive", "created", "size_bytes"}.
    """
    with executor.session(resolve_target(target)) as session:
        records = snapshots.snapshot(session, slug, name, progress_lines(quiet=as_json))
    if as_json:
        echo_json({"snapshots": [r.to_json() for r in records]})
        return
    for r in records:
        click.echo(f"snapshot {r.name} of {r.source_slug} on {r.host}: {r.image} + {r.archive}")


@snapshot.command("list")
@target_option
@json_option
@report_errors
def list_snapshots(target: str | None, as_json: bool) -> None:
    """Every snapshot on the target. JSON: ``{"snapshots": [SNAPSHOT, ...]}``."""
    with executor.session(resolve_target(target)) as session:
        records = snapshots.list_snapshots(session)
    if as_json:
        echo_json({"snapshots": [r.to_json() for r in records]})
        return
    if not records:
        click.echo("no snapshots")
        return
    click.echo(f"{'NAME':<32} {'POD':<20} {'CREATED':<22} SIZE")
    for r in records:
        click.echo(f"{r.name:<32} {r.source_slug:<20} {r.created[:19]:<22} {r.size_bytes // (1024 * 1024)}MiB")


@snapshot.command("delete")
@click.argument("name")
@target_option
@report_errors
def delete_snapshot(name: str, target: str | None) -> None:
    """Remove snapshot NAME (its image and workspace archive)."""
    with executor.session(resolve_target(target)) as session:
        existed = snapshots.delete_snapshot(session, name)
    click.echo(f"snapshot {name} deleted" if existed else f"snapshot {name} does not exist")


@click.command()
@click.argument("name")
@click.option("--as", "new_slug", help="Slug of the new pod (default: the snapshot's pod).")
@click.option(
    "--replace",
    is_flag=True,
    help="Roll an existing pod of that slug back to the snapshot: its container and workspace are "
    "replaced, its host port is kept.",
)
@target_option
@timeout_option
@json_option
@report_errors
def restore(name: str, new_slug: str | None, replace: bool, target: str | None, timeout: float, as_json: bool) -> None:
    """Create a pod from snapshot NAME: its image, routes and services, its workspace.

    JSON: ``{"pods": [POD]}`` as ``pinacle status --json``.
    """
    with executor.session(resolve_target(target)) as session:
        records = snapshots.restore(session, name, new_slug, timeout, progress_lines(quiet=as_json), replace=replace)
    if as_json:
        echo_json({"pods": [r.to_json() for r in records]})
    else:
        echo_urls(records)
