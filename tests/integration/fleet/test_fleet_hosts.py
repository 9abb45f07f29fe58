"""Each fleet host is a host of its own: its own engine, daemon.json, pools and files, over its own sshd."""

from __future__ import annotations

import json
import os

import pytest
from tests.integration.fleet.conftest import RUN, Fleet, deploy_totals, fleet_sh, host_deploy, run

pytestmark = pytest.mark.integration

# Where the host deploy and pinacle write: each host must have its own.
HOST_PATHS = ("/etc/docker", "/var/lib/docker", "/var/lib/pinacle", "/run", "/usr/local/lib/pinacle", "/etc/pinacle")


def test_ssh_lands_in_the_hosts_own_namespaces(fleet: Fleet) -> None:
    for host in fleet.hosts:
        seen = host.ssh("hostname; ip -4 -o addr show dev eth0").stdout
        assert seen.startswith(f"{host.name}\n") and f"inet {host.address}/24" in seen


def test_each_host_has_its_own_daemon_json_with_its_own_pools(fleet: Fleet) -> None:
    for host in fleet.hosts:
        daemon = json.loads(host.ssh("cat /etc/docker/daemon.json").stdout)
        assert daemon["default-address-pools"] == [{"base": host.pool, "size": 24}]
        assert daemon["runtimes"]["runsc"]["path"] == "/usr/bin/runsc"
    assert len({host.pool for host in fleet.hosts}) == len(fleet.hosts)


def test_each_host_runs_an_engine_of_its_own(fleet: Fleet) -> None:
    engines = {host.name: host.docker_json("info", "--format", "'{{json .}}'") for host in fleet.hosts}
    assert {name: info["Name"] for name, info in engines.items()} == {h.name: h.name for h in fleet.hosts}
    machine = json.loads(run("docker", "info", "--format", "{{json .ID}}").stdout)
    assert len({info["ID"] for info in engines.values()} | {machine}) == len(fleet.hosts) + 1


def test_each_host_has_its_own_files_where_the_deploy_writes(fleet: Fleet) -> None:
    def identities(stat_output: str) -> list[str]:
        return stat_output.split()

    stat = "stat -c %d:%i " + " ".join(HOST_PATHS)
    seen = [identities(host.ssh(stat).stdout) for host in fleet.hosts]
    seen.append([f"{os.stat(p).st_dev}:{os.stat(p).st_ino}" for p in HOST_PATHS])  # this machine's
    for index, path in enumerate(HOST_PATHS):
        assert len({paths[index] for paths in seen}) == len(seen), path


def test_a_second_host_deploy_changes_nothing(fleet: Fleet) -> None:
    result = host_deploy()
    totals = deploy_totals(result.stdout + result.stderr)  # pyinfra prints its table on stderr
    assert totals["failed"] == 0 and totals["changed"] == 0
    assert totals["unchanged"] == totals["operations"] > 0


def test_up_again_keeps_the_running_hosts(fleet: Fleet) -> None:
    def holders() -> list[str]:
        return [(RUN / f"host{host.number}.pid").read_text() for host in fleet.hosts]

    def engines() -> list[str]:
        return [host.ssh("docker info --format '{{.ID}}'").stdout for host in fleet.hosts]

    before = holders(), engines()
    fleet_sh("up", str(len(fleet.hosts)))
    assert (holders(), engines()) == before
