"""Options and helpers every ``pinacle`` subcommand shares."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pinacle import executor

if TYPE_CHECKING:
    from pinacle.records import PodStatus

F = TypeVar("F", bound=Callable[..., Any])


def target_option(func: F) -> F:
    return click.option(
        "-i",
        "--inventory",
        "target",
        help="pyinfra inventory file, @local, or 'lima'. "
        "Default: $PINACLE_INVENTORY, else the Lima VM on macOS and @local on Linux.",
    )(func)


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")(func)


def timeout_option(func: F) -> F:
    return click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait for healthy services.")(
        func
    )


def resolve_target(target: str | None) -> str:
    return target or executor.default_target()


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True))


def echo_urls(records: list[PodStatus]) -> None:
    for record in records:
        click.echo(f"pod {record.slug} is {record.state} on {record.host}, host port {record.host_port}")
        for service in record.services:
            click.echo(f"  {service.name:<14} {service.url}")
