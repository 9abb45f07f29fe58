"""A web backend calls the API from several worker threads: calls for different pods run side by
side, calls for the same pod one after another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.integration.api.conftest import new_slug, terminal_spec

from pinacle import PodManager, PodRollout, ProgressEvent


def timed(call: Callable[[], Any]) -> Callable[[], tuple[float, float, Any]]:
    def run() -> tuple[float, float, Any]:
        start = time.monotonic()
        result = call()
        return start, time.monotonic(), result

    return run


def test_two_pods_are_created_side_by_side_from_two_threads(cleanup: list[str]) -> None:
    first, second = new_slug("api-th"), new_slug("api-th")
    cleanup += [first, second]
    managers = [PodManager("@local", timeout=120), PodManager("@local", timeout=120)]
    barrier = threading.Barrier(2)

    def create(manager: PodManager, slug: str) -> Callable[[], tuple[float, float, Any]]:
        def call() -> PodRollout:
            barrier.wait()
            return manager.create(terminal_spec(slug))

        return timed(call)

    with ThreadPoolExecutor(2) as pool:
        a, b = (f.result() for f in [pool.submit(create(managers[0], first)), pool.submit(create(managers[1], second))])
    (a_start, a_end, a_rollout), (b_start, b_end, b_rollout) = a, b
    assert a_start < b_end and b_start < a_end, "the two creates ran one after the other"
    assert a_rollout.host_port != b_rollout.host_port
    assert managers[0].status(first).healthy and managers[0].status(second).healthy


def test_two_applies_of_the_same_pod_from_two_threads_run_one_after_the_other(cleanup: list[str]) -> None:
    slug = new_slug("api-th")
    cleanup.append(slug)
    manager = PodManager("@local", timeout=120)
    barrier = threading.Barrier(2)
    seen: dict[str, list[tuple[float, ProgressEvent]]] = {"a": [], "b": []}

    def apply(name: str) -> PodRollout:
        barrier.wait()
        (rollout,) = manager.apply(
            terminal_spec(slug), progress=lambda event: seen[name].append((time.monotonic(), event))
        )
        return rollout

    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(apply, "a"), pool.submit(apply, "b")
        rollouts = {"a": a.result(), "b": b.result()}
    first, second = sorted(seen, key=lambda name: seen[name][0][0])
    # The second call read the host only after the first had finished: it found nothing to do.
    assert seen[second][0][0] > seen[first][-1][0]
    assert (rollouts[first].changes > 0, rollouts[second].changes) == (True, 0)
    assert rollouts[first].host_port == rollouts[second].host_port
