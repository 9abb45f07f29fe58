"""pinacle.pod.observed: the host record round-trips or is refused; what a host shows of pods."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from pinacle.pod.names import LABEL_POD, LABEL_PORT
from pinacle.pod.observed import ContainerRecord, HostPods, ObservedPod, PodRecord, RecordError

RECORD = PodRecord(
    slug="demo",
    spec={"name": "Demo", "slug": "demo", "services": ["web-terminal"]},
    domain="localhost",
    spec_hash="0123456789abcdef",
    config={"/etc/pinacle/router/pod.conf": "a" * 64},
    host_port=30000,
)


def record_data(**overrides: Any) -> str:
    data = json.loads(RECORD.to_json())
    data.update(overrides)
    return json.dumps(data)


def pod_container(slug: str, port: str | None = None, status: str = "running") -> ContainerRecord:
    labels = {LABEL_POD: slug, **({LABEL_PORT: port} if port else {})}
    return ContainerRecord(f"pinacle-{slug}", f"id-{slug}", status, labels=labels)


# --- PodRecord -----------------------------------------------------------------------------------


def test_record_round_trips_through_json() -> None:
    assert PodRecord.from_json(RECORD.to_json()) == RECORD


def test_record_without_a_port_round_trips() -> None:
    record = PodRecord("demo", {}, "localhost", "h", {}, host_port=None)
    assert PodRecord.from_json(record.to_json()) == record


def test_record_json_is_one_versioned_line() -> None:
    text = RECORD.to_json()
    assert text.endswith("\n") and text.count("\n") == 1
    assert json.loads(text)["version"] == 1


@pytest.mark.parametrize("text", ["", "{not json", "demo"])
def test_record_that_is_not_json_is_refused(text: str) -> None:
    with pytest.raises(RecordError, match="not JSON"):
        PodRecord.from_json(text)


@pytest.mark.parametrize("text", ["[1, 2]", "null", record_data(version=2), record_data(version=None)])
def test_record_that_is_not_version_1_is_refused(text: str) -> None:
    with pytest.raises(RecordError, match="not a version 1 pod record"):
        PodRecord.from_json(text)


@pytest.mark.parametrize(
    "overrides",
    [{"spec": "demo"}, {"config": []}, {"slug": 7}, {"domain": None}, {"spec_hash": ["h"]}],
    ids=["spec", "config", "slug", "domain", "spec_hash"],
)
def test_record_field_of_the_wrong_type_is_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(RecordError, match="wrong type"):
        PodRecord.from_json(record_data(**overrides))


def test_record_config_that_is_not_paths_to_digests_is_refused() -> None:
    with pytest.raises(RecordError, match="config must map paths to sha256 digests"):
        PodRecord.from_json(record_data(config={"/etc/pinacle/router/pod.conf": 1}))


@pytest.mark.parametrize("port", ["30000", 0, 65536, -1, True, 3.5])
def test_record_with_a_bad_host_port_is_refused(port: object) -> None:
    with pytest.raises(RecordError, match="host_port must be a port number or null"):
        PodRecord.from_json(record_data(host_port=port))


# --- ContainerRecord -----------------------------------------------------------------------------


def test_container_reads_slug_port_and_hash_from_its_labels() -> None:
    container = ContainerRecord(
        "pinacle-demo", "c0", "running", labels={LABEL_POD: "demo", LABEL_PORT: "30005", "pinacle.spec-hash": "ab"}
    )
    assert (container.slug, container.host_port, container.spec_hash, container.running) == ("demo", 30005, "ab", True)


def test_container_with_a_garbled_port_label_holds_no_port() -> None:
    assert pod_container("demo", port="30o05").host_port is None


@pytest.mark.parametrize(
    ("status", "exit_code", "state"),
    [("exited", 0, "stopped"), ("exited", 143, "stopped"), ("exited", 137, "exited (137)"), ("dead", 0, "dead")],
)
def test_container_state_says_how_it_stopped(status: str, exit_code: int, state: str) -> None:
    assert ContainerRecord("pinacle-demo", "c0", status, exit_code=exit_code).state == state


# --- HostPods ------------------------------------------------------------------------------------


def test_taken_ports_name_the_pod_holding_each() -> None:
    pods = HostPods(containers={"a": pod_container("a", "30000"), "b": pod_container("b", "30001")})
    assert pods.taken_ports() == {30000: "a", 30001: "b"}


def test_taken_ports_count_other_listeners_without_an_owner() -> None:
    assert HostPods(listening=frozenset({22, 30002})).taken_ports() == {22: "", 30002: ""}


def test_a_pods_published_port_belongs_to_the_pod_even_though_it_listens() -> None:
    pods = HostPods(containers={"a": pod_container("a", "30000")}, listening=frozenset({30000}))
    assert pods.taken_ports() == {30000: "a"}


def test_a_port_an_unfinished_restore_keeps_belongs_to_the_pod_being_restored() -> None:
    pods = HostPods(reserved={30003: "restored"}, listening=frozenset({22}))
    assert pods.taken_ports() == {22: "", 30003: "restored"}


def test_a_stopped_pod_still_holds_its_port() -> None:
    pods = HostPods(containers={"a": pod_container("a", "30000", status="exited")})
    assert pods.taken_ports() == {30000: "a"}


def test_a_container_without_a_port_label_takes_no_port() -> None:
    assert HostPods(containers={"a": pod_container("a")}).taken_ports() == {}


def test_observe_picks_out_one_pods_resources() -> None:
    services = frozenset({"web-terminal"})
    pods = HostPods(
        containers={"demo": pod_container("demo", "30000"), "other": pod_container("other", "30001")},
        networks=frozenset({"pinacle-demo", "pinacle-other"}),
        volumes=frozenset({"pinacle-demo-workspace"}),
        images={"pinacle/base:latest": ("sha256:" + "ab" * 32, services)},
        records={"demo": RECORD},
        gvisor_runtimes=frozenset({"runsc"}),
    )
    assert pods.observe("demo", "pinacle/base:latest", "pinacle-demo", "pinacle-demo-workspace") == ObservedPod(
        network=True,
        volume=True,
        container=pod_container("demo", "30000"),
        image_id="sha256:" + "ab" * 32,
        image_services=services,
        record=RECORD,
        gvisor_runtimes=frozenset({"runsc"}),
    )


def test_observe_of_a_pod_the_host_lacks_is_empty() -> None:
    assert HostPods().observe("demo", "pinacle/base:latest", "pinacle-demo", "pinacle-demo-workspace") == (
        ObservedPod(gvisor_runtimes=frozenset())
    )


def test_observe_carries_why_a_record_is_damaged() -> None:
    pods = HostPods(damaged={"demo": "its host record is damaged: not JSON"})
    observed = pods.observe("demo", "img", "pinacle-demo", "pinacle-demo-workspace")
    assert (observed.record, observed.record_error) == (None, "its host record is damaged: not JSON")


def test_a_container_under_a_runtime_the_host_registered_for_runsc_is_sandboxed() -> None:
    pods = HostPods(gvisor_runtimes=frozenset({"runsc"}))
    assert pods.sandboxed(replace(pod_container("demo", "30000"), runtime="runsc"))
    assert pods.problem(replace(pod_container("demo", "30000"), runtime="runsc")) == ""


def test_a_container_under_runc_is_flagged_not_sandboxed() -> None:
    pods = HostPods(gvisor_runtimes=frozenset({"runsc"}))
    impostor = replace(pod_container("demo", "30000"), runtime="runc")
    assert not pods.sandboxed(impostor)
    assert pods.problem(impostor).startswith("NOT SANDBOXED: it runs under runtime runc")
