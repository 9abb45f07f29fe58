"""``pinacle-deploy POD.yaml...``: roll out pods, or show the plan with ``--dry-run``.

Only click is imported at start-up: the library (pydantic, pyinfra) loads when a command runs, so
``--help`` and usage errors answer at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pinacle.cli.errors import report_errors
from pinacle.cli.output import progress_lines

if TYPE_CHECKING:
    from pinacle.pod.desired import PodPlan

# Terraform's -detailed-exitcode: 0 nothing to do, 2 changes pending (errors are other codes).
EXIT_CHANGES_PENDING = 2


def _load(pod_files: tuple[Path, ...]) -> list[PodPlan]:
    """Every pod file resolved and planned before the first connection to a host."""
    from pinacle.errors import SpecError
    from pinacle.pod.desired import plan_pod
    from pinacle.pod.settings import DeploySettings
    from pinacle.resolver import resolve

    settings = DeploySettings.from_env()
    plans = [plan_pod(resolve(path), settings) for path in pod_files]
    seen: dict[str, Path] = {}
    for path, plan in zip(pod_files, plans, strict=True):
        if plan.slug in seen:
            raise SpecError(f"{path}: slug {plan.slug} is also the slug of {seen[plan.slug]}")
        seen[plan.slug] = path
    return plans


def _print_plan(target: str, plans: list[PodPlan]) -> bool:
    from pinacle import executor
    from pinacle.app.rollout import plan

    with executor.session(target) as session:
        results = plan(session, plans)
    pending = False
    for result in results:
        click.echo(f"{result.host}: pod {result.slug}")
        for change in result.changes:
            click.echo(f"  {change.describe()}")
        pending = pending or result.pending
    click.echo("Changes pending." if pending else "No changes.")
    return pending


@click.command()
@click.argument("pod_files", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-i",
    "--inventory",
    "target",
    help="pyinfra inventory file, @local, or 'lima'. "
    "Default: $PINACLE_INVENTORY, else the Lima VM on macOS and @local on Linux.",
)
@click.option("--dry-run", is_flag=True, help="Show the plan; change nothing. Exit 2 if changes are pending.")
@click.option("--schema", is_flag=True, help="Print the pod file JSON Schema and exit.")
@click.option(
    "--timeout",
    default=180.0,
    show_default=True,
    help="Seconds to wait for services to be healthy.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@report_errors
def main(
    pod_files: tuple[Path, ...],
    target: str | None,
    dry_run: bool,
    schema: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Roll out the pods defined in POD_FILES: network, port, router, gVisor container, services.

    Several pod files roll out in one run, over one connection per host.
    """
    if schema:
        from pinacle.spec import pod_json_schema

        click.echo(json.dumps(pod_json_schema(), indent=2))
        return
    if not pod_files:
        raise click.UsageError("POD_FILES are required (or use --schema)")
    from pinacle import executor
    from pinacle.readers.pod import pod_states

    target = target or executor.default_target()
    executor.read_ahead(target, pod_states())  # on @local, Docker answers while the pod files load
    from pinacle.app.rollout import roll_out

    plans = _load(pod_files)
    if dry_run:
        sys.exit(EXIT_CHANGES_PENDING if _print_plan(target, plans) else 0)
    results = roll_out(target, plans, timeout, progress_lines(quiet=as_json))
    if as_json:
        payload: dict[str, Any] = {"changes": sum(r.changes for r in results), "pods": [r.to_json() for r in results]}
        click.echo(json.dumps(payload, indent=2))
        return
    for result in results:
        click.echo(
            f"pod {result.slug} is up on {result.host}, host port {result.host_port} ({result.changes} change(s))"
        )
        for name, url in result.urls.items():
            click.echo(f"  {name:<14} {url}")


if __name__ == "__main__":
    main()
