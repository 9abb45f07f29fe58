"""Every hostile pod file of the corpus through the real CLI: refused with exit 65 naming the file,
in bounded time and memory, and nothing reaches a host. Valid files with hostile strings resolve,
and what is rendered from them keeps those strings inert.

No command can reach a host unnoticed: ``PINACLE_INVENTORY`` points at an inventory file that
writes a marker when pyinfra loads it (and names a host that does not exist).
"""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from tests.integration.conftest import REPO, docker
from tests.integration.hostile.corpus import Case, cases

from pinacle.operations.pod import create_argv
from pinacle.pod.desired import plan_pod
from pinacle.pod.names import LABEL_NAME
from pinacle.pod.settings import DeploySettings
from pinacle.resolver import resolve

CORPUS = cases()
REFUSED = [case for case in CORPUS if case.expect == "refuse"]
ACCEPTED = [case for case in CORPUS if case.expect == "accept"]
WALL_SECONDS = 60  # the whole CLI, start-up included, on a busy shared machine
RSS_MB = 250  # the CLI's own footprint is about 65 MB; a bomb would take gigabytes


def test_the_corpus_has_at_least_sixty_hostile_files() -> None:
    assert len(REFUSED) >= 60
    assert len({case.id for case in CORPUS}) == len(CORPUS)


@pytest.fixture
def marker_inventory(tmp_path: Path) -> tuple[Path, Path]:
    marker = tmp_path / "inventory-was-loaded"
    inventory = tmp_path / "marker_inventory.py"
    inventory.write_text(f"open({str(marker)!r}, 'w').close()\nhosts = ['hostile-nowhere.invalid']\n")
    return inventory, marker


def _run_cli(args: list[str], inventory: Path) -> tuple[int, str, float, float]:
    """rc, stderr, wall seconds, peak RSS (MB) of one pinacle-deploy run."""
    env = {**os.environ, "PINACLE_INVENTORY": str(inventory)}
    with open(os.devnull, "rb") as stdin, subprocess.Popen(
        [sys.executable, "-m", "pinacle.cli.deploy", *args],
        stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=REPO, env=env,
    ) as process:  # fmt: skip
        start = time.monotonic()
        assert process.stderr is not None
        stderr = process.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        return process.returncode, stderr, time.monotonic() - start, usage.ru_maxrss / 1024


@pytest.mark.parametrize("case", REFUSED, ids=[case.id for case in REFUSED])
def test_a_hostile_pod_file_is_refused_before_any_host_is_contacted(
    tmp_path: Path, marker_inventory: tuple[Path, Path], tally: Counter[str], case: Case
) -> None:
    tally["tried"] += 1
    inventory, marker = marker_inventory
    pod_file = tmp_path / "hostile.yaml"
    pod_file.write_bytes(case.content)
    # Both paths load every file before anything else; the dry run is tried on every fifth case
    # (each CLI run costs about half a second of start-up, and CI has 2 cores).
    runs = [[str(pod_file)], ["--dry-run", str(pod_file)]] if REFUSED.index(case) % 5 == 0 else [[str(pod_file)]]
    for args in runs:
        rc, stderr, seconds, rss_mb = _run_cli(args, inventory)
        if marker.exists():
            tally["leaked"] += 1
        assert not marker.exists(), f"{case.id}: the inventory was loaded: a host would have been contacted"
        assert rc == 65, f"{case.id}: exit {rc}: {stderr[-1000:]}"
        assert stderr.startswith(f"error: {pod_file}"), stderr[:300]
        assert "Traceback" not in stderr
        assert seconds < WALL_SECONDS
        assert rss_mb < RSS_MB
    tally["refused"] += 1


@pytest.mark.parametrize("case", ACCEPTED, ids=[case.id for case in ACCEPTED])
def test_a_valid_pod_file_with_hostile_strings_renders_them_inert(
    tmp_path: Path, tally: Counter[str], case: Case
) -> None:
    tally["tried"] += 1
    pod_file = tmp_path / "hostile.yaml"
    pod_file.write_bytes(case.content)
    spec = resolve(pod_file)
    plan = plan_pod(spec, DeploySettings())
    hostile = spec.env["HOSTILE"]
    # The router holds only checked names: the same config as for a pod with harmless strings.
    harmless = spec.model_copy(update={"name": "harmless", "env": {"HOSTILE": "x"}})
    assert plan.router_config == plan_pod(harmless, DeploySettings()).router_config
    # Each program file is one section whose command is the user's, '%' doubled, on one line.
    (program,) = [p for p in plan.programs if p.name == "app"]
    config = configparser.RawConfigParser(interpolation=None)
    config.read_string(program.supervisor_conf())
    assert config.sections() == ["program:app"]
    assert config["program:app"]["command"] == spec.ports[0].command.replace("%", "%%")  # type: ignore[union-attr]
    # docker create gets every env variable and label as one argument each (no shell splits them).
    argv = create_argv(plan.container, None)
    assert f"--env=HOSTILE={hostile}" in argv
    assert f"--label={LABEL_NAME}={spec.name}" in argv
    tally["accepted-and-safe"] += 1


def test_no_hostile_pod_left_anything_on_this_host() -> None:
    for kind in ("ps -aq", "network ls -q", "volume ls -q"):
        for slug in {case.slug for case in ACCEPTED} | {"hostile-image", "hostile-cmd", "hostile-env"}:
            assert docker(*kind.split(), "--filter", f"label=pinacle.pod={slug}", check=False) == ""
    records = Path("/var/lib/pinacle/pods")
    assert not list(records.glob("hostile-*.json"))
