"""Progress of a long call (a rollout, a start, a restore) as events: the CLI prints them as its
``==>`` lines, a web backend forwards them to its UI. Pure; no pyinfra import."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a call.

    + step: what kind of step: ``read``, ``apply``, ``retry``, ``wait``, ``healthy``, ``start``,
      ``snapshot``, ``restore``, ``move``, ``drain``
    + message: the line the CLI prints for it
    + pod: the slug it concerns, or None for the whole target
    + host: the host it concerns, or None
    + elapsed: seconds since the call began
    """

    step: str
    message: str
    pod: str | None = None
    host: str | None = None
    elapsed: float = 0.0


ProgressCallback = Callable[[ProgressEvent], None]


class Progress:
    """Stamps events with the time since it was made and hands them to ``callback`` (if any)."""

    def __init__(self, callback: ProgressCallback | None = None) -> None:
        self.callback = callback
        self.start = time.monotonic()

    def __call__(self, step: str, message: str, pod: str | None = None, host: str | None = None) -> None:
        if self.callback is not None:
            self.callback(ProgressEvent(step, message, pod, host, time.monotonic() - self.start))


def silent() -> Progress:
    return Progress(None)
