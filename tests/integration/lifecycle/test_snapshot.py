"""Snapshots: commit + workspace archive + manifest, restore as a new pod, failures leave nothing.

Every pod here is ``snap-...`` and every snapshot ``snap-...`` (the machine is shared).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import labelled, new_slug, pinacle_json, run

pytestmark = pytest.mark.integration

RECORD_DIR = Path("/var/lib/pinacle/pods")
SNAPSHOT_DIR = Path("/var/lib/pinacle/snapshots")


@pytest.fixture
def pod(slugs: list[str], pod_file: Callable[[str], Path]) -> dict[str, Any]:
    """A running ``snap-`` pod (web terminal + a Python app on 3000); its deploy JSON plus ``slug``."""
    slug = new_slug("snap")
    slugs.append(slug)
    result = json.loads(run("pinacle-deploy", str(pod_file(slug)), "--json").stdout)
    return {"slug": slug, **result["pods"][0]}


def record_spec(slug: str) -> dict[str, Any]:
    """The resolved pod file in pod ``slug``'s host record, read as root from the host."""
    spec: dict[str, Any] = json.loads((RECORD_DIR / f"{slug}.json").read_text())["spec"]
    return spec


def snapshot_state(name: str) -> dict[str, Any] | None:
    listed = {s["name"]: s for s in pinacle_json("snapshot", "list")["snapshots"]}
    return listed.get(name)


def race(*argv: str, runs: int = 3) -> list[tuple[int, str]]:
    """``argv`` started ``runs`` times at once; (exit code, stderr) of each."""
    racers = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        for _ in range(runs)
    ]
    outcomes = []
    for racer in racers:
        _out, err = racer.communicate(timeout=300)
        outcomes.append((racer.returncode, err))
    return outcomes


def test_snapshot_restore_round_trip(pod: dict[str, Any], slugs: list[str], snapshot_names: list[str]) -> None:
    slug = pod["slug"]
    script = "echo kept > /workspace/data.txt && echo installed > /usr/local/share/marker.txt"
    run("pinacle", "exec", "--root", slug, "--", "sh", "-c", script)
    name = f"{slug}-snap"
    snapshot_names.append(name)
    created = pinacle_json("snapshot", slug, name)["snapshots"]
    assert created[0]["name"] == name
    assert created[0]["image"] == f"pinacle-snapshot/{slug}:{name}"
    listed = pinacle_json("snapshot", "list")["snapshots"]
    assert name in {s["name"] for s in listed}
    # No temporary image is left behind.
    assert not run("docker", "images", "-q", f"pinacle-snapshot-tmp/{slug}").stdout.strip()

    restored_slug = new_slug("snap-r")
    slugs.append(restored_slug)
    restored = pinacle_json("restore", name, "--as", restored_slug)["pods"][0]
    assert restored["healthy"] is True
    assert restored["host_port"] != pod["host_port"]
    assert {s["name"] for s in restored["services"]} == {"web-terminal", "app"}
    assert run("pinacle", "exec", restored_slug, "--", "cat", "/workspace/data.txt").stdout == "kept\n"
    marker = run("pinacle", "exec", restored_slug, "--", "cat", "/usr/local/share/marker.txt")
    assert marker.stdout == "installed\n"
    # The app (a supervised service serving /workspace) came back with its command.
    assert run(
        "curl", "-s", "-H", f"Host: localhost-3000.pod-{restored_slug}.localhost",
        f"http://127.0.0.1:{restored['host_port']}/data.txt",
    ).stdout == "kept\n"  # fmt: skip
    # Restoring onto an existing pod is refused.
    again = run("pinacle", "restore", name, "--as", restored_slug, check=False)
    assert again.returncode == 9  # a conflict, not bad input

    in_use = run("pinacle", "snapshot", "delete", name, check=False)
    assert in_use.returncode == 9
    assert restored_slug in in_use.stderr
    run("pinacle", "delete", restored_slug, "--purge")
    run("pinacle", "snapshot", "delete", name)
    assert name not in {s["name"] for s in pinacle_json("snapshot", "list")["snapshots"]}


def test_snapshot_of_a_missing_pod_fails_and_leaves_no_image() -> None:
    slug = new_slug("snap-missing")
    result = run("pinacle", "snapshot", slug, "nothing", check=False)
    assert result.returncode == 7
    assert "no pod" in result.stderr
    assert not run("docker", "images", "-q", f"pinacle-snapshot/{slug}").stdout.strip()
    assert not run("docker", "images", "-q", f"pinacle-snapshot-tmp/{slug}").stdout.strip()
    assert labelled(slug) == {"container": [], "network": [], "volume": []}


