"""`docker kill` (or an OOM kill of the whole sandbox) leaves a pod exited: Docker does not
restart a container it was told to kill. pinacle's decision: a re-apply of the pod file (or
`pinacle start`) brings it back on the same port; `list` shows it exited meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.reliability.conftest import docker, pinacle, pod_json
from tests.integration.reliability.tally import tally


def test_a_killed_pod_shows_exited_and_a_reapply_brings_it_back_on_its_port(
    pod_file: Callable[..., tuple[str, Path]],
) -> None:
    slug, path = pod_file("rel-kill")
    pinacle("deploy", str(path), check=True)
    port = pod_json(slug)["host_port"]
    docker("kill", f"pinacle-{slug}")
    assert pod_json(slug)["state"] == "exited (137)"
    plan = pinacle("deploy", str(path), "--dry-run")
    assert plan.returncode == 2 and f"Would start container pinacle-{slug} (it is stopped)" in plan.stdout
    pinacle("deploy", str(path), check=True)
    after = pod_json(slug)
    assert (after["state"], after["healthy"], after["host_port"]) == ("running", True, port)
    tally("converged")
