"""A provisioned pod host is what it claims to be: Docker, containerd, a working gVisor runtime."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pinacle.facts.host import AptPolicy
from pinacle.readers.host import PROBE_IMAGE

DAEMON_JSON = "/etc/docker/daemon.json"
CHECKSUM_RECORD = "/etc/pinacle/runsc.sha512"


def daemon_config(host: Any) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(host.file(DAEMON_JSON).content_string)
    return config


def apt_policy(host: Any, package: str) -> dict[str, Any]:
    return AptPolicy().process(host.check_output("LC_ALL=C apt-cache policy %s", package).splitlines())


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


def test_coreutils_ls_works_in_a_sandbox(host: Any, runtime_name: str) -> None:
    # An old runsc (Debian bookworm's 0.0~20221219) rejects a statx flag: coreutils' ls and stat
    # then fail with "Invalid argument" in every pod. Busybox's ls does not notice, so the probe
    # image carries the host's GNU ls; /probe holds no symlinks (gVisor issue 11049 makes `ls -l`
    # of a symlink print "Bad file descriptor", which is cosmetic).
    path = daemon_config(host)["runtimes"][runtime_name]["path"]
    version = host.check_output("%s --version", path).splitlines()[0]
    result = host.run("docker run --rm --runtime=%s %s /bin/ls -lan /probe", runtime_name, PROBE_IMAGE)
    assert result.rc == 0, f"{version} ({path}): {result.stdout}{result.stderr}"
    assert " file" in result.stdout, f"{version}: {result.stdout}"
    assert version.startswith("runsc version ")


def test_pinned_debian_suite_is_signed_and_pins_only_runsc(host: Any) -> None:
    # runsc_source = "debian-trixie" only: apt checks the suite against the archive keyring, and
    # only runsc is taken from it.
    source = host.file("/etc/apt/sources.list.d/pinacle-trixie.sources")
    if not source.exists:
        pytest.skip("this host does not take runsc from a pinned Debian suite")
    assert source.contains("^Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg$")
    lists = host.check_output("ls /var/lib/apt/lists/ | grep '_trixie_InRelease$' || true").split()
    assert lists, "apt has not fetched trixie's lists"
    for name in lists:
        verify = host.run(
            "gpgv --keyring /usr/share/keyrings/debian-archive-keyring.gpg %s", f"/var/lib/apt/lists/{name}"
        )
        assert verify.rc == 0, verify.stderr
    runsc = apt_policy(host, "runsc")
    assert runsc["installed"] == runsc["candidate"], runsc
    assert "trixie/main" in runsc["origins"][runsc["installed"]], runsc
    # Every Debian suite has base-files: with the pin at priority 1 it must not follow trixie.
    base_files = apt_policy(host, "base-files")
    assert "trixie/main" not in base_files["origins"][base_files["candidate"]], base_files


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
