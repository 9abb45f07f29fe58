"""PodManager's pure parts: pods from every kind of source, per-pod locks, defaults."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from pinacle import PodManager, PodNotFound, PodSpec, ProgressEvent, SpecError, api
from pinacle.app import move as move_cases
from pinacle.progress import Progress


def test_pods_from_a_spec_a_mapping_and_a_file_plan_alike(tmp_path: Path) -> None:
    path = tmp_path / "pod.yaml"
    path.write_text("name: Demo\nslug: demo\nservices: [web-terminal]\n")
    data = {"name": "Demo", "slug": "demo", "services": ["web-terminal"]}
    manager = PodManager("@local")
    plans = [manager._plans([source])[0] for source in (PodSpec.model_validate(data), data, path, str(path))]
    assert len({plan.config_files["/etc/pinacle/router/pod.conf"] for plan in plans}) == 1


def test_a_bad_mapping_is_a_spec_error_naming_the_field() -> None:
    with pytest.raises(SpecError, match="slug"):
        PodManager("@local")._plans([{"name": "x", "slug": "Not A Slug"}])


def test_the_same_slug_twice_in_one_call_is_a_spec_error() -> None:
    spec = PodSpec(name="Demo", slug="demo", services=["web-terminal"])
    with pytest.raises(SpecError, match="same slug twice"):
        PodManager("@local")._plans([spec, spec])


def test_default_target_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINACLE_INVENTORY", "inventory/dev.py")
    assert PodManager().target == "inventory/dev.py"


def hold(manager: PodManager, slug: str, seconds: float, spans: list[tuple[float, float]]) -> None:
    with manager._locked(slug):
        start = time.monotonic()
        time.sleep(seconds)
        spans.append((start, time.monotonic()))


def run_both(first: tuple[PodManager, str], second: tuple[PodManager, str]) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    threads = [threading.Thread(target=hold, args=(*pair, 0.2, spans)) for pair in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(spans)


def test_the_same_pod_is_locked_across_managers_of_one_target() -> None:
    (_a_start, a_end), (b_start, _b_end) = run_both((PodManager("@local"), "demo"), (PodManager("@local"), "demo"))
    assert b_start >= a_end


def test_different_pods_do_not_wait_for_each_other() -> None:
    manager = PodManager("@local")
    (_a_start, a_end), (b_start, _b_end) = run_both((manager, "one"), (manager, "two"))
    assert b_start < a_end


def held_elsewhere(target: str, slug: str) -> bool:
    """Whether some other thread holds the per-pod lock of ``slug`` now."""
    free: list[bool] = []

    def probe() -> None:
        lock = api._pod_lock(target, slug)
        free.append(lock.acquire(blocking=False))
        if free[-1]:
            lock.release()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return not free[0]


def test_move_holds_the_pods_lock_and_passes_the_managers_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[ProgressEvent] = []
    calls: list[tuple[object, ...]] = []

    def fake_move(target: str, slug: str, to: str, timeout: float, progress: Progress) -> list[str]:
        calls.append((target, slug, to, timeout, held_elsewhere(target, slug)))
        progress("move", f"carrying {slug}", slug, to)
        return [f"{slug} on {to}"]

    monkeypatch.setattr(move_cases, "move", fake_move)
    manager = PodManager("inventory/fleet-test.py", timeout=42, progress=seen.append)
    assert manager.move("demo", to="fleet-host2") == "demo on fleet-host2"  # the one record, not a list
    assert calls == [("inventory/fleet-test.py", "demo", "fleet-host2", 42, True)]
    assert [(e.step, e.pod, e.host) for e in seen] == [("move", "demo", "fleet-host2")]
    mine: list[ProgressEvent] = []
    manager.move("demo", to="fleet-host3", timeout=7, progress=mine.append)
    assert calls[-1][3] == 7 and len(mine) == 1 and len(seen) == 1  # a call's own replace the manager's


def test_a_move_that_leaves_no_record_is_pod_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(move_cases, "move", lambda *args: [])
    with pytest.raises(PodNotFound, match="no pod demo"):
        PodManager("inventory/fleet-test.py").move("demo", to="fleet-host2")


def test_drain_moves_each_pod_under_its_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[object, ...]] = []

    def fake_drain(
        target: str,
        host: str,
        timeout: float,
        progress: Progress,
        lock: Callable[[str], AbstractContextManager[object]],
    ) -> list[str]:
        with lock("one"):
            calls.append((target, host, timeout, held_elsewhere(target, "one"), held_elsewhere(target, "two")))
        return ["one on fleet-host1"]

    monkeypatch.setattr(move_cases, "drain", fake_drain)
    manager = PodManager("inventory/fleet-test.py", timeout=42)
    assert manager.drain("fleet-host2") == ["one on fleet-host1"]
    assert calls == [("inventory/fleet-test.py", "fleet-host2", 42, True, False)]


def test_undrain_is_the_use_case(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(move_cases, "undrain", lambda target, host: calls.append((target, host)))
    assert PodManager("inventory/fleet-test.py").undrain("fleet-host2") is None
    assert calls == [("inventory/fleet-test.py", "fleet-host2")]
