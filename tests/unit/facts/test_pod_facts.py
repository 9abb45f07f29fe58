"""Pod facts are a command plus a parser: the parsers on output Docker really prints, the commands run."""

from __future__ import annotations

import json
import subprocess

import pytest
from tests.unit.conftest import StubDocker

from pinacle.errors import HostError
from pinacle.facts.pod import (
    PodContainer,
    PodObjects,
    PodStates,
    RouteStatus,
    parse_pod_states,
    pod_states_command,
    route_status_command,
    statuses_for,
)
from pinacle.pod.observed import PodRecord
from pinacle.pod.restoring import RestoreMarker

IMAGE_ID = "sha256:" + "ab" * 32
IMAGE = "pinacle/base:latest"


def inspect_line(name: str = "/pinacle-demo", slug: str = "demo", port: str = "30005") -> str:
    """One line of ``docker inspect --format CONTAINER_FORMAT``, as Docker prints it."""
    labels = {"pinacle.pod": slug, "pinacle.port": port, "pinacle.spec-hash": "ab"}
    return (
        f'{{"name":"{name}","id":"5f0c","status":"exited","exit_code":137,"restart_count":2,'
        f'"created":"2026-11-26T20:38:20.123456789Z","image":"{IMAGE}","runtime":"runsc",'
        f'"labels":{json.dumps(labels)},"nano_cpus":1500000000,"memory":536870912,"env":["PATH=/bin","FOO=bar"]}}'
    )


RECORD = PodRecord("demo", {"slug": "demo"}, "localhost", "ab", {"/etc/pinacle/router/pod.conf": "0" * 64}, 30005)
TCP = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 0100007F:7530 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41187 1 0",
    "   1: 0100007F:7531 0100007F:D6A2 01 00000000:00000000 00:00000000 00000000     0        0 41999 1 0",
]
# What pod_states_command((IMAGE, "x")) prints on a host with one pod: section markers, then lines.
OUTPUT = [
    "#pinacle:containers",
    inspect_line(),
    inspect_line(name="/pinacle-demo-restore", slug="demo"),
    "#pinacle:networks",
    "pinacle-demo",
    "#pinacle:volumes",
    "pinacle-demo-workspace",
    "pinacle-old-workspace",
    f"#pinacle:image {IMAGE}",
    f'{IMAGE_ID} {{"pinacle.services":"web-terminal"}}',
    "#pinacle:image x",
    "Error: No such image: x",
    "#pinacle:records",
    "/var/lib/pinacle/pods/demo.json:" + RECORD.to_json().strip(),
    "/var/lib/pinacle/pods/broken.json:{not json",
    "#pinacle:listening",
    *TCP,
    "#pinacle:daemon",
    '{"runtimes": {"runsc": {"path": "/usr/bin/runsc"}, "runsc-kvm": {"path": "/usr/local/bin/runsc"},',
    '  "fake": {"path": "/usr/bin/runc"}}}',
]


# --- PodStates: one round trip -------------------------------------------------------------------


def test_pod_states_reads_the_pods_container() -> None:
    container = parse_pod_states(OUTPUT).containers["demo"]
    assert (container.name, container.slug, container.host_port, container.spec_hash) == (
        "pinacle-demo",
        "demo",
        30005,
        "ab",
    )
    assert (container.state, container.cpus, container.memory_mb) == ("exited (137)", 1.5, 512)


def test_pod_states_skips_helper_containers_labelled_with_the_pod() -> None:
    assert [c.name for c in parse_pod_states(OUTPUT).containers.values()] == ["pinacle-demo"]


def test_pod_states_reads_networks_and_volumes() -> None:
    state = parse_pod_states(OUTPUT)
    assert state.networks == {"pinacle-demo"}
    assert state.volumes == {"pinacle-demo-workspace", "pinacle-old-workspace"}


def test_pod_states_reads_an_images_id_and_services() -> None:
    assert parse_pod_states(OUTPUT).images[IMAGE] == (IMAGE_ID, frozenset({"web-terminal"}))


def test_an_image_docker_does_not_have_is_absent() -> None:
    assert "x" not in parse_pod_states(OUTPUT).images


def test_an_image_without_labels_is_not_a_pinacle_image() -> None:
    state = parse_pod_states([f"#pinacle:image {IMAGE}", f"{IMAGE_ID} null"])
    assert state.images[IMAGE] == (IMAGE_ID, None)


def test_pod_states_reads_host_records() -> None:
    assert parse_pod_states(OUTPUT).records == {"demo": RECORD}


def test_a_damaged_record_is_reported_not_guessed_at() -> None:
    state = parse_pod_states(OUTPUT)
    assert "broken" not in state.records
    assert state.damaged["broken"].startswith("its host record /var/lib/pinacle/pods/broken.json is damaged: not JSON")


