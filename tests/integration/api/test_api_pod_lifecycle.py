"""A pod driven through the public API only: create, read, exec, logs, stop, start, snapshot,
restore, delete, against real Docker and gVisor."""

from __future__ import annotations

import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest
from tests.integration.api.conftest import new_slug, terminal_spec

from pinacle import (
    Action,
    ConflictError,
    ExecResult,
    PodManager,
    PodNotFound,
    PodRollout,
    PodStatus,
    ProgressEvent,
    UsageError,
)


def fetch(url: str, host_port: int) -> int:
    """GET ``url`` through the pod's router on loopback, as a browser resolving *.localhost would."""
    host = urllib.parse.urlsplit(url).hostname
    request = urllib.request.Request(f"http://127.0.0.1:{host_port}/", headers={"Host": f"{host}:{host_port}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        status: int = response.status
        return status


@pytest.fixture(scope="module")
def created() -> Iterator[tuple[PodManager, PodRollout, list[ProgressEvent]]]:
    """One pod for the module's read-mostly tests, made by ``create`` and removed at the end."""
    from tests.integration.conftest import remove_pod_resources

    events: list[ProgressEvent] = []
    manager = PodManager("@local", timeout=120, progress=events.append)
    slug = new_slug("api")
    try:
        yield manager, manager.create(terminal_spec(slug)), events
    finally:
        remove_pod_resources(slug)


def test_create_returns_the_urls_the_router_serves(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    _manager, rollout, _events = created
    assert set(rollout.urls) == {"web-terminal", "app"}
    assert all(fetch(url, rollout.host_port) == 200 for url in rollout.urls.values())


def test_create_reports_progress_events_in_order(
    created: tuple[PodManager, PodRollout, list[ProgressEvent]],
) -> None:
    _manager, rollout, events = created
    steps = [e.step for e in events]
    assert steps[:3] == ["read", "apply", "wait"] and steps.count("healthy") == 2
    assert all(e.pod == rollout.slug for e in events if e.step in ("wait", "healthy"))
    assert [e.elapsed for e in events] == sorted(e.elapsed for e in events)


def test_create_refuses_a_pod_that_exists(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    manager, rollout, _events = created
    with pytest.raises(ConflictError, match="already exists"):
        manager.create(terminal_spec(rollout.slug))


def test_apply_of_the_same_pod_changes_nothing(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    manager, rollout, _events = created
    (again,) = manager.apply(terminal_spec(rollout.slug))
    assert again.changes == 0 and again.host_port == rollout.host_port


def test_plan_of_an_applied_pod_is_not_pending(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    manager, rollout, _events = created
    (result,) = manager.plan(terminal_spec(rollout.slug))
    assert not result.pending and result.host_port == rollout.host_port


def test_plan_of_a_changed_pod_names_what_would_change(
    created: tuple[PodManager, PodRollout, list[ProgressEvent]],
) -> None:
    manager, rollout, _events = created
    (result,) = manager.plan(terminal_spec(rollout.slug, services=[]))
    assert result.pending
    pending = {c.resource: c.action for c in result.changes if c.pending}
    assert pending == {
        "router config": Action.UPDATE,
        "service web-terminal": Action.DELETE,
        f"pod record /var/lib/pinacle/pods/{rollout.slug}.json": Action.UPDATE,
    }


def test_status_is_a_typed_record_with_healthy_services(
    created: tuple[PodManager, PodRollout, list[ProgressEvent]],
) -> None:
    manager, rollout, _events = created
    status = manager.status(rollout.slug)
    assert isinstance(status, PodStatus)
    assert status.running and status.healthy and status.runtime == "runsc"
    assert status.service("app").http_status == 200
    assert status.to_json()["services"][0]["healthy"] is True


def test_list_pods_includes_the_pod(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    manager, rollout, _events = created
    assert rollout.slug in [p.slug for p in manager.list_pods(health=False)]


def test_exec_runs_as_dev_in_the_workspace_with_stdin(
    created: tuple[PodManager, PodRollout, list[ProgressEvent]],
) -> None:
    manager, rollout, _events = created
    result = manager.exec(rollout.slug, ["sh", "-c", "cat > note.txt; id -un; pwd; wc -c < note.txt"], stdin="hello")
    assert result == ExecResult(0, "dev\n/workspace\n5\n", "")


def test_exec_streams_stdout_and_stderr_lines(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    manager, rollout, _events = created
    seen: list[tuple[str, str]] = []
    result = manager.exec(
        rollout.slug, ["sh", "-c", "echo one; echo two >&2; exit 3"], on_output=lambda *line: seen.append(line)
    )
    assert result.exit_code == 3 and not result.ok
    assert sorted(seen) == [("stderr", "two\n"), ("stdout", "one\n")]


def test_exec_as_root(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    manager, rollout, _events = created
    assert manager.exec(rollout.slug, ["id", "-u"], root=True).stdout == "0\n"


def test_logs_yield_the_service_log(created: tuple[PodManager, PodRollout, list[ProgressEvent]]) -> None:
    manager, rollout, _events = created
    lines = list(manager.logs(rollout.slug, "web-terminal", lines=50))
    assert any("Listening on port: 7681" in line for line in lines)


def test_logs_of_an_unknown_service_is_a_usage_error(
    created: tuple[PodManager, PodRollout, list[ProgressEvent]],
) -> None:
    manager, rollout, _events = created
    with pytest.raises(UsageError, match="no service 'nope'") as raised:
        manager.logs(rollout.slug, "nope")
    assert raised.value.exit_code == 64


def test_stop_then_start_brings_the_services_back(manager: PodManager, cleanup: list[str]) -> None:
    slug = new_slug("api-ss")
    cleanup.append(slug)
    rollout = manager.create(terminal_spec(slug))
    assert manager.stop(slug) is True
    assert manager.stop(slug) is False  # already stopped: nothing to do
    assert manager.status(slug).state == "stopped"
    started = manager.start(slug)
    assert started.healthy and started.host_port == rollout.host_port


def test_snapshot_and_restore_carry_the_workspace(manager: PodManager, cleanup: list[str]) -> None:
    slug, copy, name = new_slug("api-sn"), new_slug("api-cp"), new_slug("api-snap")
    cleanup += [slug, copy, f"snapshot:{name}"]
    manager.create(terminal_spec(slug))
    manager.exec(slug, ["sh", "-c", "echo kept > kept.txt"])
    snap = manager.snapshot(slug, name)
    assert snap.name == name and snap.source_slug == slug and snap.size_bytes > 0
    assert name in [s.name for s in manager.list_snapshots()]
    restored = manager.restore(name, copy)
    assert restored.slug == copy and restored.healthy
    assert manager.exec(copy, ["cat", "kept.txt"]).stdout == "kept\n"
    with pytest.raises(ConflictError, match="image of pod"):
        manager.delete_snapshot(name)  # the copy runs from it
    assert manager.delete(copy, purge=True)
    assert manager.delete_snapshot(name) is True


def test_delete_removes_the_pod(manager: PodManager, cleanup: list[str]) -> None:
    slug = new_slug("api-del")
    cleanup.append(slug)
    manager.create(terminal_spec(slug))
    assert manager.delete(slug, purge=True) is True
    with pytest.raises(PodNotFound):
        manager.status(slug)
    assert manager.delete(slug) is False
