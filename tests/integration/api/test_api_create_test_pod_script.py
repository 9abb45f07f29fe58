"""scripts/create-test-pod.py, the original design's manual test, runs against the real host."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.api.conftest import new_slug
from tests.integration.conftest import REPO


def test_create_test_pod_script_creates_reports_stops_and_deletes_the_pod(cleanup: list[str]) -> None:
    slug = new_slug("api-script")
    cleanup.append(slug)
    done = subprocess.run(
        [sys.executable, "scripts/create-test-pod.py", "--target", "@local", "--slug", slug],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"pod {slug} is running on @local under runsc" in done.stdout
    assert f"code-server    HTTP 200  http://localhost-8726.pod-{slug}.localhost:" in done.stdout
    assert f"vibe-kanban    HTTP 200  http://localhost-5262.pod-{slug}.localhost:" in done.stdout
    assert f"pod {slug} stopped: stopped\npod {slug} deleted\n" in done.stdout
    assert "==> code-server is healthy (HTTP 200)" in done.stderr
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=pinacle.pod={slug}"], capture_output=True, text=True
    )
    assert listed.stdout == ""
