"""Pods placed across the fleet by ``pinacle-deploy -i inventory/fleet-test.py``: each on one host,
the one with the most room among those its ``placement:`` allows; kept there on every later apply;
found by slug alone by the day-2 commands.

The three hosts have the same size (they share this machine), so the first pod goes on the first
host by name and the next ones where less is reserved. At most three pods of this module run at once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.conftest import REPO
from tests.integration.fleet.conftest import INVENTORY, Fleet, FleetHost, fleet_sh, pinacle
from tests.integration.fleet.test_fleet_pods import remove_by_label

pytestmark = pytest.mark.integration

PREFIX = f"fleet-p{uuid.uuid4().hex[:4]}"


def pod_file(directory: Path, slug: str, memory: str = "2g", **fields: Any) -> Path:
    path = directory / f"{slug}.yaml"
    data = {"name": f"placed {slug}", "slug": slug, "services": ["web-terminal"], "resources": {"memory": memory}}
    path.write_text(yaml.safe_dump({**data, **fields}))
    return path


def holders(fleet: Fleet, slug: str) -> list[str]:
    """The hosts whose engine has a container of pod ``slug``, asked of each engine directly (through
    the host's namespaces, so a host whose sshd is stopped answers too)."""
    query = f"docker ps -aq --filter label=pinacle.pod={slug}"
    return [host.name for host in fleet.hosts if fleet_sh("exec", str(host.number), "sh", "-c", query).split()]


@pytest.fixture(scope="module")
def placed(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three pods rolled out one after another over the whole fleet: a, b (2 GiB each), then c,
    which only a host of zone b without a GPU may hold."""
    directory = tmp_path_factory.mktemp("placed")
    slugs = {name: f"{PREFIX}-{name}" for name in ("a", "b", "c")}
    files = {
        "a": pod_file(directory, slugs["a"]),
        "b": pod_file(directory, slugs["b"]),
        "c": pod_file(directory, slugs["c"], memory="256m", placement={"labels": {"zone": "b", "gpu": "no"}}),
    }
    try:
        rollouts = {
            name: json.loads(pinacle("deploy", str(files[name]), "--json").stdout)["pods"][0]
            for name in ("a", "b", "c")
        }
        yield {"slugs": slugs, "files": files, "rollouts": rollouts, "directory": directory}
    finally:
        for slug in slugs.values():
            pinacle("delete", slug, "--purge", check=False)
            for host in fleet.hosts:
                remove_by_label(host, slug)


def test_a_new_pod_goes_on_one_host_only(fleet: Fleet, placed: dict[str, Any]) -> None:
    assert holders(fleet, placed["slugs"]["a"]) == ["fleet-host1"]  # a tie of equal hosts: the first name


def test_the_next_pod_goes_where_less_is_reserved(fleet: Fleet, placed: dict[str, Any]) -> None:
    assert placed["rollouts"]["b"]["host"] == "fleet-host2"
    assert holders(fleet, placed["slugs"]["b"]) == ["fleet-host2"]


def test_placement_labels_choose_among_the_hosts(fleet: Fleet, placed: dict[str, Any]) -> None:
    assert holders(fleet, placed["slugs"]["c"]) == ["fleet-host3"]


def test_a_placed_pod_stays_on_its_host_on_every_apply(fleet: Fleet, placed: dict[str, Any]) -> None:
    again = json.loads(pinacle("deploy", str(placed["files"]["a"]), "--json").stdout)
    assert (again["changes"], again["pods"][0]["host"]) == (0, "fleet-host1")
    assert holders(fleet, placed["slugs"]["a"]) == ["fleet-host1"]


def test_dry_run_says_where_a_new_pod_would_go_and_why(placed: dict[str, Any], tmp_path: Path) -> None:
    result = pinacle("deploy", str(pod_file(tmp_path, f"{PREFIX}-dry")), "--dry-run", check=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"pod {PREFIX}-dry: placed on fleet-host3: the most room" in result.stdout
    assert "fleet-host1: eligible" in result.stdout and "fleet-host2: eligible" in result.stdout


def test_a_pod_no_host_may_hold_is_refused_and_nothing_is_made(
    fleet: Fleet, placed: dict[str, Any], tmp_path: Path
) -> None:
    slug = f"{PREFIX}-nowhere"
    result = pinacle("deploy", str(pod_file(tmp_path, slug, placement={"labels": {"zone": "c"}})), check=False)
    assert result.returncode != 0 and "no host can take the pod" in result.stderr, result.stderr
    assert "fleet-host1: lacks labels" in result.stderr
    assert holders(fleet, slug) == []


def test_host_forces_the_host_of_a_new_pod(fleet: Fleet, placed: dict[str, Any], tmp_path: Path) -> None:
    slug = f"{PREFIX}-forced"
    try:
        rollout = json.loads(pinacle("deploy", str(pod_file(tmp_path, slug)), "--host", "fleet-host1", "--json").stdout)
        assert rollout["pods"][0]["host"] == "fleet-host1"
        assert holders(fleet, slug) == ["fleet-host1"]
    finally:
        pinacle("delete", slug, "--purge", check=False)


def test_list_shows_every_pod_on_its_host(placed: dict[str, Any]) -> None:
    listing = pinacle("list").stdout
    lines = {line.split()[1]: line.split()[0] for line in listing.splitlines()[1:] if line.strip()}
    assert listing.splitlines()[0].startswith("HOST")
    assert {lines[slug] for slug in placed["slugs"].values()} == {"fleet-host1", "fleet-host2", "fleet-host3"}


def test_day_two_commands_find_the_pod_by_slug(fleet: Fleet, placed: dict[str, Any]) -> None:
    slug = placed["slugs"]["b"]
    pinacle("stop", slug)
    assert fleet.hosts[1].ssh(f"docker inspect -f '{{{{.State.Running}}}}' pinacle-{slug}").stdout.strip() == "false"
    started = json.loads(pinacle("start", slug, "--json").stdout)
    assert [p["host"] for p in started["pods"]] == ["fleet-host2"]
    status = json.loads(pinacle("status", slug, "--json").stdout)["pods"]
    assert [(p["host"], p["healthy"]) for p in status] == [("fleet-host2", True)]


def test_concurrent_deploys_of_one_new_slug_end_with_the_pod_on_one_host(
    fleet: Fleet, placed: dict[str, Any], tmp_path: Path
) -> None:
    slug = f"{PREFIX}-race"
    path = pod_file(tmp_path, slug, memory="256m")
    argv = [sys.executable, "-m", "pinacle.cli.deploy", "-i", str(INVENTORY), str(path)]
    env = {k: v for k, v in os.environ.items() if k not in ("PINACLE_INVENTORY", "PINACLE_FLEET_HOSTS")}
    env["PINACLE_PUBLISH_ADDRESS"] = "0.0.0.0"
    try:
        runs = [
            subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in (1, 2)
        ]
        codes = [run.wait(timeout=600) for run in runs]
        assert 0 in codes, [run.stderr.read() if run.stderr else b"" for run in runs]
        assert len(holders(fleet, slug)) == 1
    finally:
        pinacle("delete", slug, "--purge", check=False)
        for host in fleet.hosts:
            remove_by_label(host, slug)


def test_deploys_of_one_new_slug_forced_to_two_hosts_at_once_end_with_it_on_one(
    fleet: Fleet, placed: dict[str, Any], tmp_path: Path
) -> None:
    # Two runs that would each put the pod on another host (here: --host; in life, two views of the
    # fleet): without the fleet-wide placement lock both find it nowhere and both create it.
    slug = f"{PREFIX}-forced"
    path = pod_file(tmp_path, slug, memory="256m")
    env = {k: v for k, v in os.environ.items() if k not in ("PINACLE_INVENTORY", "PINACLE_FLEET_HOSTS")}
    env["PINACLE_PUBLISH_ADDRESS"] = "0.0.0.0"
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "pinacle.cli.deploy", "-i", str(INVENTORY), "--host", host.name, str(path)],
                cwd=REPO,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for host in fleet.hosts[:2]
        ]
        outcomes = []
        for run in runs:
            _out, err = run.communicate(timeout=600)
            outcomes.append((run.returncode, err))
        assert sorted(code for code, _err in outcomes) == [0, 4], outcomes
        (refused,) = [err for code, err in outcomes if code != 0]
        assert "move it with pinacle move" in refused, refused
        assert len(holders(fleet, slug)) == 1
    finally:
        pinacle("delete", slug, "--purge", check=False)
        for host in fleet.hosts:
            remove_by_label(host, slug)


@pytest.fixture
def third_host_down(fleet: Fleet) -> Iterator[FleetHost]:
    host = fleet.hosts[2]
    fleet_sh("stop-sshd", str(host.number))
    try:
        yield host
    finally:
        fleet_sh("up", str(len(fleet.hosts)))


def test_with_a_host_down_a_new_pod_is_placed_only_with_force(
    fleet: Fleet, placed: dict[str, Any], third_host_down: FleetHost, tmp_path: Path
) -> None:
    slug = f"{PREFIX}-down"
    path = pod_file(tmp_path, slug, memory="256m")
    try:
        refused = pinacle("deploy", str(path), check=False)
        assert refused.returncode != 0 and "fleet-host3 did not answer: it may hold the pod" in refused.stderr
        assert holders(fleet, slug) == []
        forced = json.loads(pinacle("deploy", str(path), "--force", "--json").stdout)
        assert forced["pods"][0]["host"] in ("fleet-host1", "fleet-host2")
        again = json.loads(pinacle("deploy", str(placed["files"]["a"]), "--json").stdout)  # a held pod just stays
        assert (again["changes"], again["pods"][0]["host"]) == (0, "fleet-host1")
    finally:
        pinacle("delete", slug, "--purge", check=False)
