"""``pinacle move``: a pod carried between two engines of the fleet, its workspace byte for byte, and a
move killed halfway finished by the next one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.integration.conftest import REPO
from tests.integration.fleet.conftest import INVENTORY, Fleet, fleet_sh, pinacle
from tests.integration.fleet.test_fleet_pods import remove_by_label, remove_move_snapshots

pytestmark = pytest.mark.integration

SLUG = f"fleet-m{uuid.uuid4().hex[:4]}"
# 2 MiB of random bytes in the workspace, and its checksum, computed inside the pod.
WRITE = "head -c 2097152 /dev/urandom > /workspace/data.bin && sha256sum /workspace/data.bin"
CHECK = "sha256sum /workspace/data.bin"


def engine_holders(fleet: Fleet, what: str) -> list[str]:
    """The hosts whose engine lists a ``what`` (ps -a, volume ls) labelled with the pod."""
    query = f"docker {what} -q --filter label=pinacle.pod={SLUG}"
    return [h.name for h in fleet.hosts if fleet_sh("exec", str(h.number), "sh", "-c", query).split()]


def checksum() -> str:
    return pinacle("exec", SLUG, "--", "sh", "-c", CHECK).stdout.split()[0]


@pytest.fixture(scope="module")
def moved_pod(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    path = tmp_path_factory.mktemp("move") / "pod.yaml"
    path.write_text(
        yaml.safe_dump({"name": "moved", "slug": SLUG, "services": ["web-terminal"], "resources": {"memory": "256m"}})
    )
    try:
        pinacle("deploy", str(path), "--host", "fleet-host1")
        written = pinacle("exec", SLUG, "--", "sh", "-c", WRITE).stdout.split()[0]
        yield {"checksum": written}
    finally:
        pinacle("delete", SLUG, "--purge", check=False)
        for host in fleet.hosts:
            remove_by_label(host, SLUG)
            remove_move_snapshots(host, SLUG)


def test_a_moved_pod_runs_on_its_new_host_only_with_its_workspace(fleet: Fleet, moved_pod: dict[str, str]) -> None:
    moved = json.loads(pinacle("move", SLUG, "--to", "fleet-host2", "--json").stdout)["pods"]
    assert [(p["host"], p["state"], p["healthy"]) for p in moved] == [("fleet-host2", "running", True)]
    assert engine_holders(fleet, "ps -a") == ["fleet-host2"]
    assert engine_holders(fleet, "volume ls") == ["fleet-host2"]  # the source's workspace went last
    assert checksum() == moved_pod["checksum"]
    (terminal,) = [s for s in moved[0]["services"] if s["name"] == "web-terminal"]
    assert terminal["url"].startswith(f"http://localhost-7681.pod-{SLUG}.localhost:")  # only the port may change


# Where a move is killed (the progress line it is killed at) and where it was going. In this order the
# pod goes on from host 2 (where the first test left it) and ends on host 3, where the drain test wants it.
KILLS = [
    pytest.param("snapshotting pod", "fleet-host1", id="snapshotting"),
    pytest.param("restoring move-", "fleet-host2", id="restoring"),
    pytest.param("carrying snapshot", "fleet-host3", id="carrying"),
]


@pytest.mark.parametrize(("at", "to"), KILLS)
def test_a_move_killed_midway_is_finished_by_the_next(
    fleet: Fleet, moved_pod: dict[str, str], at: str, to: str
) -> None:
    (source,) = engine_holders(fleet, "ps -a")
    env = {k: v for k, v in os.environ.items() if k not in ("PINACLE_INVENTORY", "PINACLE_FLEET_HOSTS")}
    env["PINACLE_PUBLISH_ADDRESS"] = "0.0.0.0"
    argv = [sys.executable, "-m", "pinacle.cli.main", "move", "-i", str(INVENTORY), SLUG, "--to", to]
    run = subprocess.Popen(argv, cwd=REPO, env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert run.stderr is not None
    deadline = time.monotonic() + 300
    seen = ""
    while at not in seen and time.monotonic() < deadline and run.poll() is None:
        seen += run.stderr.readline()
    assert at in seen, seen
    os.killpg(run.pid, signal.SIGKILL)  # the whole group: pinacle and its ssh pipes
    run.wait()
    holders = engine_holders(fleet, "ps -a")
    if at == "restoring move-":  # the copy may be half built beside the stopped source
        assert source in holders and set(holders) <= {source, to}, holders
    else:
        assert holders == [source]  # stopped there, not yet anywhere else
    assert engine_holders(fleet, "volume ls") in ([source], sorted({source, to}))  # a copy on disk throughout
    assert [p["host"] for p in json.loads(pinacle("move", SLUG, "--to", to, "--json").stdout)["pods"]] == [to]
    assert engine_holders(fleet, "ps -a") == [to]
    assert engine_holders(fleet, "volume ls") == [to]
    assert checksum() == moved_pod["checksum"]


def test_a_move_to_an_unknown_host_is_refused(moved_pod: dict[str, str]) -> None:
    result = pinacle("move", SLUG, "--to", "nowhere", check=False)
    assert result.returncode == 3 and "no host nowhere" in result.stderr


def test_no_move_snapshot_is_left_behind(fleet: Fleet, moved_pod: dict[str, str], tmp_path: Path) -> None:
    # The pod's current host keeps the one its image comes from; the hosts it left keep none.
    listing = {h.name: h.ssh(f"ls /var/lib/pinacle/snapshots/ | grep '^move-{SLUG}-' || true").stdout.split()
               for h in fleet.hosts}  # fmt: skip
    assert listing["fleet-host1"] == listing["fleet-host2"] == []
    assert len(listing["fleet-host3"]) == 2  # archive and manifest of the snapshot the pod runs from


def test_drain_moves_the_pods_off_and_keeps_new_ones_away(
    fleet: Fleet, moved_pod: dict[str, str], tmp_path: Path
) -> None:
    # The pod came to host 3 by a move: its way off takes a fresh snapshot, not the one it came with.
    pinacle("exec", SLUG, "--", "sh", "-c", "echo changed on host3 > /workspace/note.txt")
    drained = json.loads(pinacle("drain", "fleet-host3", "--json").stdout)
    assert [p["host"] for p in drained["pods"]] in (["fleet-host1"], ["fleet-host2"])
    assert engine_holders(fleet, "ps -a") == [drained["pods"][0]["host"]]
    assert pinacle("exec", SLUG, "--", "cat", "/workspace/note.txt").stdout == "changed on host3\n"
    assert checksum() == moved_pod["checksum"]
    path = tmp_path / "pinned.yaml"
    path.write_text(
        yaml.safe_dump({"name": "pinned", "slug": f"{SLUG}-pin", "services": ["web-terminal"],
                        "placement": {"hosts": ["fleet-host3"]}})
    )  # fmt: skip
    refused = pinacle("deploy", str(path), "--dry-run", check=False)
    assert refused.returncode != 0 and "fleet-host3: unschedulable" in refused.stderr, refused.stderr
    pinacle("undrain", "fleet-host3")
    placed = pinacle("deploy", str(path), "--dry-run", check=False)
    assert placed.returncode == 2 and f"pod {SLUG}-pin: placed on fleet-host3" in placed.stdout
