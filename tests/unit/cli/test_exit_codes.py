"""Exit codes a script can rely on: usage errors are not "changes pending", conflicts are not bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pinacle import errors


def run_cli(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    ("module", "args"),
    [
        ("pinacle.cli.deploy", ("--no-such-flag",)),
        ("pinacle.cli.deploy", ()),
        ("pinacle.cli.main", ("no-such-command",)),
        ("pinacle.cli.main", ("status",)),
        ("pinacle.cli.main", ("token",)),
        ("pinacle.cli.main", ("open",)),
        ("pinacle.cli.main", ("open", "demo", "--ttl", "0")),
        ("pinacle.cli.main", ("open", "demo", "--print", "--browser")),
    ],
)
def test_a_usage_error_exits_64_never_2(module: str, args: tuple[str, ...]) -> None:
    assert run_cli(module, *args).returncode == 64


def test_every_error_class_has_its_own_exit_code() -> None:
    classes = [errors.SpecError, errors.ConflictError, errors.TargetError, errors.HostError]
    classes += [errors.DeployError, errors.HealthError, errors.PodNotFound]
    codes = [cls.exit_code for cls in classes]
    assert len(set(codes)) == len(codes)
    assert 2 not in codes and 64 not in codes  # "changes pending" and usage


def test_a_lost_port_claim_is_a_deploy_error_and_a_missing_snapshot_a_missing_pod() -> None:
    assert issubclass(errors.PortClaimLost, errors.DeployError)
    assert errors.SnapshotNotFound.exit_code == errors.PodNotFound.exit_code == 7
