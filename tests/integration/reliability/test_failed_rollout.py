"""A rollout that fails on the host leaves nothing of the pods it was creating; what existed
before (a kept workspace) stays."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.reliability.conftest import docker, leftovers, pinacle
from tests.integration.reliability.tally import tally

# Valid for the schema (at most 64 CPUs), more than this 2-core machine has: `docker create` refuses.
TOO_MANY_CPUS = 63


def test_a_new_pod_docker_refuses_leaves_no_network_volume_or_container(
    pod_file: Callable[..., tuple[str, Path]],
) -> None:
    slug, path = pod_file("rel-fail", cpus=TOO_MANY_CPUS)
    result = pinacle("deploy", str(path))
    assert result.returncode == 5 and "CPU" in result.stderr
    left = leftovers(slug)
    tally("leaked" if left else "refused")
    assert left == {}


def test_a_failed_rollout_keeps_the_workspace_an_earlier_pod_left(pod_file: Callable[..., tuple[str, Path]]) -> None:
    slug, path = pod_file("rel-keep")
    pinacle("deploy", str(path), check=True)
    pinacle("exec", slug, "--", "sh", "-c", "echo precious > kept.txt", check=True)
    pinacle("delete", slug, check=True)  # the workspace volume is kept
    path.write_text(path.read_text().replace("cpus: 1", f"cpus: {TOO_MANY_CPUS}"))
    assert pinacle("deploy", str(path)).returncode == 5
    assert leftovers(slug) == {"volume": [f"pinacle-{slug}-workspace"]}
    path.write_text(path.read_text().replace(f"cpus: {TOO_MANY_CPUS}", "cpus: 1"))
    pinacle("deploy", str(path), check=True)
    assert pinacle("exec", slug, "--", "cat", "kept.txt", check=True).stdout == "precious\n"
    tally("converged")


def test_a_missing_image_is_refused_by_the_dry_run_and_the_rollout_alike(
    pod_file: Callable[..., tuple[str, Path]],
) -> None:
    slug, path = pod_file("rel-img")
    path.write_text(path.read_text() + "image: pinacle/no-such-image:latest\n")
    dry, real = pinacle("deploy", str(path), "--dry-run"), pinacle("deploy", str(path))
    assert (dry.returncode, real.returncode) == (4, 4)
    assert "not on this host" in dry.stderr and "not on this host" in real.stderr
    assert leftovers(slug) == {} and docker("network", "ls", "-q", "--filter", f"name=pinacle-{slug}") == ""
    tally("refused")
