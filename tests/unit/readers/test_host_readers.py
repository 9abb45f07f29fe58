"""Host reads without pyinfra: the commands are the facts' commands, the parsers their parsers."""

from __future__ import annotations

import subprocess

import pytest

from pinacle.errors import HostError
from pinacle.facts.host import DockerImageId, DockerServer, FileText, NetworkUsage, PathExists, RuntimeProbe
from pinacle.readers import host as readers
from pinacle.readers.host import PROBE_DIR, PROBE_IMAGE


def test_docker_server_read() -> None:
    read = readers.docker_server()
    assert read.command == DockerServer().command()
    assert read.command == (
        "docker info --format '{{.ServerVersion}}|{{range $k, $v := .Runtimes}}{{$k}},{{end}}|{{.DefaultRuntime}}' "
        "2>/dev/null || echo down"
    )
    assert read.result(["20.10.24+dfsg1|io.containerd.runc.v2,runc,runsc,|runc"]) == {
        "version": "20.10.24+dfsg1",
        "runtimes": ["io.containerd.runc.v2", "runc", "runsc"],
        "default_runtime": "runc",
    }
    assert read.result(["down"]) is None
    assert read.result([]) is None


def test_file_text_read() -> None:
    read = readers.file_text("/etc/docker/daemon.json")
    assert read.command == FileText().command("/etc/docker/daemon.json")
    assert read.command == (
        "if [ -f /etc/docker/daemon.json ]; then echo present; cat /etc/docker/daemon.json; else echo absent; fi"
    )
    assert read.result(["present", "{", '  "live-restore": true', "}"]) == '{\n  "live-restore": true\n}\n'
    assert read.result(["absent"]) is None


def test_path_exists_read_quotes_the_path() -> None:
    read = readers.path_exists("/var/lib/pinacle/pods/it's.json")
    assert read.command == PathExists().command("/var/lib/pinacle/pods/it's.json")
    assert read.command == "[ -e '/var/lib/pinacle/pods/it'\"'\"'s.json' ] && echo yes || echo no"
    assert read.result(["yes"]) is True
    assert read.result(["no"]) is False


def test_docker_image_id_read() -> None:
    read = readers.docker_image_id(PROBE_IMAGE)
    assert read.command == DockerImageId().command(PROBE_IMAGE)
    assert read.result(["sha256:ab"]) == "sha256:ab"
    assert read.result(["absent"]) is None


def test_network_usage_read() -> None:
    read = readers.network_usage()
    assert read.command == NetworkUsage().command()
    assert read.result(["bridge 3", "pinacle 2"]) == {"bridge": 3, "pinacle": 2}


def test_runtime_probe_read_is_the_facts_command() -> None:
    read = readers.runtime_probe("runsc", PROBE_IMAGE, PROBE_DIR)
    assert read.command == RuntimeProbe().command(runtime="runsc", image=PROBE_IMAGE)
    assert subprocess.run(["sh", "-n", "-c", read.command], check=False).returncode == 0
    assert read.result(["rc=0", "[    0.0] Starting gVisor...", "total 9"])["ok"] is True
    assert read.result([]) == {"ok": False, "rc": -1, "output": ""}


def test_host_size_is_cpus_and_mib_of_memory() -> None:
    assert readers.host_size().result(["4", "16318412"]) == (4.0, 15935)


def test_an_unreadable_host_size_fails_naming_it() -> None:
    with pytest.raises(HostError, match="could not read the host's size"):
        readers.host_size().result(["nproc: not found"])
