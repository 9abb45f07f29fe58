"""``drain``'s loop: each pod of the drained host moved to the host placement picks, under the
caller's per-pod lock, until none is left (the host reads and the moves faked)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from pinacle.app import move as move_case


def test_drain_moves_each_pod_under_the_callers_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    on_host = ["alpha", "beta"]  # the drained host's pods, as its engine lists them
    held: list[str] = []
    events: list[str] = []

    @contextmanager
    def session(target: str) -> Iterator[Any]:
        yield SimpleNamespace(target=target)

    @contextmanager
    def lock(slug: str) -> Iterator[None]:
        held.append(slug)
        yield
        held.remove(slug)

    def pods(session: Any) -> list[tuple[Any, Any]]:
        return [(SimpleNamespace(name="h3"), SimpleNamespace(slug=slug)) for slug in on_host]

    def move(target: str, slug: str, to: str, timeout: float, progress: Any) -> list[str]:
        events.append(f"move {slug} to {to} holding {held}")
        on_host.remove(slug)
        return [f"{slug} on {to}"]

    monkeypatch.setattr(move_case, "_mark_drained", lambda target, host, drained: events.append(f"drained {drained}"))
    monkeypatch.setattr(move_case.executor, "session", session)
    monkeypatch.setattr(move_case, "_host_named", lambda session, name: None)
    monkeypatch.setattr(move_case, "read_fleet", lambda session: ((), [SimpleNamespace(name=n) for n in ("h1", "h3")]))
    monkeypatch.setattr(move_case.pod_cases, "pods", pods)
    monkeypatch.setattr(move_case, "spec_of", lambda record: record.slug)
    monkeypatch.setattr(move_case, "choose_host", lambda spec, members: SimpleNamespace(host="h1", reason="room"))
    monkeypatch.setattr(move_case, "move", move)
    assert move_case.drain("fleet.py", "h3", 60.0, lock=lock) == ["alpha on h1", "beta on h1"]
    assert events == ["drained True", "move alpha to h1 holding ['alpha']", "move beta to h1 holding ['beta']"]
    assert held == []
