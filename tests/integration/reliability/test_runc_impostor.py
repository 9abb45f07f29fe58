"""A pod container recreated by hand under runc, with pinacle's labels, is caught: flagged by
list, status and doctor, never started, and replaced under gVisor by the next rollout."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.integration.reliability.conftest import docker, pinacle, pod_json
from tests.integration.reliability.tally import tally


def impersonate_under_runc(slug: str) -> None:
    """Recreate the pod container with the same name, labels, port and network, under runc."""
    inspected = json.loads(docker("inspect", f"pinacle-{slug}"))[0]
    labels = [f"--label={k}={v}" for k, v in inspected["Config"]["Labels"].items()]
    port = inspected["Config"]["Labels"]["pinacle.port"]
    docker("rm", "-f", f"pinacle-{slug}")
    docker(
        "run", "-d", "--name", f"pinacle-{slug}", "--runtime", "runc", "--network", f"pinacle-{slug}",
        "--publish", f"127.0.0.1:{port}:80", *labels, inspected["Config"]["Image"], "sleep", "600",
    )  # fmt: skip


@pytest.fixture
def impostor(pod_file: Callable[..., tuple[str, Path]]) -> tuple[str, Path]:
    slug, path = pod_file("rel-runc")
    pinacle("deploy", str(path), check=True)
    impersonate_under_runc(slug)
    return slug, path


def test_status_flags_a_pod_under_runc_and_exits_4(impostor: tuple[str, Path]) -> None:
    slug, _path = impostor
    result = pinacle("status", slug)
    assert result.returncode == 4
    assert "PROBLEM    NOT SANDBOXED: it runs under runtime runc" in result.stdout
    assert pod_json(slug)["problem"].startswith("NOT SANDBOXED")


def test_list_flags_a_pod_under_runc(impostor: tuple[str, Path]) -> None:
    slug, _path = impostor
    result = pinacle("list")
    assert result.returncode == 0
    assert f"! pod {slug}: NOT SANDBOXED" in result.stderr
    assert any(line.startswith(slug) and "running!" in line for line in result.stdout.splitlines())


def test_doctor_fails_a_pod_under_runc(impostor: tuple[str, Path]) -> None:
    slug, _path = impostor
    result = pinacle("doctor")
    assert result.returncode == 1
    assert f"[FAIL] pod {slug}: NOT SANDBOXED" in result.stdout


def test_start_refuses_a_pod_under_runc(impostor: tuple[str, Path]) -> None:
    slug, _path = impostor
    docker("stop", "-t", "1", f"pinacle-{slug}")
    result = pinacle("start", slug)
    assert result.returncode == 4 and "is not started: NOT SANDBOXED" in result.stderr
    assert docker("inspect", "-f", "{{.State.Status}}", f"pinacle-{slug}") == "exited"
    tally("refused")


def test_a_rollout_replaces_a_pod_under_runc_with_a_gvisor_one(impostor: tuple[str, Path]) -> None:
    slug, path = impostor
    plan = pinacle("deploy", str(path), "--dry-run")
    assert plan.returncode == 2
    assert f"Would replace container pinacle-{slug} (it runs under runtime runc, not runsc" in plan.stdout
    pinacle("deploy", str(path), check=True)
    assert docker("inspect", "-f", "{{.HostConfig.Runtime}}", f"pinacle-{slug}") == "runsc"
    assert pod_json(slug)["healthy"] is True and pod_json(slug)["problem"] == ""
    tally("converged")


@pytest.mark.parametrize("runtime", ["RUNC", "io.containerd.runc.v1", "io.containerd.runtime.v1.linux", "runc-v2"])
def test_a_runtime_that_is_not_gvisor_here_is_refused_before_any_change(
    runtime: str, pod_file: Callable[..., tuple[str, Path]]
) -> None:
    slug, path = pod_file("rel-rt")
    path.write_text(path.read_text() + f"runtime: {runtime}\n")
    for args in (["--dry-run"], []):
        result = pinacle("deploy", str(path), *args)
        assert result.returncode in (4, 65), result.stderr
        assert "gVisor" in result.stderr or "sandbox" in result.stderr
    assert docker("ps", "-a", "--filter", f"label=pinacle.pod={slug}", "-q") == ""
    assert docker("network", "ls", "--filter", f"label=pinacle.pod={slug}", "-q") == ""
    tally("refused")
