"""``pinacle snapshot SLUG [NAME]``, ``snapshot list``, ``snapshot delete NAME``, ``snapshot prune``, ``restore``."""

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
    """Snapshots of pods: `pinacle snapshot SLUG [NAME]`, `list`, `delete NAME`, `prune`.

    A snapshot is the pod container committed to the image pinacle-snapshot/SLUG:NAME (its root
    filesystem: installed packages, service configs) plus its workspace volume archived to
    /var/lib/pinacle/snapshots/NAME.tar and its pod file in NAME.json beside it. Restore with
    `pinacle restore NAME [--as NEW-SLUG]`. An interrupted snapshot is listed as incomplete:
    take it again, delete it, or prune every one.
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
    "archive", "created", "size_bytes", "state", "leftovers"}.
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
    """Every snapshot on the target, incomplete ones too. JSON: ``{"snapshots": [SNAPSHOT, ...]}``."""
    with executor.session(resolve_target(target)) as session:
        records = snapshots.list_snapshots(session)
    if as_json:
        echo_json({"snapshots": [r.to_json() for r in records]})
        return
    if not records:
        click.echo("no snapshots")
        return
    click.echo(f"{'NAME':<32} {'POD':<20} {'STATE':<12} {'CREATED':<22} SIZE")
    for r in records:
        size = f"{r.size_bytes // (1024 * 1024)}MiB" if r.size_bytes else "-"
        click.echo(f"{r.name:<32} {r.source_slug:<20} {r.state:<12} {r.created[:19]:<22} {size}")
    for r in records:
        if r.leftovers:
            click.echo(f"{r.name}: left by an interrupted run: {', '.join(r.leftovers)}")
    if any(r.leftovers and r.state != "in-progress" for r in records):
        click.echo("remove them with `pinacle snapshot delete NAME` or `pinacle snapshot prune`")


@snapshot.command("delete")
@click.argument("name")
@target_option
@report_errors
def delete_snapshot(name: str, target: str | None) -> None:
    """Remove snapshot NAME (its image, workspace archive and manifest), complete or not."""
    with executor.session(resolve_target(target)) as session:
        existed = snapshots.delete_snapshot(session, name)
    click.echo(f"snapshot {name} deleted" if existed else f"snapshot {name} does not exist")


@snapshot.command("prune")
@click.option("--dry-run", is_flag=True, help="Only list what would be removed.")
@target_option
@json_option
@report_errors
def prune(dry_run: bool, target: str | None, as_json: bool) -> None:
    """Remove what interrupted snapshots left: incomplete snapshots, and temporary images and
    partial files beside complete ones. Snapshots being taken now are left alone.

    JSON: ``{"snapshots": [SNAPSHOT, ...], "dry_run": BOOL}`` (as they were before pruning).
    """
    with executor.session(resolve_target(target)) as session:
        records = snapshots.prune_snapshots(session, dry_run=dry_run)
    if as_json:
        echo_json({"snapshots": [r.to_json() for r in records], "dry_run": dry_run})
        return
    if not records:
        click.echo("no snapshot leftovers")
    verb = "would remove" if dry_run else "removed"
    for r in records:
        what = "incomplete snapshot" if r.state != "complete" else "leftovers beside snapshot"
        click.echo(f"{verb} {what} {r.name} on {r.host}: {', '.join(r.leftovers)}")


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
