"""The StatefulSet's container, as ``pinacle export k8s`` describes it, runs under runsc.

No cluster here: the container is run by Docker with the same image, runtime, capabilities (all
dropped but the five), no privilege escalation, env, and the ConfigMap's files bind-mounted read-only
where the volumes put them. That the pod's router and every service come up, and that supervisord can
still restart a service of ``dev``, is what proves the security context is not stricter than the image
allows; what a kubelet adds (fsGroup, its own mounts) is not exercised.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.conftest import REPO, docker, run

from pinacle.export.k8s import KubernetesOptions, Manifest, render_kubernetes_objects
from pinacle.resolver import resolve

pytestmark = pytest.mark.integration

RUNTIME = "runsc"  # the RuntimeClass handler


def docker_run_args(objects: dict[str, Manifest], files: Path) -> list[str]:
    """``docker run`` arguments for the StatefulSet's only container; ConfigMap items written under ``files``."""
    pod = objects["StatefulSet"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    context = container["securityContext"]
    args = [f"--runtime={RUNTIME}", "--cap-drop=ALL", *(f"--cap-add={cap}" for cap in context["capabilities"]["add"])]
    if context["allowPrivilegeEscalation"] is False:
        args.append("--security-opt=no-new-privileges")
    limits = container["resources"]["limits"]
    cpu = limits["cpu"]
    args += [f"--cpus={int(cpu[:-1]) / 1000 if cpu.endswith('m') else cpu}", f"--memory={limits['memory'][:-2]}m"]
    for source in container.get("envFrom", []):
        assert source["secretRef"]["name"] == objects["Secret"]["metadata"]["name"]
        args += [f"--env={key}={value}" for key, value in objects["Secret"]["stringData"].items()]
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    data = objects["ConfigMap"]["data"]
    for mount in container["volumeMounts"]:
        if mount["name"] not in volumes:  # the workspace claim: an anonymous volume here
            args.append(f"--mount=type=volume,target={mount['mountPath']}")
            continue
        directory = files / mount["name"]
        directory.mkdir()
        for item in volumes[mount["name"]]["configMap"]["items"]:
            (directory / item["path"]).write_text(data[item["key"]])
        args.append(f"--mount=type=bind,source={directory},target={mount['mountPath']},readonly")
    return [*args, container["image"]]


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"k8s-{uuid.uuid4().hex[:8]}"
    yield name
    docker("rm", "-fv", name, check=False)


def wait_for(name: str, host: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        probe = ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", f"Host: {host}", "http://127.0.0.1/"]
        status = run("docker", "exec", name, *probe, check=False, timeout=30).stdout
        if status == "200":
            return status
        time.sleep(0.5)
    return status


def test_the_exported_container_serves_every_ingress_host_under_runsc(tmp_path: Path, container_name: str) -> None:
    spec = resolve(REPO / "pods" / "python-api.yaml")  # a template, env, three services
    objects = {o["kind"]: o for o in render_kubernetes_objects(spec, KubernetesOptions())}
    docker("run", "-d", f"--name={container_name}", *docker_run_args(objects, tmp_path))
    hosts = [rule["host"] for rule in objects["Ingress"]["spec"]["rules"]]
    assert {host: wait_for(container_name, host) for host in hosts} == dict.fromkeys(hosts, "200")
    assert docker("exec", container_name, "printenv", "APP_ENV") == "development"


def test_supervisord_can_restart_a_service_with_the_exported_capabilities(tmp_path: Path, container_name: str) -> None:
    spec = resolve(REPO / "pods" / "example.yaml")
    objects = {o["kind"]: o for o in render_kubernetes_objects(spec, KubernetesOptions())}
    docker("run", "-d", f"--name={container_name}", *docker_run_args(objects, tmp_path))
    assert wait_for(container_name, "localhost-3000.pod-example.localhost") == "200"
    restarted = run("docker", "exec", container_name, "supervisorctl", "restart", "app", check=False, timeout=60)
    assert restarted.stdout.splitlines() == ["app: stopped", "app: started"], restarted.stdout + restarted.stderr
    assert wait_for(container_name, "localhost-3000.pod-example.localhost") == "200"
