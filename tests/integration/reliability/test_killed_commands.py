"""`pinacle-deploy` and `pinacle delete` killed (SIGKILL, to the process or to its whole process
group) at the moment a resource appears or disappears: the next run converges and nothing leaks."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.integration.conftest import REPO
from tests.integration.reliability.conftest import leftovers, pinacle, pod_json
from tests.integration.reliability.tally import tally

Probe = Callable[[str], bool]
MARKERS: dict[str, Probe] = {
    "network made": lambda slug: "network" in leftovers(slug),
    "container made": lambda slug: "container" in leftovers(slug),
}


def start(*args: str) -> subprocess.Popen[bytes]:
    module = "pinacle.cli.deploy" if args[0] == "deploy" else "pinacle.cli.main"
    argv = [str(REPO / ".venv/bin/python"), "-m", module, *(args[1:] if args[0] == "deploy" else args)]
    return subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def kill_when(process: subprocess.Popen[bytes], probe: Callable[[], bool], group: bool) -> bool:
    """SIGKILL ``process`` (or its group) as soon as ``probe`` holds; False if it ended first."""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if probe():
            if group:
                os.killpg(process.pid, signal.SIGKILL)
            else:
                process.kill()
            process.wait()
            return True
        time.sleep(0.02)
    process.wait()
    return False


def settle() -> None:
    """Commands a killed process had started on the host (a PID kill spares its children) end."""
    time.sleep(3)


@pytest.mark.parametrize(
    ("marker", "group"), [("network made", False), ("container made", True)], ids=["network-pid", "container-group"]
)
def test_a_deploy_killed_midway_converges_on_the_next_run(
    marker: str, group: bool, pod_file: Callable[..., tuple[str, Path]]
) -> None:
    slug, path = pod_file("rel-kd")
    killed = kill_when(start("deploy", "-i", "@local", str(path)), lambda: MARKERS[marker](slug), group)
    assert killed, f"the deploy ended before its {marker}"
    settle()
    pinacle("deploy", str(path), check=True)
    left = leftovers(slug)
    assert left == {
        "container": [f"pinacle-{slug}"],
        "network": [f"pinacle-{slug}"],
        "volume": [f"pinacle-{slug}-workspace"],
        "record": [f"{slug}.json"],
    }
    assert pod_json(slug)["healthy"] is True
    tally("converged")


@pytest.mark.parametrize("group", [True], ids=["group"])
def test_a_delete_killed_midway_converges_on_the_next_run(
    group: bool, pod_file: Callable[..., tuple[str, Path]]
) -> None:
    slug, path = pod_file("rel-kx")
    pinacle("deploy", str(path), check=True)
    killed = kill_when(
        start("delete", "-i", "@local", slug, "--purge"), lambda: "container" not in leftovers(slug), group
    )
    settle()
    assert pinacle("delete", slug, "--purge").returncode == 0
    left = leftovers(slug)
    tally("leaked" if left else "converged")
    assert left == {}, f"killed={killed}"
