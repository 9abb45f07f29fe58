"""pinacle-deploy against real Docker + gVisor: routing, WebSockets, isolation, idempotence."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.integration.conftest import REPO, SLUG_PREFIX, PodFactory, deploy_json, docker, pinacle_deploy, ttyd_echo

pytestmark = pytest.mark.integration


def get(host_port: int, host: str, path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", host_port, timeout=10)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    return response.status, response.read().decode(errors="replace")


@pytest.fixture
def example_pod(pod_file: PodFactory) -> dict[str, object]:
    path, data = pod_file("ex")
    result = deploy_json(path)
    pod = result["pods"][0]
    return {
        "path": path,
        "slug": data["slug"],
        "port": pod["host_port"],
        "urls": pod["urls"],
        "changes": result["changes"],
    }


def host_name(port: int, slug: object) -> str:
    return f"localhost-{port}.pod-{slug}.localhost"


def test_web_terminal_page_is_served_through_the_router(example_pod: dict[str, object]) -> None:
    status, body = get(int(example_pod["port"]), host_name(7681, example_pod["slug"]))  # type: ignore[arg-type]
    assert status == 200
    assert "<title>ttyd" in body


def test_app_port_is_served_through_the_router(example_pod: dict[str, object]) -> None:
    slug = example_pod["slug"]
    docker("exec", f"pinacle-{slug}", "sh", "-c", "echo hello-from-workspace > /workspace/hello.txt")
    status, body = get(int(example_pod["port"]), host_name(3000, slug), "/hello.txt")  # type: ignore[arg-type]
    assert (status, body.strip()) == (200, "hello-from-workspace")


def test_websocket_terminal_echoes_through_the_router(example_pod: dict[str, object]) -> None:
    seen = ttyd_echo(
        int(example_pod["port"]),
        host_name(7681, example_pod["slug"]),  # type: ignore[arg-type]
        "echo pinacle-$((6*7))",
        expect="pinacle-42",
    )
    assert "pinacle-42" in seen


def test_undeclared_port_is_not_routed(example_pod: dict[str, object]) -> None:
    slug = example_pod["slug"]
    # Something really listens on 8080 inside the pod, but the pod never declared it.
    docker("exec", "-d", f"pinacle-{slug}", "python3", "-m", "http.server", "8080")
    status, body = get(int(example_pod["port"]), host_name(8080, slug))  # type: ignore[arg-type]
    assert status == 404
    assert "not declared" in body


def test_urls_are_the_edges_without_a_port(example_pod: dict[str, object]) -> None:
    # This host's edge listens on 80 (host data edge_http_port's default): no port in the URL.
    slug = example_pod["slug"]
    assert example_pod["urls"] == {
        "web-terminal": f"http://localhost-7681.pod-{slug}.localhost/",
        "app": f"http://localhost-3000.pod-{slug}.localhost/",
    }


def test_container_runs_under_gvisor(example_pod: dict[str, object]) -> None:
    name = f"pinacle-{example_pod['slug']}"
    assert docker("inspect", "--format", "{{.HostConfig.Runtime}}", name) == "runsc"
    assert "Starting gVisor" in docker("exec", name, "dmesg")


def test_every_resource_carries_the_pod_label(example_pod: dict[str, object]) -> None:
    label = f"label=pinacle.pod={example_pod['slug']}"
    assert len(docker("ps", "-aq", "--filter", label).split()) == 1
    assert docker("network", "ls", "-q", "--filter", label) != ""
    assert docker("volume", "ls", "-q", "--filter", label) != ""


def test_reapply_reports_no_changes(example_pod: dict[str, object]) -> None:
    assert example_pod["changes"] > 0  # type: ignore[operator]
    again = deploy_json(example_pod["path"])  # type: ignore[arg-type]
    assert again["changes"] == 0
    assert again["pods"][0]["host_port"] == example_pod["port"]


def test_dry_run_of_an_applied_pod_exits_zero(example_pod: dict[str, object]) -> None:
    result = pinacle_deploy(str(example_pod["path"]), "--dry-run")
    assert "No changes." in result.stdout


def test_dry_run_of_a_new_pod_exits_two_and_changes_nothing(pod_file: PodFactory) -> None:
    path, data = pod_file("dry")
    result = pinacle_deploy(str(path), "--dry-run", check=False)
    assert result.returncode == 2
    assert "Would create container" in result.stdout
    assert docker("ps", "-aq", "--filter", f"label=pinacle.pod={data['slug']}") == ""


def test_memory_change_recreates_container_and_keeps_workspace(example_pod: dict[str, object]) -> None:
    path, slug = Path(str(example_pod["path"])), example_pod["slug"]
    name = f"pinacle-{slug}"
    before = docker("inspect", "--format", "{{.Id}}", name)
    docker("exec", name, "sh", "-c", "echo kept > /workspace/survivor.txt")
    path.write_text(path.read_text().replace("512m", "768m"))
    dry = pinacle_deploy(str(path), "--dry-run", check=False)
    assert dry.returncode == 2
    assert f"Would replace container {name} (resources.memory changed; the workspace is kept)" in dry.stdout
    result = deploy_json(path)
    assert result["changes"] > 0
    assert docker("inspect", "--format", "{{.Id}}", name) != before
    assert docker("inspect", "--format", "{{.HostConfig.Memory}}", name) == str(768 * 1024 * 1024)
    assert docker("exec", name, "cat", "/workspace/survivor.txt") == "kept"
    assert result["pods"][0]["host_port"] == example_pod["port"]


def test_router_change_reloads_without_recreating(example_pod: dict[str, object]) -> None:
    path, slug = Path(str(example_pod["path"])), example_pod["slug"]
    name = f"pinacle-{slug}"
    before = docker("inspect", "--format", "{{.Id}}", name)
    text = path.read_text().replace(
        "ports:\n", "ports:\n- name: extra\n  port: 4000\n  command: python3 -m http.server 4000\n", 1
    )
    path.write_text(text)
    deploy_json(path)
    assert docker("inspect", "--format", "{{.Id}}", name) == before
    status, _ = get(int(example_pod["port"]), host_name(4000, slug))  # type: ignore[arg-type]
    assert status == 200


def test_two_pods_get_different_ports_and_networks(pod_file: PodFactory) -> None:
    first, a = pod_file("iso")
    second, b = pod_file("iso")
    pod_a = deploy_json(first)["pods"][0]
    pod_b = deploy_json(second)["pods"][0]
    assert pod_a["host_port"] != pod_b["host_port"]
    net_a = docker(
        "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", f"pinacle-{a['slug']}"
    )
    net_b = docker(
        "inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", f"pinacle-{b['slug']}"
    )
    assert (net_a, net_b) == (f"pinacle-{a['slug']}", f"pinacle-{b['slug']}")


def test_pod_cannot_reach_another_pod(pod_file: PodFactory) -> None:
    first, a = pod_file("iso")
    second, b = pod_file("iso")
    deploy_json(first)
    deploy_json(second)
    ip_a = docker(
        "inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", f"pinacle-{a['slug']}"
    )
    # Pod A's own router answers on its address from inside A (to A's own host name)...
    own = docker(
        "exec",
        f"pinacle-{a['slug']}",
        "curl",
        "-s",
        "-m",
        "5",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        f"Host: pod-{a['slug']}.localhost",
        f"http://{ip_a}/",
    )
    assert own == "200"
    # ...but pod B cannot open a connection to it.
    result = subprocess.run(
        ["docker", "exec", f"pinacle-{b['slug']}", "curl", "-s", "-m", "5", f"http://{ip_a}/"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0


def test_concurrent_deploys_never_share_a_port(pod_file: PodFactory) -> None:
    paths = [pod_file("race")[0] for _ in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "pinacle.cli.deploy", str(p), "--json"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in paths
    ]
    ports = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        ports.append(json.loads(out)["pods"][0]["host_port"])
    assert len(set(ports)) == 3


def test_longest_allowed_slug_deploys(pod_file: PodFactory) -> None:
    # 42 characters: the longest host name the router must map is 72 characters long.
    path, data = pod_file("l" * (33 - len(SLUG_PREFIX)))
    result = deploy_json(path)
    assert len(str(data["slug"])) == 42
    status, _ = get(result["pods"][0]["host_port"], host_name(3000, data["slug"]))
    assert status == 200


def test_a_service_the_image_lacks_fails_before_anything_is_created(pod_file: PodFactory) -> None:
    path, data = pod_file("noimg", services=["web-terminal", "code-server"], image="pinacle/base:latest")
    result = pinacle_deploy(str(path), check=False)
    assert result.returncode != 0
    assert "does not carry service(s) code-server" in result.stderr
    assert "use image: pinacle/workstation:latest" in result.stderr
    label = f"label=pinacle.pod={data['slug']}"
    for lister in (["ps", "-aq"], ["network", "ls", "-q"], ["volume", "ls", "-q"]):
        assert docker(*lister, "--filter", label) == "", lister
