"""pinacle.pod.report: labels and host records to pod records, specs, plans and JSON."""

from __future__ import annotations

from datetime import UTC, datetime

from pinacle.pod.desired import plan_pod, pod_routes
from pinacle.pod.diff import desired_record
from pinacle.pod.observed import ContainerRecord, ObservedPod, PodRecord
from pinacle.pod.report import (
    age,
    domain_of,
    human_age,
    parse_routes,
    plan_from_container,
    pod_record,
    spec_data_from_labels,
    spec_from_data,
    spec_of,
    with_record,
)
from pinacle.pod.settings import DeploySettings
from pinacle.spec import AppPortSpec, PodSpec

LABELS = {
    "pinacle.pod": "demo",
    "pinacle.port": "30005",
    "pinacle.name": "Demo",
    "pinacle.domain": "localhost",
    "pinacle.routes": "web-terminal:7681,app:3000",
    "pinacle.services": "web-terminal,app",
}


def record(**kwargs: object) -> ContainerRecord:
    base: dict[str, object] = {
        "name": "pinacle-demo", "id": "abc", "status": "running", "exit_code": 0,
        "restart_count": 0, "created": "2025-01-01T00:00:00.123456789Z",
        "image": "pinacle/base:latest", "runtime": "runsc", "labels": LABELS,
    }  # fmt: skip
    base.update(kwargs)
    return ContainerRecord(**base)  # type: ignore[arg-type]


def test_parse_routes() -> None:
    assert parse_routes("web-terminal:7681,app:3000") == [("web-terminal", 7681), ("app", 3000)]
    assert parse_routes("") == []
    assert parse_routes("bad,x:y,ok:1") == [("ok", 1)]


def test_spec_from_labels_splits_services_and_ports() -> None:
    data = spec_data_from_labels(LABELS, "img:1", "runsc", {"app": "python3 -m http.server 3000"})
    assert data["services"] == ["web-terminal"]
    assert data["ports"] == [{"name": "app", "port": 3000, "command": "python3 -m http.server 3000"}]
    spec = spec_from_data(data)
    assert spec.slug == "demo" and spec.image == "img:1"


def test_plan_from_container_rebuilds_urls() -> None:
    plan = plan_from_container(record())
    assert plan.urls(30005)["app"] == "http://localhost-3000.pod-demo.localhost:30005/"


def test_pod_record_shape_and_states() -> None:
    now = datetime(2025, 1, 1, 0, 1, 0, tzinfo=UTC)
    out = pod_record(record(), "@local", {"web-terminal": 200, "app": 502}, now)
    assert out.age_seconds == 60
    assert out.healthy is False
    assert [s.healthy for s in out.services] == [True, False]
    stopped = pod_record(record(status="exited", exit_code=0), "@local", None, now)
    assert stopped.state == "stopped" and stopped.healthy is None
    assert record(status="exited", exit_code=137).state == "exited (137)"


def test_pod_record_json_keeps_the_documented_shape() -> None:
    now = datetime(2025, 1, 1, 0, 1, 0, tzinfo=UTC)
    out = pod_record(record(), "@local", {"web-terminal": 200, "app": 502}, now).to_json()
    assert list(out) == [
        "host", "slug", "name", "state", "status", "exit_code", "restart_count", "host_port",
        "image", "runtime", "created", "age_seconds", "healthy", "services", "problem",
    ]  # fmt: skip
    assert list(out["services"][0]) == ["name", "port", "http_status", "healthy", "url"]
    assert out["services"][0]["url"] == "http://localhost-7681.pod-demo.localhost:30005/"


def test_age_helpers() -> None:
    assert age("garbage") is None
    assert human_age(None) == "-" and human_age(59) == "59s" and human_age(7200) == "2h"


def host_record(spec: PodSpec, domain: str = "localhost") -> PodRecord:
    """The host record a rollout of ``spec`` writes."""
    return desired_record(plan_pod(spec, DeploySettings(domain=domain)), ObservedPod(), 30005)


def test_the_records_routes_replace_the_creation_time_label() -> None:
    ports = (AppPortSpec(name="app", port=3000), AppPortSpec(name="extra", port=4000))
    spec = PodSpec(name="Demo", slug="demo", services=(), ports=ports)
    live = with_record(record(), host_record(spec))
    assert parse_routes(live.labels["pinacle.routes"]) == [("app", 3000), ("extra", 4000)]
    assert live.labels["pinacle.pod"] == "demo"


def test_the_records_domain_replaces_the_label() -> None:
    live = with_record(record(), host_record(CUSTOM_SPEC, domain="pods.example.com"))
    assert live.labels["pinacle.domain"] == "pods.example.com"


def test_without_a_record_the_labels_stand() -> None:
    assert with_record(record(), None) == record()


def test_a_record_whose_pod_file_no_longer_validates_leaves_the_labels() -> None:
    broken = PodRecord("demo", {"slug": "Not A Slug"}, "localhost", "h", {}, 30005)
    assert with_record(record(), broken) == record()


CUSTOM_SPEC = PodSpec.model_validate(
    {
        "name": "Demo",
        "slug": "demo",
        "services": ["web-terminal"],
        "ports": [{"name": "app", "port": 3000, "command": "serve", "health_path": "/ready"}],
        "default_port": 3000,
        "host_port": 30123,
        "env": {"FOO": "bar"},
    }
)


def test_the_host_record_carries_the_resolved_pod_file() -> None:
    assert PodSpec.model_validate(host_record(CUSTOM_SPEC).spec) == CUSTOM_SPEC


def test_with_record_hands_the_pod_file_to_day_2_commands() -> None:
    assert with_record(record(), host_record(CUSTOM_SPEC)).spec_data == host_record(CUSTOM_SPEC).spec


def test_health_checks_use_the_pod_file_over_labels() -> None:
    spec = spec_of(with_record(record(), host_record(CUSTOM_SPEC)))
    assert [(r.name, r.health_path) for r in pod_routes(spec)] == [("web-terminal", "/"), ("app", "/ready")]
    assert spec.main_port == 3000


def test_a_pod_without_a_host_record_is_rebuilt_from_its_labels() -> None:
    spec = spec_of(record())
    assert (spec.slug, list(spec.services), [p.name for p in spec.ports]) == ("demo", ["web-terminal"], ["app"])


def test_a_pod_without_a_domain_label_has_the_default_domain() -> None:
    labels = {k: v for k, v in LABELS.items() if k != "pinacle.domain"}
    assert domain_of(record(labels={**labels})) == DeploySettings.domain
    assert domain_of(record(labels={**LABELS, "pinacle.domain": "dev.example"})) == "dev.example"