def test_snapshot_name_taken_is_refused(pod: dict[str, Any], snapshot_names: list[str]) -> None:
    name = f"{pod['slug']}-dup"
    snapshot_names.append(name)
    run("pinacle", "snapshot", pod["slug"], name)
    again = run("pinacle", "snapshot", pod["slug"], name, check=False)
    assert again.returncode == 9
    assert "already exists" in again.stderr


CUSTOM_POD_YAML = """\
name: custom {slug}
slug: {slug}
services: [web-terminal]
ports:
  - name: app
    port: 3000
    command: sh -c "echo ready > /workspace/ready.txt && exec python3 -m http.server 3000 --directory /workspace"
    health_path: /ready.txt
default_port: 3000
env:
  GREETING: hello from the pod file
resources:
  memory: 512m
"""


def test_snapshot_of_a_stopped_pod_restores_its_pod_file(
    tmp_path: Path, slugs: list[str], snapshot_names: list[str]
) -> None:
    slug = new_slug("snap-c")
    slugs.append(slug)
    pod_yaml = tmp_path / "custom.yaml"
    pod_yaml.write_text(CUSTOM_POD_YAML.format(slug=slug))
    run("pinacle-deploy", str(pod_yaml))
    run("pinacle", "stop", slug)
    name = f"{slug}-stopped"
    snapshot_names.append(name)
    run("pinacle", "snapshot", slug, name)

    restored_slug = new_slug("snap-cr")
    slugs.append(restored_slug)
    restored = pinacle_json("restore", name, "--as", restored_slug)["pods"][0]
    assert restored["healthy"] is True
    assert run("pinacle", "exec", restored_slug, "--", "printenv", "GREETING").stdout == "hello from the pod file\n"
    # default_port: the bare pod name (no port in it) reaches the app, not the web terminal.
    page = run(
        "curl",
        "-s",
        "-H",
        f"Host: pod-{restored_slug}.localhost",
        f"http://127.0.0.1:{restored['host_port']}/ready.txt",
    ).stdout
    assert page == "ready\n"
    # health_path: without /ready.txt the app is reported unhealthy (404), though / still answers.
    run("pinacle", "exec", restored_slug, "--", "rm", "/workspace/ready.txt")
    app = {s["name"]: s for s in pinacle_json("status", restored_slug)["pods"][0]["services"]}["app"]
    assert (app["http_status"], app["healthy"]) == (404, False)


def test_restore_replace_rolls_a_pod_back_on_its_own_port(pod: dict[str, Any], snapshot_names: list[str]) -> None:
    slug = pod["slug"]
    run("pinacle", "exec", slug, "--", "sh", "-c", "echo before > /workspace/state.txt")
    name = f"{slug}-rollback"
    snapshot_names.append(name)
    run("pinacle", "snapshot", slug, name)
    run("pinacle", "exec", slug, "--", "sh", "-c", "echo after > /workspace/state.txt; echo new > /workspace/extra.txt")

    refused = run("pinacle", "restore", name, check=False)
    assert refused.returncode == 9 and "--replace" in refused.stderr
    assert run("pinacle", "exec", slug, "--", "cat", "/workspace/state.txt").stdout == "after\n"

    restored = pinacle_json("restore", name, "--replace")["pods"][0]
    assert restored["healthy"] is True
    assert restored["host_port"] == pod["host_port"]
    assert run("pinacle", "exec", slug, "--", "cat", "/workspace/state.txt").stdout == "before\n"
    assert run("pinacle", "exec", slug, "--", "test", "-e", "/workspace/extra.txt", check=False).returncode == 1
    assert labelled(slug)["container"] == [f"pinacle-{slug}"]


# Everything a Dockerfile, a shell or a JSON label could change on the way: $VAR and ${VAR},
# quotes of both kinds, backslashes, newlines, tabs, unicode; and a supervisor's %.
AWKWARD_NAME = "rel data $HOME test \"q\" 's' \\n ${PATH} ünï ☃ 100%"
AWKWARD_ENV = {
    "DOLLAR": "$HOME and ${PATH} and $(id -u) and `id -u` and $$",
    "QUOTES": 'say "hi" and it\'s \\"escaped\\"',
    "BACKSLASH": "a\\b\\\\c\\n\\t\\",
    "NEWLINES": "line one\nline two\n\ttabbed\n",
    "UNICODE": "héllo wörld ☃ 日本語 🚀",
    "EMPTY": "",
    "PERCENT": "100% %(ENV_HOME)s",
}
AWKWARD_COMMAND = (
    'sh -c \'printf "%s|%s\\n" "$DOLLAR" "ü ☃ \\$HOME \\\\ " > /tmp/cmd.txt; '
    'exec python3 -m http.server 3000 --directory /workspace\' # "$HOME" 100%'
)


