"""A fork bomb in one pod stops at the pod's pids limit: the host keeps deploying and serving
other pods meanwhile."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.reliability.conftest import docker, pinacle, pod_json
from tests.integration.reliability.tally import tally

BOMB = "bomb() { bomb | bomb & }; bomb"


def test_a_fork_bomb_in_one_pod_does_not_stop_another_from_being_deployed_and_served(
    pod_file: Callable[..., tuple[str, Path]],
) -> None:
    bomber, bomber_path = pod_file("rel-bomb")
    other, other_path = pod_file("rel-bomb")
    pinacle("deploy", str(bomber_path), check=True)
    assert docker("inspect", "-f", "{{.HostConfig.PidsLimit}}", f"pinacle-{bomber}") == "4096"
    bomb = subprocess.Popen(
        ["docker", "exec", "-u", "dev", f"pinacle-{bomber}", "timeout", "60", "bash", "-c", BOMB],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(5)  # let it reach its limit
        pinacle("deploy", str(other_path), check=True, timeout=240)
        assert pod_json(other)["healthy"] is True
    finally:
        docker("rm", "-f", f"pinacle-{bomber}", check=False)  # the bomb goes with its sandbox
        bomb.wait(timeout=60)
    tally("converged")
