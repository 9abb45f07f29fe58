"""``pinacle doctor``: what is wrong with a target, and how to fix it."""

from __future__ import annotations

import sys

import click

from pinacle import executor
from pinacle.cli.common import echo_json, json_option, resolve_target, target_option
from pinacle.cli.errors import report_errors
from pinacle.errors import TargetError
from pinacle.readers.host import PROBE_DIR, PROBE_IMAGE, runtime_probe
from pinacle.records import DoctorCheck, HostReport

_MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@click.command()
@target_option
@json_option
@click.option("--image", default="pinacle/base:latest", show_default=True, help="Base image pods run.")
@click.option("--runtime", default="runsc", show_default=True, help="gVisor runtime name.")
@report_errors
def doctor(target: str | None, as_json: bool, image: str, runtime: str) -> None:
    """Check Docker, the gVisor runtime, address pools, ports, the base image and every pod.

    Exits 1 when any check fails. JSON: ``{"ok": bool, "hosts": [{"host", "checks":
    [{"name", "status": "ok"|"warn"|"fail", "message", "fix"}]}]}``.
    """
    resolved = resolve_target(target)
    # The runtime probe (a sandbox started) is the longest read: it runs while the checks import.
    executor.read_ahead(resolved, runtime_probe(runtime, PROBE_IMAGE, PROBE_DIR))
    from pinacle.app import doctor as app_doctor

    try:
        with executor.session(resolved) as session:
            report = app_doctor.doctor(session, image=image, runtime=runtime)
    except TargetError as exc:
        fix = "check the inventory and that the host is reachable"
        report = [HostReport(resolved, (DoctorCheck("connect", "fail", str(exc), fix),))]
    ok = all(entry.ok for entry in report)
    if as_json:
        echo_json({"ok": ok, "hosts": [entry.to_json() for entry in report]})
    else:
        for entry in report:
            click.echo(f"{entry.host}:")
            for check in entry.checks:
                click.echo(f"  [{_MARKS[check.status]}] {check.name}: {check.message}")
                if check.fix and check.status != "ok":
                    click.echo(f"         fix: {check.fix}")
        click.echo("all checks passed" if ok else "some checks failed")
    sys.exit(0 if ok else 1)
