"""``pinacle-deploy POD.yaml``: roll out a pod, or show the plan with ``--dry-run``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from pinacle import executor
from pinacle.cli.errors import report_errors
from pinacle.cli.output import Progress
from pinacle.deploys.pod import roll_out_pod
from pinacle.errors import HostError
from pinacle.plan import (
    Action,
    DeploySettings,
    ObservedPod,
    PodPlan,
    container_change,
    diff_pod,
    has_changes,
    image_problem,
    lowest_free_port,
    plan_pod,
)
from pinacle.resolver import resolve
from pinacle.spec import pod_json_schema

# Terraform's -detailed-exitcode: 0 nothing to do, 2 changes pending (errors are other codes).
EXIT_CHANGES_PENDING = 2


def _print_plan(session: executor.Session, plan: PodPlan) -> bool:
    pending = False
    for host in session.hosts:
        if not executor.docker_is_up(host):
            raise HostError(f"{host.name}: Docker is not running; run the host deploy first")
        observed = executor.observe_pod(host, plan)
        if problem := image_problem(plan, observed):
            raise HostError(f"{host.name}: {problem}")
        changes = diff_pod(plan, observed)
        click.echo(f"{host.name}: pod {plan.slug}")
        for change in changes:
            click.echo(f"  {change.describe(dry_run=True)}")
        if container_change(plan, observed).action is Action.CREATE and plan.container.host_port is None:
            taken = set(executor.taken_ports(host))
            port = lowest_free_port(plan.port_range, taken)
            click.echo(f"  Would allocate host port {port if port else '(none free!)'}")
        pending = pending or has_changes(changes)
    click.echo("Changes pending." if pending else "No changes.")
    return pending


@click.command()
@click.argument("pod_file", type=click.Path(path_type=Path), required=False)
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
    pod_file: Path | None,
    target: str | None,
    dry_run: bool,
    schema: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Roll out the pod defined in POD_FILE: network, port, router, gVisor container, services."""
    if schema:
        click.echo(json.dumps(pod_json_schema(), indent=2))
        return
    if pod_file is None:
        raise click.UsageError("POD_FILE is required (or use --schema)")
    # Everything about the input is checked before the first connection to a host.
    plan = plan_pod(resolve(pod_file), DeploySettings.from_env())
    progress = Progress(quiet=as_json)
    target = target or executor.default_target()
    progress.step(f"connecting to {target}")
    with executor.session(target) as session:
        if dry_run:
            sys.exit(EXIT_CHANGES_PENDING if _print_plan(session, plan) else 0)
        # Checked before the first change: a pod whose image lacks its services leaves nothing behind.
        for host in session.hosts:
            if not executor.docker_is_up(host):
                raise HostError(f"{host.name}: Docker is not running; run the host deploy first")
            image_id, image_services = executor.observe_image(host, plan.container.image)
            observed = ObservedPod(image_id=image_id, image_services=image_services)
            if problem := image_problem(plan, observed):
                raise HostError(f"{host.name}: {problem}")
        progress.step(f"rolling out pod {plan.slug}")
        roll_out = session.apply(roll_out_pod, plan=plan)
        for host_name, names in roll_out.changed.items():
            progress.step(f"{host_name}: {len(names)} change(s)" + (f": {', '.join(names)}" if names else ""))
        results: list[dict[str, Any]] = []
        for host in session.hosts:
            container = executor.observe_pod(host, plan).container
            if container is None or container.host_port is None:
                raise HostError(f"{host.name}: pod {plan.slug} has no container after the rollout")
            progress.step(f"waiting for services of {plan.slug} on {host.name}")
            executor.wait_until_healthy(host, plan, container.host_port, timeout, progress.step)
            results.append(
                {
                    "host": host.name,
                    "slug": plan.slug,
                    "host_port": container.host_port,
                    "urls": plan.urls(container.host_port),
                }
            )
    if as_json:
        click.echo(json.dumps({"changes": roll_out.change_count, "pods": results}, indent=2))
        return
    for result in results:
        click.echo(
            f"pod {result['slug']} is up on {result['host']}, host port {result['host_port']}"
            f" ({roll_out.change_count} change(s))"
        )
        for name, url in result["urls"].items():
            click.echo(f"  {name:<14} {url}")


if __name__ == "__main__":
    main()