def test_a_record_that_names_another_pod_is_damaged() -> None:
    state = parse_pod_states(["#pinacle:records", "/var/lib/pinacle/pods/other.json:" + RECORD.to_json().strip()])
    assert state.records == {}
    assert state.damaged["other"].endswith("it names pod 'demo'")


def test_pod_states_read_the_ports_unfinished_restores_keep() -> None:
    state = parse_pod_states(
        [
            "#pinacle:restores",
            "/var/lib/pinacle/restores/kept.json:" + RestoreMarker("kept", "snap-1", 30004).to_json().strip(),
            "/var/lib/pinacle/restores/fresh.json:" + RestoreMarker("fresh", "snap-1").to_json().strip(),
            "/var/lib/pinacle/restores/wrong.json:" + RestoreMarker("kept", "snap-1", 30005).to_json().strip(),
        ]
    )
    assert state.reserved == {30004: "kept"}


def test_pod_states_reads_listening_ports() -> None:
    assert parse_pod_states(OUTPUT).listening == {30000}


def test_an_empty_host_has_no_pods() -> None:
    sections = ["containers", "networks", "volumes", "records", "listening"]
    state = parse_pod_states([f"#pinacle:{s}" for s in sections])
    assert (dict(state.containers), set(state.networks), set(state.volumes), dict(state.records)) == (
        {},
        set(),
        set(),
        {},
    )


@pytest.mark.parametrize(
    "line",
    [
        "#pinacle:error docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
        "#pinacle:error networks: permission denied while trying to connect to the Docker daemon socket",
    ],
)
def test_a_docker_error_fails_the_fact(line: str) -> None:
    with pytest.raises(HostError, match="Docker failed while pinacle read the host"):
        parse_pod_states(["#pinacle:containers", line])


def test_an_image_docker_cannot_inspect_for_another_reason_fails_the_fact() -> None:
    with pytest.raises(HostError, match="read image x: Cannot connect"):
        parse_pod_states(["#pinacle:image x", "Cannot connect to the Docker daemon"])


def test_pod_states_command_is_valid_shell() -> None:
    command = pod_states_command((IMAGE, "it's; $(bad)"))
    assert subprocess.run(["sh", "-n", "-c", command], check=False).returncode == 0


def test_pod_states_fact_asks_for_the_images_given() -> None:
    assert PodStates().command(images=(IMAGE,)) == pod_states_command((IMAGE,))


def test_pod_states_command_against_docker_reads_back_what_docker_said(stub_docker: StubDocker) -> None:
    stub_docker.answer("ps", "-aq", stdout="5f0c\n6a1d\n")
    stub_docker.answer("inspect", "--type container", "5f0c 6a1d", stdout=inspect_line() + "\n")
    stub_docker.answer("network ls", stdout="pinacle-demo\n")
    stub_docker.answer("volume ls", stdout="pinacle-demo-workspace\n")
    stub_docker.answer("image inspect", IMAGE, stdout=f'{IMAGE_ID} {{"pinacle.services":"web-terminal"}}\n')
    stub_docker.answer("image inspect", "x", rc=1, stderr="Error: No such image: x\n")
    result = stub_docker.run(["sh", "-c", pod_states_command((IMAGE, "x"))])
    state = parse_pod_states(result.stdout.decode().splitlines())
    assert (list(state.containers), set(state.networks), set(state.volumes)) == (
        ["demo"],
        {"pinacle-demo"},
        {"pinacle-demo-workspace"},
    )
    assert list(state.images) == [IMAGE]


def test_pods_of_one_image_read_it_once(stub_docker: StubDocker) -> None:
    # A run of several pod files asks for each one's image: twice the same section would read as one
    # section of two lines (a fleet-wide deploy of 30 pods once failed on it).
    stub_docker.answer("ps", "-aq", stdout="")
    stub_docker.answer("network ls", stdout="")
    stub_docker.answer("volume ls", stdout="")
    stub_docker.answer("image inspect", IMAGE, stdout=f'{IMAGE_ID} {{"pinacle.services":"web-terminal"}}\n')
    result = stub_docker.run(["sh", "-c", pod_states_command((IMAGE, IMAGE, IMAGE))])
    state = parse_pod_states(result.stdout.decode().splitlines())
    assert state.images == {IMAGE: (IMAGE_ID, frozenset({"web-terminal"}))}


def test_pod_states_command_on_a_host_without_pods_inspects_nothing(stub_docker: StubDocker) -> None:
    result = stub_docker.run(["sh", "-c", pod_states_command()])
    assert parse_pod_states(result.stdout.decode().splitlines()).containers == {}
    # The listings run at once: in any order, and no inspect among them.
    assert sorted(c.argv[0] for c in stub_docker.calls) == ["network", "ps", "volume"]


