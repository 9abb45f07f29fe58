"""Progress events: stamped with the time since the call began, dropped when nobody listens."""

from __future__ import annotations

from pinacle.progress import Progress, ProgressEvent, silent


def test_progress_hands_stamped_events_to_its_callback() -> None:
    seen: list[ProgressEvent] = []
    progress = Progress(seen.append)
    progress("wait", "waiting for services of demo on @local", "demo", "@local")
    progress("healthy", "app is healthy (HTTP 200)", "demo", "@local")
    assert [(e.step, e.pod, e.host) for e in seen] == [("wait", "demo", "@local"), ("healthy", "demo", "@local")]
    assert 0 <= seen[0].elapsed <= seen[1].elapsed


def test_silent_progress_accepts_events() -> None:
    silent()("read", "reading @local")
