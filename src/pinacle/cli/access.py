"""``pinacle token|open``: a pod's credential at its host's edge."""

from __future__ import annotations

import webbrowser

import click

from pinacle import executor
from pinacle.app import access
from pinacle.cli.common import echo_json, json_option, resolve_target, target_option
from pinacle.cli.errors import report_errors
from pinacle.pod.access import LOGIN_TTL_DEFAULT, LOGIN_TTL_MAX


@click.command()
@click.argument("slug")
@click.option("--rotate", is_flag=True, help="Replace the secret first: every browser of the pod is logged out.")
@target_option
@json_option
@report_errors
def token(slug: str, rotate: bool, target: str | None, as_json: bool) -> None:
    """Print the pod's secret (made at its first deploy, kept root-only on its host).

    Whoever has it can make login links for the pod; ``--rotate`` replaces it, which at once
    voids every cookie and every login link issued before. JSON: ``{"host", "slug", "secret",
    "rotated"}``. This is the only command that ever prints the secret.
    """
    with executor.session(resolve_target(target)) as session:
        record = access.pod_token(session, slug, rotate)
    if as_json:
        echo_json(record.to_json())
    else:
        click.echo(record.secret)


@click.command("open")
@click.argument("slug")
@click.argument("service", required=False)
@click.option("--print", "print_only", is_flag=True, help="Only print the link (the default).")
@click.option("--browser", is_flag=True, help="Open the link in this machine's browser instead of printing it.")
@click.option(
    "--ttl",
    type=click.IntRange(1, LOGIN_TTL_MAX),
    default=LOGIN_TTL_DEFAULT,
    show_default=True,
    help="Seconds the link stays usable (once).",
)
@target_option
@report_errors
def open_command(slug: str, service: str | None, print_only: bool, browser: bool, ttl: int, target: str | None) -> None:
    """Print a one-time login link for the pod's SERVICE (or the pod's main page); the plain URL
    when that is public (``visibility: public``).

    Visiting it sets the pod's cookie in that browser (HttpOnly, 7 days, valid for every host name
    of this pod only) and lands on the service. The link works once, for --ttl seconds; whoever
    visits it first gets the cookie, so hand it only to whom you mean to (rotating the pod's
    token with ``pinacle token SLUG --rotate`` logs every browser out again).
    """
    if browser and print_only:
        raise click.UsageError("--print and --browser: choose one")
    with executor.session(resolve_target(target)) as session:
        link = access.login_link(session, slug, service, ttl)
    if link.public:
        click.echo(f"{service or 'the main page of pod ' + slug} is public: no login needed", err=True)
    if browser and webbrowser.open(link.url):
        click.echo(f"opened a login link for pod {slug} in the browser", err=True)
        return
    click.echo(link.url)
