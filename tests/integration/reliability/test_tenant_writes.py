"""What a tenant writes inside its pod never reaches a host decision: day-2 commands read the
root-only host record and create-time labels. A damaged host record marks that one pod only."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.integration.reliability.conftest import pinacle, pod_json
from tests.integration.reliability.tally import tally

HOSTILE_IN_POD = {
    "/etc/pinacle/pod.json": '{"routes":[{"name":"x","port":"abc"}],"runtime":"runc"}',
    "/etc/pinacle/supervisor/evil.conf": "[program:evil]\ncommand=sleep 1\n",
    "/etc/pinacle/router/pod.conf": "server { listen 80; location /[1-1500] { return 200; } }\n",
}


@pytest.fixture
def two_pods(pod_file: Callable[..., tuple[str, Path]]) -> tuple[str, str]:
    (first, first_path), (second, second_path) = pod_file("rel-ten"), pod_file("rel-ten")
    pinacle("deploy", str(first_path), str(second_path), check=True)
    return first, second


def test_files_a_tenant_writes_in_its_pod_change_nothing_day_2_commands_say(two_pods: tuple[str, str]) -> None:
    tenant, neighbour = two_pods
    before = pod_json(tenant)
    for path, text in HOSTILE_IN_POD.items():
        write = f"mkdir -p {Path(path).parent} && printf %s {shlex.quote(text)} > {path}"
        pinacle("exec", "--root", tenant, "--", "sh", "-c", write, check=True)
    listed = pinacle("list", "--json")
    assert listed.returncode == 0
    pods = {p["slug"]: p for p in json.loads(listed.stdout)["pods"]}
    assert [s["name"] for s in pods[tenant]["services"]] == [s["name"] for s in before["services"]]
    assert pods[tenant]["runtime"] == "runsc" and pods[neighbour]["healthy"] is True
    assert f"[ok  ] pod {neighbour}: running" in pinacle("doctor").stdout
    tally("refused")


def test_a_damaged_host_record_marks_that_pod_and_no_other(two_pods: tuple[str, str]) -> None:
    damaged, neighbour = two_pods
    Path(f"/var/lib/pinacle/pods/{damaged}.json").write_text('{"version": 1, "slug": 5}')
    listed = pinacle("list", "--json")
    assert listed.returncode == 0
    pods = {p["slug"]: p for p in json.loads(listed.stdout)["pods"]}
    assert "host record" in pods[damaged]["problem"] and "damaged" in pods[damaged]["problem"]
    assert pods[neighbour]["problem"] == "" and pods[neighbour]["healthy"] is True
    assert pinacle("status", damaged).returncode == 4
    tally("refused")
