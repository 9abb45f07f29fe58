"""Snapshots: commit + workspace archive, restore as a new pod, failures leave nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import labelled, new_slug, pinacle_json, run

pytestmark = pytest.mark.integration


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

    restored_slug = new_slug("lc-r")
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
    slug = new_slug("missing")
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
    slug = new_slug("lc-c")
    slugs.append(slug)
    pod_yaml = tmp_path / "custom.yaml"
    pod_yaml.write_text(CUSTOM_POD_YAML.format(slug=slug))
    run("pinacle-deploy", str(pod_yaml))
    run("pinacle", "stop", slug)
    name = f"{slug}-stopped"
    snapshot_names.append(name)
    run("pinacle", "snapshot", slug, name)

    restored_slug = new_slug("lc-cr")
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
