"""``pinacle list/status/stop/start/delete/logs/exec`` against real pods under gVisor."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import labelled, new_slug, pinacle_json, run

pytestmark = pytest.mark.integration

POD_KEYS = {
    "host", "slug", "name", "state", "status", "exit_code", "restart_count", "host_port",
    "image", "runtime", "created", "age_seconds", "healthy", "services", "problem",
}  # fmt: skip
SERVICE_KEYS = {"name", "port", "http_status", "healthy", "url"}


def test_list_and_status_json_shapes(pod: dict[str, Any]) -> None:
    listed = pinacle_json("list")["pods"]
    mine = [p for p in listed if p["slug"] == pod["slug"]]
    assert len(mine) == 1
    assert set(mine[0]) == POD_KEYS
    status = pinacle_json("status", pod["slug"])["pods"]
    assert len(status) == 1
    record = status[0]
    assert set(record) == POD_KEYS
    assert record["state"] == "running"
    assert record["runtime"] == "runsc"
    assert record["host_port"] == pod["host_port"]
    assert record["healthy"] is True
    assert {s["name"] for s in record["services"]} == {"web-terminal", "app"}
    for service in record["services"]:
        assert set(service) == SERVICE_KEYS
        assert service["healthy"] is True
        assert service["url"] == pod["urls"][service["name"]]


def test_stop_then_start_keeps_port_and_services_come_back(pod: dict[str, Any]) -> None:
    slug = pod["slug"]
    run("pinacle", "stop", slug)
    stopped = pinacle_json("status", slug)["pods"][0]
    assert stopped["state"] == "stopped"
    assert stopped["host_port"] == pod["host_port"]
    assert all(s["healthy"] is None for s in stopped["services"])
    started = pinacle_json("start", slug)["pods"][0]
    assert started["host_port"] == pod["host_port"]
    assert started["healthy"] is True
    # Nothing was recreated: the same network and volume, one container.
    assert labelled(slug) == {
        "container": [f"pinacle-{slug}"],
        "network": [f"pinacle-{slug}"],
        "volume": [f"pinacle-{slug}-workspace"],
    }


def test_status_reports_a_dead_process(pod: dict[str, Any]) -> None:
    slug = pod["slug"]
    # The pod's PID 1 killed from outside: Docker restarts it (unless-stopped); status says so.
    run("docker", "kill", "--signal", "KILL", f"pinacle-{slug}")
    record = pinacle_json("status", slug)["pods"][0]
    assert record["state"] in {"running", "restarting"} or record["state"].startswith("exited")
    if record["state"].startswith("exited"):
        assert record["exit_code"] != 0


def test_delete_removes_everything_labelled(pod: dict[str, Any]) -> None:
    slug = pod["slug"]
    result = run("pinacle", "delete", slug)
    assert "kept" in result.stdout
    assert labelled(slug) == {
        "container": [],
        "network": [],
        "volume": [f"pinacle-{slug}-workspace"],
    }
    run("pinacle", "delete", slug, "--purge")
    assert labelled(slug) == {"container": [], "network": [], "volume": []}
    # The port is free again: no container of this pod holds it as a label (another pod may have
    # taken it since, when tests run side by side).
    holders = run(
        "docker",
        "ps",
        "-a",
        "--filter",
        f"label=pinacle.port={pod['host_port']}",
        "--format",
        '{{.Label "pinacle.pod"}}',
    ).stdout.split()
    assert slug not in holders


def test_delete_of_a_missing_pod_exits_zero() -> None:
    result = run("pinacle", "delete", new_slug("missing"))
    assert result.returncode == 0
    assert "does not exist" in result.stdout


def test_status_of_a_missing_pod_fails() -> None:
    result = run("pinacle", "status", new_slug("missing"), check=False)
    assert result.returncode != 0
    assert "no pod" in result.stderr


def test_exec_and_logs(pod: dict[str, Any]) -> None:
    slug = pod["slug"]
    assert run("pinacle", "exec", slug, "--", "cat", "/etc/hostname").stdout.strip() == slug
    failing = run("pinacle", "exec", slug, "--", "sh", "-c", "exit 3", check=False)
    assert failing.returncode == 3
    container_log = run("pinacle", "logs", slug)
    assert "supervisord" in container_log.stdout + container_log.stderr
    app_log = run("pinacle", "logs", slug, "app", "-n", "50")
    assert "GET /" in app_log.stdout
    unknown = run("pinacle", "logs", slug, "nope", check=False)
    assert unknown.returncode != 0


def test_status_shows_a_port_added_by_a_reapply(pod: dict[str, Any], pod_file: Any) -> None:
    # Adding a port reloads the router without recreating the container, whose routes label
    # still says what it was created with: status must report what the pod serves now.
    path = pod_file(pod["slug"])
    path.write_text(
        path.read_text().replace(
            "ports:\n", "ports:\n  - name: extra\n    port: 4000\n    command: python3 -m http.server 4000\n", 1
        )
    )
    run("pinacle-deploy", str(path), "--json")
    services = {s["name"]: s for s in pinacle_json("status", pod["slug"])["pods"][0]["services"]}
    assert services["extra"]["port"] == 4000
    assert services["extra"]["healthy"] is True
