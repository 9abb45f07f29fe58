"""scripts/create-test-pod.py, the original design's manual test, runs against the real host."""

from __future__ import annotations

import re
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
    # The edge's URL (no port) on a host with an edge, the pod's own port otherwise.
    for service, port in (("code-server", 8726), ("vibe-kanban", 5262)):
        url = rf"http://localhost-{port}\.pod-{re.escape(slug)}\.localhost(:[0-9]+)?/"
        assert re.search(rf"^  {service} +HTTP 200  {url}$", done.stdout, re.MULTILINE), done.stdout
    assert f"pod {slug} stopped: stopped\npod {slug} deleted\n" in done.stdout
    assert "==> code-server is healthy (HTTP 200)" in done.stderr
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=pinacle.pod={slug}"], capture_output=True, text=True
    )
    assert listed.stdout == ""