def test_a_snapshot_stores_its_pod_file_byte_for_byte(
    tmp_path: Path, slugs: list[str], snapshot_names: list[str]
) -> None:
    slug = new_slug("snap-aw")
    slugs.append(slug)
    data = {
        "name": AWKWARD_NAME,
        "slug": slug,
        "services": ["web-terminal"],
        "ports": [{"name": "app", "port": 3000, "command": AWKWARD_COMMAND, "health_path": "/"}],
        "env": AWKWARD_ENV,
        "resources": {"cpus": 0.5, "memory": "384m"},
        "default_port": 3000,
    }
    pod_yaml = tmp_path / "awkward.yaml"
    pod_yaml.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    run("pinacle-deploy", str(pod_yaml))
    original = record_spec(slug)
    assert original["name"] == AWKWARD_NAME and original["env"] == AWKWARD_ENV

    name = f"{slug}-s"
    snapshot_names.append(name)
    run("pinacle", "snapshot", slug, name)
    restored_slug = new_slug("snap-awr")
    slugs.append(restored_slug)
    restored = pinacle_json("restore", name, "--as", restored_slug)["pods"][0]
    assert restored["healthy"] is True
    assert restored["name"] == AWKWARD_NAME

    # The restored pod's resolved pod file is the original's, field for field, but for what a
    # restore changes on purpose: its slug, its image (the snapshot's) and its host port.
    copy = record_spec(restored_slug)
    assert copy["slug"] == restored_slug and copy["image"] == f"pinacle-snapshot/{slug}:{name}"
    moved = {"slug", "image", "host_port", "template"}
    assert {k: v for k, v in copy.items() if k not in moved} == {k: v for k, v in original.items() if k not in moved}
    for key, value in AWKWARD_ENV.items():
        shown = run("pinacle", "exec", restored_slug, "--", "printenv", key).stdout
        assert shown == value + "\n", key
    # The app ran the very command: what it printed, with its own quoting, is the original's.
    printed = run("pinacle", "exec", restored_slug, "--", "cat", "/tmp/cmd.txt").stdout
    assert printed == run("pinacle", "exec", slug, "--", "cat", "/tmp/cmd.txt").stdout
    assert printed == AWKWARD_ENV["DOLLAR"] + "|ü ☃ $HOME \\ \n"


def test_concurrent_snapshots_of_one_name_one_wins_the_other_is_a_conflict(
    pod: dict[str, Any], snapshot_names: list[str]
) -> None:
    slug = pod["slug"]
    name = f"{slug}-race"
    snapshot_names.append(name)
    outcomes = race("pinacle", "snapshot", slug, name)
    codes = sorted(code for code, _err in outcomes)
    assert codes == [0, 9, 9], outcomes
    assert all("already exists" in err for code, err in outcomes if code == 9), outcomes
    state = snapshot_state(name)
    assert state is not None and state["state"] == "complete" and state["leftovers"] == []
    assert not run("docker", "images", "-q", f"pinacle-snapshot-tmp/{slug}").stdout.strip()
    assert not (SNAPSHOT_DIR / f"{name}.tar.part").exists()


def test_concurrent_restores_of_one_slug_build_it_once_the_others_are_conflicts(
    pod: dict[str, Any], slugs: list[str], snapshot_names: list[str]
) -> None:
    name = f"{pod['slug']}-twice"
    snapshot_names.append(name)
    pinacle_json("snapshot", pod["slug"], name)
    restored_slug = new_slug("snap-c")
    slugs.append(restored_slug)
    outcomes = race("pinacle", "restore", name, "--as", restored_slug)
    assert sorted(code for code, _err in outcomes) == [0, 9, 9], outcomes
    assert all(f"pod {restored_slug}" in err and "exists" in err for code, err in outcomes if code == 9), outcomes
    objects = labelled(restored_slug)
    assert len(objects["container"]) == 1 and len(objects["network"]) == 1, objects
    assert pinacle_json("status", restored_slug)["pods"][0]["healthy"] is True
