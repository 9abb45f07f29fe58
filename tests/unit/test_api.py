"""PodManager's pure parts: pods from every kind of source, per-pod locks, defaults."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pinacle import PodManager, PodSpec, SpecError


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
