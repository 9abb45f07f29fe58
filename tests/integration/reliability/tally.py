"""The reliability suite's counts, printed when the session ends (see conftest.py): one module,
imported under one name by the tests and by the conftest hook alike."""

from __future__ import annotations

import collections

TALLY: collections.Counter[str] = collections.Counter()


def tally(outcome: str) -> None:
    """Count one hostile case: ``refused``, ``converged`` or ``leaked``."""
    TALLY["tried"] += 1
    TALLY[outcome] += 1


def summary() -> str:
    return ", ".join(f"{key} {TALLY[key]}" for key in ("tried", "refused", "converged", "leaked"))
