"""The host deploy (deploys/vm.py) on this machine: idempotent, merges daemon.json, spares pods."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from tests.integration.conftest import REPO, docker

from pinacle.readers.host import PROBE_IMAGE

pytestmark = pytest.mark.integration
DAEMON_JSON = Path("/etc/docker/daemon.json")


def provision() -> tuple[int, str]:
    """Run the deploy as a user would; return how many operations changed something."""
    result = subprocess.run(
        ["pyinfra", "-y", "inventory/local.py", "deploys/vm.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr  # pyinfra logs its summary to stderr
    total = re.search(r"Grand total\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)", output)
    assert total, output
    changed = 0 if total[2] == "-" else int(total[2])
    return changed, output


def test_second_run_reports_no_changes() -> None:
    provision()
    changed, output = provision()
    assert changed == 0, output


def test_runsc_comes_from_the_pinned_trixie_source() -> None:
    # inventory/local.py: runsc_source = "debian-trixie" (bookworm's runsc breaks coreutils' ls).
    provision()
    version = subprocess.run(["runsc", "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("runsc version 0.0~2024"), version
    assert "Suites: trixie" in Path("/etc/apt/sources.list.d/pinacle-trixie.sources").read_text()
    listing = docker("run", "--rm", "--runtime=runsc", PROBE_IMAGE, "/bin/ls", "-lan", "/probe")
    assert " file" in listing


def test_operator_keys_survive_and_a_reload_spares_running_containers() -> None:
    before = json.loads(DAEMON_JSON.read_text())
    edited = {**before, "debug": False}
    edited.pop("live-restore", None)  # pinacle's key: the deploy must put it back
    DAEMON_JSON.write_text(json.dumps(edited, indent=2))
    container = docker("run", "-d", "--runtime=runsc", PROBE_IMAGE, "/bin/busybox", "sleep", "300")
    try:
        changed, output = provision()
        assert changed == 1, output
        after = json.loads(DAEMON_JSON.read_text())
        assert after["debug"] is False
        assert after["live-restore"] is True
        # A reload (SIGHUP), not a restart: the container kept running throughout.
        assert docker("inspect", "--format", "{{.State.Running}} {{.RestartCount}}", container) == "true 0"
    finally:
        docker("rm", "-f", container, check=False)
        DAEMON_JSON.write_text(
            json.dumps({**json.loads(DAEMON_JSON.read_text()), **{k: v for k, v in before.items()}}, indent=2)
        )
        provision()
