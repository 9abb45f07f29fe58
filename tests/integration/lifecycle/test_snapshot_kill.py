"""``pinacle snapshot`` and ``pinacle restore`` killed (SIGKILL) partway, then run again: they converge.

Each run is started in a session of its own and killed once a marker shows it reached a given
point (a ``docker commit`` runs, a temporary image exists, a partial archive exists, the restore's
marker, workspace volume or container exists): either its process alone (``pid``: the command it was running on the host
goes on as an orphan, in the same process group) or its whole process group (``group``: that
command dies too; what the Docker daemon was doing for it goes on, but for a commit, which the
daemon drops with its client). The test waits until nothing
of the killed process group is left, counts what it left, runs the same command again and counts
once more. Pods are ``snap-...`` and removed whatever happens.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import POD_YAML, labelled, new_slug, pinacle_json, run

pytestmark = pytest.mark.integration

SNAPSHOT_DIR = Path("/var/lib/pinacle/snapshots")
RESTORE_DIR = Path("/var/lib/pinacle/restores")
RECORD_DIR = Path("/var/lib/pinacle/pods")
MARKER_TIMEOUT = 120.0
ORPHAN_TIMEOUT = 180.0
# Enough workspace that archiving and extracting it take a while (the partial archive and the
# workspace volume stay visible for longer than the markers are polled).
FILL = "head -c 64000000 /dev/urandom > /workspace/blob.bin && echo kept > /workspace/data.txt"


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        args, start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def kill_when(process: subprocess.Popen[bytes], reached: Callable[[], bool], how: str) -> None:
    """SIGKILL ``process`` (``pid``) or its process group (``group``) once ``reached()``; then wait
    until no process of its group is left (orphans of a ``pid`` kill finish what they were doing)."""
    deadline = time.monotonic() + MARKER_TIMEOUT
    while not reached():
        if process.poll() is not None:
            pytest.fail(f"{process.args} ended (exit {process.returncode}) before the kill point")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"{process.args} did not reach the kill point in {MARKER_TIMEOUT}s")
        time.sleep(0.05)
    if how == "group":
        os.killpg(process.pid, signal.SIGKILL)
    else:
        process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + ORPHAN_TIMEOUT
    while True:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"orphans of {process.args} still ran after {ORPHAN_TIMEOUT}s")
        time.sleep(0.1)


def committing(reference: str) -> bool:
    """Is a ``docker commit`` to image ``reference`` running (the snapshot script's)?"""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) > 2 and argv[0].endswith(b"docker") and argv[1] == b"commit" and reference.encode() in argv:
            return True
    return False


def images(reference: str) -> list[str]:
    return run("docker", "images", "-q", reference).stdout.split()


def helpers(label: str) -> list[str]:
    return run("docker", "ps", "-aq", "--filter", f"label={label}").stdout.split()


def doctor_checks() -> dict[str, dict[str, str]]:
    result = run("pinacle", "doctor", "--json", check=False)  # other pods of the shared host may fail
    return {c["name"]: c for host in json.loads(result.stdout)["hosts"] for c in host["checks"]}


def snapshot_leftovers(slug: str, name: str) -> dict[str, int]:
    """Every trace of snapshot ``name`` of pod ``slug`` on this host besides a complete snapshot."""
    return {
        "temporary images": len(images(f"pinacle-snapshot-tmp/{slug}:{name}")),
        "partial files": sum((SNAPSHOT_DIR / f"{name}{s}").exists() for s in (".tar.part", ".json.part")),
        "helper containers": len(helpers(f"pinacle.snapshot.helper={name}")),
    }


def listed(name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = {s["name"]: s for s in pinacle_json("snapshot", "list")["snapshots"]}.get(name)
    return found


@pytest.fixture
def filled_pod(slugs: list[str], snapshot_names: list[str], tmp_path: Path) -> dict[str, Any]:
    """A running ``snap-`` pod with 64 MB in its workspace."""
    slug = new_slug("snap-k")
    slugs.append(slug)
    path = tmp_path / f"{slug}.yaml"
    path.write_text(POD_YAML.format(slug=slug))
    result = json.loads(run("pinacle-deploy", str(path), "--json").stdout)
    run("pinacle", "exec", slug, "--", "sh", "-c", FILL)
    return {"slug": slug, **result["pods"][0]}


@pytest.mark.parametrize(
    ("point", "how"),
    [
        ("commit", "group"),
        ("temporary-image", "group"),
        ("partial-archive", "group"),
        ("commit", "pid"),
        ("temporary-image", "pid"),
        ("partial-archive", "pid"),
    ],
)
def test_killed_snapshot_is_visible_and_a_rerun_converges(
    point: str, how: str, filled_pod: dict[str, Any], snapshot_names: list[str]
) -> None:
    slug = filled_pod["slug"]
    name = f"{slug}-{point[:4]}-{how}"
    snapshot_names.append(name)
    tmp = f"pinacle-snapshot-tmp/{slug}:{name}"
    markers = {
        "commit": lambda: committing(tmp),
        "temporary-image": lambda: bool(images(tmp)),
        "partial-archive": lambda: (SNAPSHOT_DIR / f"{name}.tar.part").exists(),
    }
    if point == "commit":  # 100 MB in the pod's root filesystem: a commit that lasts long enough to see
        run("pinacle", "exec", slug, "--", "sh", "-c", "head -c 100000000 /dev/urandom > /var/tmp/blob")
    kill_when(start("pinacle", "snapshot", slug, name), markers[point], how)
    left = snapshot_leftovers(slug, name)
    state = listed(name)
    assert state is not None, "a killed snapshot must show in `snapshot list`"

    if how == "group":
        # The script died with pinacle: what it had made is left, and shown as such.
        assert state["state"] == "incomplete", state
        assert state["leftovers"], state
        # Killed during the commit, the image is there or not: Docker drops a commit whose client
        # died, unless it had finished it.
        assert left["temporary images"] == 1 or point == "commit", left
        check = doctor_checks()[f"snapshot {name}"]
        assert check["status"] == "warn" and f"pinacle snapshot delete {name}" in check["fix"], check
        rerun = run("pinacle", "snapshot", slug, name, check=False)
        assert rerun.returncode == 0, rerun.stderr
    else:
        # The host script outlived pinacle and finished the snapshot: nothing is left over, and
        # a re-run is told the name is taken.
        assert state["state"] == "complete", state
        rerun = run("pinacle", "snapshot", slug, name, check=False)
        assert rerun.returncode == 9 and "already exists" in rerun.stderr, rerun.stderr
    after = listed(name)
    assert after is not None and after["state"] == "complete" and after["leftovers"] == [], after
    assert snapshot_leftovers(slug, name) == {"temporary images": 0, "partial files": 0, "helper containers": 0}
    assert f"snapshot {name}" not in doctor_checks()
    print(f"{point}/{how}: left after the kill: {left}; listed as {state['state']}: {state['leftovers']}")


def test_an_incomplete_snapshot_is_deleted_by_name_and_pruned(
    filled_pod: dict[str, Any], snapshot_names: list[str]
) -> None:
    slug = filled_pod["slug"]
    name = f"{slug}-del"
    snapshot_names.append(name)
    kill_when(start("pinacle", "snapshot", slug, name), lambda: (SNAPSHOT_DIR / f"{name}.tar.part").exists(), "group")
    assert snapshot_leftovers(slug, name)["temporary images"] == 1
    dry = pinacle_json("snapshot", "prune", "--dry-run")
    assert dry["dry_run"] is True and name in {s["name"] for s in dry["snapshots"]}
    assert listed(name) is not None  # a dry run removes nothing
    refused = run("pinacle", "restore", name, "--as", new_slug("snap-never"), check=False)
    assert refused.returncode == 7 and "incomplete" in refused.stderr, refused.stderr
    deleted = run("pinacle", "snapshot", "delete", name)
    assert deleted.stdout.strip() == f"snapshot {name} deleted"
    assert listed(name) is None
    assert snapshot_leftovers(slug, name) == {"temporary images": 0, "partial files": 0, "helper containers": 0}
    assert not (SNAPSHOT_DIR / f"{name}.tar").exists() and not (SNAPSHOT_DIR / f"{name}.json").exists()


@pytest.fixture(scope="module")
def source_snapshot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One ``snap-`` pod with 64 MB in its workspace, and a snapshot of it, for the restore tests."""
    slug = new_slug("snap-src")
    name = f"{slug}-s"
    path = tmp_path_factory.mktemp("pods") / f"{slug}.yaml"
    path.write_text(POD_YAML.format(slug=slug))
    try:
        run("pinacle-deploy", str(path))
        run("pinacle", "exec", slug, "--", "sh", "-c", FILL)
        run("pinacle", "snapshot", slug, name)
        yield {"slug": slug, "name": name}
    finally:
        run("pinacle", "delete", slug, "--purge", check=False)
        run("pinacle", "snapshot", "delete", name, check=False)


def half_built(slug: str) -> dict[str, Any]:
    """What a restore of pod ``slug`` left: its resources, record, marker and workspace helper."""
    return {
        **{kind: len(names) for kind, names in labelled(slug).items()},
        "record": (RECORD_DIR / f"{slug}.json").exists(),
        "marker": (RESTORE_DIR / f"{slug}.json").exists(),
        "helpers": len(helpers(f"pinacle.restore.helper={slug}")),
    }


RESTORE_POINTS: dict[str, Callable[[str], bool]] = {
    "marker": lambda slug: (RESTORE_DIR / f"{slug}.json").exists(),
    "volume": lambda slug: bool(labelled(slug)["volume"]),
    "container": lambda slug: bool(labelled(slug)["container"]),
}


@pytest.mark.parametrize(
    ("point", "how"),
    [("marker", "group"), ("volume", "group"), ("container", "group"), ("volume", "pid"), ("container", "pid")],
)
def test_killed_restore_is_finished_by_a_plain_retry(
    point: str, how: str, source_snapshot: dict[str, Any], slugs: list[str], request: pytest.FixtureRequest
) -> None:
    name = source_snapshot["name"]
    slug = new_slug("snap-rk")
    slugs.append(slug)
    request.addfinalizer(lambda: (RESTORE_DIR / f"{slug}.json").unlink(missing_ok=True))
    kill_when(start("pinacle", "restore", name, "--as", slug), lambda: RESTORE_POINTS[point](slug), how)
    left = half_built(slug)
    assert left["marker"] and not left["record"], left  # killed before the restore finished
    checks = doctor_checks()
    if left["container"] or left["network"] or left["volume"]:
        check = checks[f"restore {slug}"]
        assert check["status"] == "warn" and f"pinacle restore {name} --as {slug}" in check["fix"], check
    else:
        assert f"restore {slug}" not in checks  # nothing built yet: nothing to warn about

    retry = run("pinacle", "restore", name, "--as", slug, "--json", check=False)
    assert retry.returncode == 0, retry.stderr
    assert json.loads(retry.stdout)["pods"][0]["healthy"] is True
    assert half_built(slug) == {
        "container": 1, "network": 1, "volume": 1, "record": True, "marker": False, "helpers": 0,
    }  # fmt: skip
    assert run("pinacle", "exec", slug, "--", "cat", "/workspace/data.txt").stdout == "kept\n"
    size = run("pinacle", "exec", slug, "--", "stat", "-c", "%s", "/workspace/blob.bin").stdout
    assert size.strip() == "64000000"
    again = run("pinacle", "restore", name, "--as", slug, check=False)
    assert again.returncode == 9  # a finished restore is a pod like any other
    print(f"{point}/{how}: left after the kill: {left}")


def test_a_killed_restore_deleted_instead_of_finished_leaves_nothing(
    source_snapshot: dict[str, Any], slugs: list[str], request: pytest.FixtureRequest
) -> None:
    # Killed once its workspace exists; its helper as a kill between `docker run`'s create and start
    # leaves it (created, never started, so --rm never removes it), holding the volume. That moment
    # is too short to hit by polling: the helper is made here as that kill leaves it.
    name, slug = source_snapshot["name"], new_slug("snap-rd")
    slugs.append(slug)
    request.addfinalizer(lambda: (RESTORE_DIR / f"{slug}.json").unlink(missing_ok=True))
    kill_when(start("pinacle", "restore", name, "--as", slug), lambda: RESTORE_POINTS["volume"](slug), "group")
    label = f"label=pinacle.restore.helper={slug}"
    deadline = time.monotonic() + 60  # a helper the kill left running ends with its input (--rm)
    while run("docker", "ps", "-q", "--filter", label).stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.2)
    if not helpers(f"pinacle.restore.helper={slug}"):  # the kill left none: make the one it can leave
        volume = f"pinacle-{slug}-workspace"
        run("docker", "create", "--name", f"pinacle-restore.{slug}", "--label", f"pinacle.restore.helper={slug}",
            "--label", "pinacle.pod=", "--mount", f"type=volume,source={volume},target=/workspace",
            "pinacle/base:latest", "true")  # fmt: skip
    assert half_built(slug)["helpers"] == 1 and half_built(slug)["marker"]
    run("pinacle", "delete", slug, "--purge")
    assert half_built(slug) == {
        "container": 0, "network": 0, "volume": 0, "record": False, "marker": False, "helpers": 0,
    }  # fmt: skip


def test_killed_replace_keeps_its_port_and_a_plain_retry_finishes_it(
    filled_pod: dict[str, Any],
    slugs: list[str],
    snapshot_names: list[str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    slug, port = filled_pod["slug"], filled_pod["host_port"]
    request.addfinalizer(lambda: (RESTORE_DIR / f"{slug}.json").unlink(missing_ok=True))
    name = f"{slug}-rb"
    snapshot_names.append(name)
    run("pinacle", "snapshot", slug, name)
    label = f"label=pinacle.pod={slug}"
    (old,) = run("docker", "ps", "-aq", "--filter", label).stdout.split()
    (old_network,) = run("docker", "network", "ls", "-q", "--filter", label).stdout.split()

    def old_pod_gone_new_network_made() -> bool:  # past the whole removal of the old pod
        containers = run("docker", "ps", "-aq", "--filter", label).stdout.split()
        networks = run("docker", "network", "ls", "-q", "--filter", label).stdout.split()
        return old not in containers and any(n != old_network for n in networks)

    kill_when(start("pinacle", "restore", name, "--replace"), old_pod_gone_new_network_made, "group")
    left = half_built(slug)
    assert left["marker"], left  # killed between removing the old pod and recording the new one
    # Until the retry the marker keeps the port: a new pod whose only choice it is gets a full range
    # (before it makes anything), and a concurrent deploy never takes it.
    other = new_slug("snap-o")
    slugs.append(other)
    (tmp_path / "other.yaml").write_text(POD_YAML.format(slug=other))
    env = {**os.environ, "PINACLE_PORT_RANGE": f"{port}-{port}"}
    refused = run("pinacle-deploy", str(tmp_path / "other.yaml"), check=False, env=env)
    assert refused.returncode == 4, refused.stderr
    assert f"no free host port in {port}-{port}" in refused.stderr
    assert labelled(other) == {"container": [], "network": [], "volume": []}
    retry = pinacle_json("restore", name)["pods"][0]  # no --replace: it is this restore's own pod now
    assert retry["healthy"] is True and retry["host_port"] == port
    assert half_built(slug) == {
        "container": 1, "network": 1, "volume": 1, "record": True, "marker": False, "helpers": 0,
    }  # fmt: skip
    print(f"replace/group: left after the kill: {left}")
