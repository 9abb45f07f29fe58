"""A provisioned pod host is what it claims to be: Docker, containerd, a working gVisor runtime."""

from __future__ import annotations

import json
from typing import Any

DAEMON_JSON = "/etc/docker/daemon.json"
CHECKSUM_RECORD = "/etc/pinacle/runsc.sha512"


def daemon_config(host: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(host.file(DAEMON_JSON).content_string)
    return config


def test_docker_daemon_answers(host: Any) -> None:
    assert host.run("docker info --format '{{.ServerVersion}}'").rc == 0


def test_containerd_is_running(host: Any) -> None:
    assert host.process.filter(comm="containerd")


def test_dockerd_is_running(host: Any) -> None:
    assert host.process.filter(comm="dockerd")


def test_docker_lists_the_gvisor_runtime(host: Any, runtime_name: str) -> None:
    runtimes = json.loads(host.check_output("docker info --format '{{json .Runtimes}}'"))
    assert runtime_name in runtimes


def test_daemon_json_registers_the_runtime(host: Any, runtime_name: str) -> None:
    runtime = daemon_config(host)["runtimes"][runtime_name]
    assert host.file(runtime["path"]).is_file


def test_daemon_json_sizes_address_pools_for_many_pods(host: Any) -> None:
    pools = daemon_config(host)["default-address-pools"]
    networks = sum(2 ** (p["size"] - int(p["base"].split("/")[1])) for p in pools)
    assert networks >= 256


def test_container_under_the_runtime_reports_gvisor_kernel(host: Any, runtime_name: str, probe_image: str) -> None:
    out = host.check_output("docker run --rm --runtime=%s %s /bin/busybox dmesg", runtime_name, probe_image)
    assert "Starting gVisor" in out


def test_runtime_binary_matches_its_checksum(host: Any, runtime_name: str) -> None:
    path = daemon_config(host)["runtimes"][runtime_name]["path"]
    if host.file(CHECKSUM_RECORD).exists:
        # Official release: the SHA-512 the deploy verified before installing it.
        recorded = host.file(CHECKSUM_RECORD).content_string.split()[0]
        assert host.check_output("sha512sum %s", path).split()[0] == recorded
    else:
        # Distro package: dpkg/apk verify the files they installed against their own sums.
        owner = host.check_output("dpkg -S %s", path).split(":")[0]
        assert host.run("dpkg --verify %s", owner).stdout == ""


def test_root_filesystem_writes_reach_docker(host: Any, runtime_name: str, probe_image: str) -> None:
    # Snapshots are `docker commit`s: a write inside a pod's root filesystem must land in Docker's layer,
    # not in runsc's sandbox-internal overlay (gVisor issue 11559; the deploy passes --overlay2=none).
    name = "pinacle-infra-rootfs-probe"
    host.run("docker rm -f %s", name)
    try:
        host.check_output(
            "docker run --name %s --runtime=%s %s /bin/busybox sh -c 'echo x > /pinacle-rootfs-probe'",
            name,
            runtime_name,
            probe_image,
        )
        assert "A /pinacle-rootfs-probe" in host.check_output("docker diff %s", name).splitlines()
    finally:
        host.run("docker rm -f %s", name)
