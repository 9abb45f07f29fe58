"""The test fleet: three pod hosts on this machine (scripts/fleet.sh), each provisioned by the host deploy.

The session uses the fleet that is running if there is one (``scripts/fleet.sh up`` keeps running
hosts and restarts a stopped sshd), and provisions it with the project's own deploy either way
(a no-change run on a provisioned fleet). A fleet this session started is taken down at its end,
unless ``PINACLE_FLEET_KEEP=1``; one that was running before is left running.
Every command reaches the hosts over SSH: pyinfra for deploys and facts, ``ssh`` for checks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import REPO

FLEET_SH = REPO / "scripts" / "fleet.sh"
INVENTORY = REPO / "inventory" / "fleet-test.py"
STATE = Path("/var/lib/pinacle-fleet")
RUN = Path("/run/pinacle-fleet")
HOST_COUNT = 3
SSHD = Path("/usr/sbin/sshd")


def run(*argv: str | Path, timeout: float = 600, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    argv_text = [str(a) for a in argv]
    return subprocess.run(argv_text, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)


def checked(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    if result.returncode != 0:
        raise AssertionError(f"{result.args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def fleet_sh(*args: str, timeout: float = 600) -> str:
    return checked(run(FLEET_SH, *args, timeout=timeout)).stdout


@dataclass(frozen=True)
class FleetHost:
    """One host of the fleet as inventory/fleet-test.py describes it."""

    number: int

    @property
    def name(self) -> str:
        return f"fleet-host{self.number}"

    @property
    def address(self) -> str:
        return f"10.250.{self.number}.2"

    @property
    def pool(self) -> str:
        return f"10.21{self.number - 1}.0.0/16"

    def ssh(self, command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``command`` run by the host's own sshd, as root with the fleet's client key."""
        result = run(
            "ssh", "-i", STATE / "client_key", "-o", f"UserKnownHostsFile={STATE / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
            f"root@{self.address}", command, timeout=120,
        )  # fmt: skip
        return checked(result) if check else result

    def docker_json(self, *args: str) -> Any:
        return json.loads(self.ssh("docker " + " ".join(args)).stdout)


def pinacle(
    *args: str, hosts: tuple[FleetHost, ...] = (), check: bool = True, timeout: float = 600, published: bool = True
) -> subprocess.CompletedProcess[str]:
    """``pinacle ARGS`` (``deploy ARGS``: pinacle-deploy) against the fleet inventory, limited to ``hosts``.

    Pods are published on every address of their host (unless not ``published``: behind the hosts'
    edges, on loopback), so the machine reaches them at the host's address, as a user's browser
    would reach a real pod host.
    """
    command, *rest = args
    module = "pinacle.cli.deploy" if command == "deploy" else "pinacle.cli.main"
    argv = [sys.executable, "-m", module, *([] if command == "deploy" else [command]), "-i", str(INVENTORY), *rest]
    env = {k: v for k, v in os.environ.items() if k not in ("PINACLE_INVENTORY", "PINACLE_FLEET_HOSTS")}
    if published:
        env["PINACLE_PUBLISH_ADDRESS"] = "0.0.0.0"
    if hosts:
        env["PINACLE_FLEET_HOSTS"] = ",".join(h.name for h in hosts)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env, check=False)
    return checked(result) if check else result


def host_deploy(edges: str = "") -> subprocess.CompletedProcess[str]:
    """The project's host deploy over the whole fleet, as a user runs it (with every host's edge on,
    serving ``edges`` "http" or "https": inventory/fleet-test.py's PINACLE_FLEET_EDGE)."""
    pyinfra = Path(sys.executable).with_name("pyinfra")
    env = {k: v for k, v in os.environ.items() if k not in ("PINACLE_FLEET_HOSTS", "PINACLE_FLEET_EDGE")}
    if edges:
        env["PINACLE_FLEET_EDGE"] = edges
    return checked(run(pyinfra, "-y", INVENTORY, REPO / "deploys" / "vm.py", cwd=REPO, env=env))


_TOTAL = re.compile(r"^\s*Grand total\s+(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", re.MULTILINE)


def deploy_totals(output: str) -> dict[str, int]:
    """pyinfra's result table, its last row: operations run, changed, failed, unchanged ("-" is 0)."""
    match = _TOTAL.search(output)
    assert match, f"no 'Grand total' row in the deploy's output:\n{output[-2000:]}"
    ran, success, error, unchanged = (0 if v == "-" else int(v) for v in match.groups())
    return {"operations": ran, "changed": success, "failed": error, "unchanged": unchanged}


@dataclass(frozen=True)
class Fleet:
    hosts: tuple[FleetHost, ...]
    timings: dict[str, float]


@pytest.fixture(scope="session")
def fleet() -> Iterator[Fleet]:
    if not SSHD.exists():
        pytest.fail("/usr/sbin/sshd is missing: run scripts/bootstrap.sh as root (installs openssh-server)")
    started_here = not RUN.exists()
    timings: dict[str, float] = {}
    begin = time.monotonic()
    fleet_sh("up", str(HOST_COUNT))
    timings["up"] = time.monotonic() - begin
    try:
        begin = time.monotonic()
        host_deploy()
        timings["provision"] = time.monotonic() - begin
        begin = time.monotonic()
        fleet_sh("images")
        timings["images"] = time.monotonic() - begin
        print(f"fleet: {', '.join(f'{k} {v:.1f}s' for k, v in timings.items())}")
        yield Fleet(tuple(FleetHost(n) for n in range(1, HOST_COUNT + 1)), timings)
    finally:
        if started_here and os.environ.get("PINACLE_FLEET_KEEP") != "1":
            fleet_sh("down")
            assert fleet_leftovers() == [], "scripts/fleet.sh down left these behind"


def fleet_leftovers() -> list[str]:
    """What of the fleet is still on this machine: state, links, processes, mounts."""
    found = [str(path) for path in (STATE, RUN) if path.exists()]
    found += [line for line in run("ip", "-o", "link", "show").stdout.splitlines() if ": pfleet" in line]
    found += [line for line in run("iptables", "-S", "FORWARD").stdout.splitlines() if "pfleet" in line]
    found += [line for line in run("ps", "-eo", "pid,args").stdout.splitlines() if "fleet.sh _boot" in line]
    found += [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if "pinacle-fleet" in line]
    return found