def test_pod_states_command_with_docker_down_fails_the_fact(stub_docker: StubDocker) -> None:
    stub_docker.answer(rc=1, stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n")
    result = stub_docker.run(["sh", "-c", pod_states_command()])
    assert result.returncode == 0
    with pytest.raises(HostError, match="Cannot connect to the Docker daemon"):
        parse_pod_states(result.stdout.decode().splitlines())


# --- PodContainer --------------------------------------------------------------------------------


def test_an_inspected_container_becomes_a_record() -> None:
    record = PodContainer().process([inspect_line()])
    assert record is not None
    assert (record.name, record.slug, record.host_port, record.restart_count) == ("pinacle-demo", "demo", 30005, 2)
    assert record.env == ("PATH=/bin", "FOO=bar")


def test_a_missing_container_is_none() -> None:
    assert PodContainer().process(["absent"]) is None
    assert PodContainer().process([]) is None


def test_a_docker_error_on_the_container_fails_the_fact() -> None:
    with pytest.raises(HostError, match="Cannot connect"):
        PodContainer().process(["#pinacle:error docker: Cannot connect to the Docker daemon"])


def test_pod_container_command_says_absent_only_for_no_such_container(stub_docker: StubDocker) -> None:
    stub_docker.answer("inspect", rc=1, stderr="Error: No such container: pinacle-demo\n")
    result = stub_docker.run(["sh", "-c", PodContainer().command("pinacle-demo")])
    assert PodContainer().process(result.stdout.decode().splitlines()) is None


def test_pod_container_command_reports_any_other_docker_failure(stub_docker: StubDocker) -> None:
    stub_docker.answer("inspect", rc=1, stderr="Cannot connect to the Docker daemon\n")
    result = stub_docker.run(["sh", "-c", PodContainer().command("pinacle-demo")])
    with pytest.raises(HostError, match="Cannot connect to the Docker daemon"):
        PodContainer().process(result.stdout.decode().splitlines())


# --- PodObjects ----------------------------------------------------------------------------------


def test_pod_objects_sorts_what_docker_lists_by_kind() -> None:
    output = ["container pinacle-demo", "network pinacle-demo", "volume pinacle-demo-workspace", "junk"]
    assert PodObjects().process(output) == {
        "container": ["pinacle-demo"],
        "network": ["pinacle-demo"],
        "volume": ["pinacle-demo-workspace"],
    }


def test_pod_objects_filter_on_the_pod_label() -> None:
    assert PodObjects().command("demo").count("--filter label=pinacle.pod=demo") == 3


# --- RouteStatus ---------------------------------------------------------------------------------

URL = "http://localhost-7681.pod-demo.localhost:30005/"


def test_route_status_reads_one_status_per_url() -> None:
    output = [f"200 {URL}", "000 http://localhost-3000.pod-demo.localhost:30005/healthz", "garbage"]
    assert RouteStatus().process(output) == {URL: 200, "http://localhost-3000.pod-demo.localhost:30005/healthz": 0}


def test_statuses_for_names_each_url_and_fills_in_silence() -> None:
    urls = {"web-terminal": URL, "app": "http://localhost-3000.pod-demo.localhost:30005/"}
    assert statuses_for(urls, {URL: 200}) == {"web-terminal": 200, "app": 0}


def test_route_status_command_is_one_parallel_curl_through_loopback() -> None:
    command = route_status_command([URL, "http://x.localhost:30005/{a}[1]"])
    assert command.startswith("curl -g -s -m 5 --max-filesize 1 --parallel ")
    assert "--connect-to ::127.0.0.1: " in command
    assert command.count("curl ") == 1
    assert "-o /dev/null 'http://x.localhost:30005/{a}[1]'" in command


def test_route_status_command_is_valid_shell() -> None:
    command = RouteStatus().command(urls=(URL, "http://x/it's;$(id)"))
    assert subprocess.run(["sh", "-n", "-c", command], check=False).returncode == 0


def test_a_container_removed_between_listing_and_inspecting_is_absent(stub_docker: StubDocker) -> None:
    """Docker's "No such container" is read as absent: a pod deleted meanwhile is not a Docker failure."""
    stub_docker.answer("ps", "-aq", stdout="5f0c\n6a1d\n")
    stub_docker.answer("inspect", rc=1, stdout=inspect_line() + "\n", stderr="Error: No such container: 6a1d\n")
    result = stub_docker.run(["sh", "-c", pod_states_command()])
    assert list(parse_pod_states(result.stdout.decode().splitlines()).containers) == ["demo"]


def test_pod_states_read_the_runtimes_registered_for_runsc() -> None:
    assert parse_pod_states(OUTPUT).gvisor_runtimes == frozenset({"runsc", "runsc-kvm"})


def test_pod_states_trust_no_runtime_when_daemon_json_is_broken() -> None:
    broken = [*OUTPUT[: OUTPUT.index("#pinacle:daemon") + 1], "{not json"]
    assert parse_pod_states(broken).gvisor_runtimes == frozenset()
