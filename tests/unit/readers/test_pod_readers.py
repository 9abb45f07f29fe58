"""Pod reads without pyinfra: exact command text, and the parsers on output Docker really prints."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.unit.conftest import StubDocker
from tests.unit.facts.test_pod_facts import IMAGE, IMAGE_ID, OUTPUT, RECORD, inspect_line

from pinacle.errors import HostError
from pinacle.facts.pod import PodContainer, PodObjects, PodStates, RouteStatus
from pinacle.pod.observed import HostPods
from pinacle.readers import pod as readers

FORMAT = readers.CONTAINER_FORMAT


def test_pod_states_command_reads_docker_at_once_then_records_and_ports() -> None:
    # The Docker reads run concurrently, each into its own file; printed in this order.
    assert readers.pod_states_command((IMAGE,)) == (
        "d=$(mktemp -d) || { echo '#pinacle:error host: cannot make a temporary directory'; exit 0; }; "
        "trap 'rm -rf \"$d\"' EXIT; "
        "( echo '#pinacle:containers'; "
        "ids=$(docker ps -aq --filter label=pinacle.pod 2>&1) || "
        '{ printf "#pinacle:error docker: %s\\n" "$ids"; exit 0; }; '
        f"[ -z \"$ids\" ] || docker inspect --type container --format '{FORMAT}' $ids 2>&1 || true ) "
        '>"$d/0" & '
        "( echo '#pinacle:networks'; out=$(docker network ls --filter label=pinacle.pod --format '{{.Name}}' 2>&1) "
        '&& { [ -z "$out" ] || printf "%s\\n" "$out"; } || printf "#pinacle:error networks: %s\\n" "$out" ) '
        '>"$d/1" & '
        "( echo '#pinacle:volumes'; out=$(docker volume ls --filter label=pinacle.pod --format '{{.Name}}' 2>&1) "
        '&& { [ -z "$out" ] || printf "%s\\n" "$out"; } || printf "#pinacle:error volumes: %s\\n" "$out" ) '
        '>"$d/2" & '
        "( echo '#pinacle:image pinacle/base:latest'; "
        "docker image inspect --format '{{.Id}} {{json .Config.Labels}}' pinacle/base:latest 2>&1 || true ) "
        '>"$d/3" & '
        'wait; cat "$d/0" "$d/1" "$d/2" "$d/3"; '
        "echo '#pinacle:records'; grep -H '' /var/lib/pinacle/pods/*.json 2>/dev/null || true; "
        "echo '#pinacle:restores'; grep -H '' /var/lib/pinacle/restores/*.json 2>/dev/null || true; "
        "echo '#pinacle:listening'; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true; "
        "echo '#pinacle:daemon'; cat /etc/docker/daemon.json 2>/dev/null || true"
    )


def test_pod_states_command_quotes_image_names() -> None:
    command = readers.pod_states_command(("it's; $(bad)",))
    assert "echo '#pinacle:image it'\"'\"'s; $(bad)'" in command
    assert subprocess.run(["sh", "-n", "-c", command], check=False).returncode == 0


def test_pod_states_read_and_its_fact_are_one_command_and_one_parser() -> None:
    read = readers.pod_states((IMAGE,))
    assert read.command == PodStates().command(images=(IMAGE,))
    assert read.result(OUTPUT) == PodStates().process(OUTPUT)
    assert read.result([]) == HostPods()
    state = read.result(OUTPUT)
    assert (list(state.containers), state.records, state.images[IMAGE][0]) == (["demo"], {"demo": RECORD}, IMAGE_ID)


def test_pod_states_prints_sections_in_order_whichever_docker_read_ends_first(stub_docker: StubDocker) -> None:
    stub_docker.answer("ps", "-aq", stdout="5f0c\n")
    stub_docker.answer("inspect", "--type container", "5f0c", stdout=inspect_line() + "\n")
    stub_docker.answer("network ls", stdout="pinacle-demo\n")
    stub_docker.answer("volume ls", stdout="pinacle-demo-workspace\n")
    stub_docker.answer("image inspect", IMAGE, stdout=f'{IMAGE_ID} {{"pinacle.services":"web-terminal"}}\n')
    result = stub_docker.run(["sh", "-c", readers.pod_states_command((IMAGE,))])
    lines = result.stdout.decode().splitlines()
    sections = [line for line in lines if line.startswith("#pinacle:")]
    assert sections == [
        "#pinacle:containers",
        "#pinacle:networks",
        "#pinacle:volumes",
        f"#pinacle:image {IMAGE}",
        "#pinacle:records",
        "#pinacle:restores",
        "#pinacle:listening",
        "#pinacle:daemon",
    ]
    assert lines[1] == inspect_line()
    assert lines[lines.index("#pinacle:networks") + 1] == "pinacle-demo"


def test_pod_states_leaves_no_temporary_directory(stub_docker: StubDocker, tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**stub_docker.env, "TMPDIR": str(tmp)}
    done = subprocess.run(["sh", "-c", readers.pod_states_command()], env=env, capture_output=True, check=False)
    assert done.returncode == 0
    assert list(tmp.iterdir()) == []


def test_a_docker_failure_in_one_read_fails_the_whole_read(stub_docker: StubDocker) -> None:
    stub_docker.answer("volume ls", rc=1, stderr="permission denied while trying to connect to the Docker daemon\n")
    result = stub_docker.run(["sh", "-c", readers.pod_states_command()])
    with pytest.raises(HostError, match="volumes: permission denied"):
        readers.pod_states().result(result.stdout.decode().splitlines())


def test_pod_container_read() -> None:
    read = readers.pod_container("pinacle-demo")
    assert read.command == PodContainer().command("pinacle-demo")
    assert read.command == (
        f"out=$(docker inspect --type container --format '{FORMAT}' pinacle-demo 2>&1) "
        '&& printf "%s\\n" "$out" || { case "$out" in *"No such"*) echo absent;; '
        '*) printf "#pinacle:error docker: %s\\n" "$out";; esac; }'
    )
    record = read.result([inspect_line()])
    assert record is not None and record.slug == "demo"
    assert read.result(["absent"]) is None
    assert read.result([]) is None


def test_pod_objects_read() -> None:
    read = readers.pod_objects("demo")
    assert read.command == PodObjects().command("demo")
    assert read.command == (
        "docker ps -a --filter label=pinacle.pod=demo --format 'container {{.Names}}' && "
        "docker ps -a --filter label=pinacle.restore.helper=demo --format 'container {{.Names}}' && "
        "docker network ls --filter label=pinacle.pod=demo --format 'network {{.ID}}' && "
        "docker volume ls --filter label=pinacle.pod=demo --format 'volume {{.Name}}'"
    )
    assert read.result(["container pinacle-demo", "volume pinacle-demo-workspace"]) == {
        "container": ["pinacle-demo"],
        "network": [],
        "volume": ["pinacle-demo-workspace"],
    }
    assert read.result([]) == {"container": [], "network": [], "volume": []}


URL = "http://localhost-7681.pod-demo.localhost:30005/"


def test_route_status_command_asks_for_statuses_only() -> None:
    assert readers.route_status_command([URL]) == (
        "curl -g -s -m 5 --max-filesize 1 --parallel --parallel-max 64 --connect-to ::127.0.0.1: "
        f"-w '%{{http_code}} %{{url}}\\n' -o /dev/null {URL}; true"
    )


def test_route_status_read_parses_curls_lines() -> None:
    read = readers.route_status((URL,))
    assert read.command == RouteStatus().command(urls=(URL,))
    # What curl prints for a page it stopped reading (--max-filesize) and for a refused connection.
    assert read.result([f"200 {URL}", "000 http://localhost-3000.pod-demo.localhost:30005/healthz"]) == {
        URL: 200,
        "http://localhost-3000.pod-demo.localhost:30005/healthz": 0,
    }
    assert read.result([]) == {}


def test_image_sections_read_apart_parse_as_one_read_with_the_images(stub_docker: StubDocker) -> None:
    stub_docker.answer("ps", "-aq", stdout="5f0c\n")
    stub_docker.answer("inspect", "--type container", "5f0c", stdout=inspect_line() + "\n")
    stub_docker.answer("image inspect", IMAGE, stdout=f'{IMAGE_ID} {{"pinacle.services":"web-terminal"}}\n')
    stub_docker.answer("image inspect", "x", rc=1, stderr="Error: No such image: x\n")

    def lines(command: str) -> list[str]:
        return stub_docker.run(["sh", "-c", command]).stdout.decode().splitlines()

    apart = readers.parse_pod_states(
        lines(readers.pod_states_command()) + lines(readers.image_states_command((IMAGE, "x")))
    )
    together = readers.parse_pod_states(lines(readers.pod_states_command((IMAGE, "x"))))
    # (the host's records and listening ports are real, and may change between the two reads)
    assert (apart.containers, apart.networks, apart.volumes, apart.images) == (
        together.containers,
        together.networks,
        together.volumes,
        together.images,
    )
    assert apart.images == {IMAGE: (IMAGE_ID, frozenset({"web-terminal"}))}
