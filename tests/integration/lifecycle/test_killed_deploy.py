"""A ``pinacle-deploy`` killed midway (SIGKILL) and re-run leaves exactly one of everything."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import labelled, new_slug, pinacle_json, run

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("after", [0.5, 1.5, 3.0])
def test_killed_deploy_converges(after: float, slugs: list[str], pod_file: Callable[[str], Path]) -> None:
    slug = new_slug("lc-kill")
    slugs.append(slug)
    path = pod_file(slug)
    process = subprocess.Popen(["pinacle-deploy", str(path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(after)
    process.send_signal(signal.SIGKILL)
    process.wait()
    # Commands the killed deploy had started may still be running on the host: let them end.
    time.sleep(2)
    run("pinacle-deploy", str(path))
    assert labelled(slug) == {
        "container": [f"pinacle-{slug}"],
        "network": [f"pinacle-{slug}"],
        "volume": [f"pinacle-{slug}-workspace"],
    }
    record = pinacle_json("status", slug)["pods"][0]
    assert record["healthy"] is True
    ports = run(
        "docker", "ps", "-a", "--filter", f"label=pinacle.pod={slug}",
        "--format", '{{.Label "pinacle.port"}}',
    ).stdout.split()  # fmt: skip
    assert ports == [str(record["host_port"])]
