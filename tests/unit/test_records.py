"""The typed records: read-only, and one JSON shape each."""

from __future__ import annotations

import dataclasses
import json

import pytest

from pinacle.pod.diff import Action, Change
from pinacle.records import (
    DoctorCheck,
    ExecResult,
    HostReport,
    PlannedChange,
    PodPlanResult,
    PodRollout,
    PodStatus,
    ServiceStatus,
    frozen_mapping,
)


def status(**fields: object) -> PodStatus:
    values: dict[str, object] = {
        "host": "@local", "slug": "demo", "name": "Demo", "state": "running", "status": "running",
        "exit_code": 0, "restart_count": 0, "host_port": 30000, "image": "pinacle/base:latest",
        "runtime": "runsc", "created": "2026-01-01T00:00:00Z", "age_seconds": 5, "healthy": True,
        "services": (
            ServiceStatus("web-terminal", 7681, 200, True, "http://t/"),
            ServiceStatus("app", 3000, None, None, None),
        ),
    }  # fmt: skip
    values.update(fields)
    return PodStatus(**values)  # type: ignore[arg-type]


def test_pod_status_urls_skip_services_without_a_url() -> None:
    assert dict(status().urls) == {"web-terminal": "http://t/"}


def test_pod_status_service_by_name() -> None:
    assert status().service("app").port == 3000
    with pytest.raises(KeyError, match="no service nope"):
        status().service("nope")


def test_pod_status_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        status().state = "stopped"  # type: ignore[misc]


def test_frozen_mapping_cannot_be_changed() -> None:
    urls = frozen_mapping({"a": "b"})
    with pytest.raises(TypeError):
        urls["a"] = "c"  # type: ignore[index]


def test_rollout_json_is_plain_data() -> None:
    rollout = PodRollout("@local", "demo", 30000, frozen_mapping({"app": "http://a/"}), 3)
    assert json.loads(json.dumps(rollout.to_json())) == {
        "host": "@local", "slug": "demo", "host_port": 30000, "urls": {"app": "http://a/"}, "changes": 3,
    }  # fmt: skip


def test_planned_change_describes_itself_as_the_dry_run_does() -> None:
    change = Change("network pinacle-demo", Action.CREATE)
    assert PlannedChange is Change  # the diff's own record, not a copy of it
    assert change.describe() == change.describe(dry_run=True) == "Would create network pinacle-demo"


def test_plan_result_is_pending_when_any_change_is() -> None:
    noop = PlannedChange("network pinacle-demo", Action.NOOP)
    assert not PodPlanResult("@local", "demo", 30000, (noop,)).pending
    result = PodPlanResult("@local", "demo", 30000, (noop, PlannedChange("router config", Action.UPDATE)))
    assert result.pending and result.to_json()["changes"][1]["action"] == "update"


def test_host_report_fails_on_any_failed_check() -> None:
    assert HostReport("h", (DoctorCheck("docker", "ok", "up"), DoctorCheck("ports", "warn", "few"))).ok
    assert not HostReport("h", (DoctorCheck("docker", "fail", "down"),)).ok


def test_exec_result_ok_is_exit_code_zero() -> None:
    assert ExecResult(0, "", "").ok and not ExecResult(1, "", "").ok
