"""The hostile corpus keeps a tally; the session ends by printing it (the README's table)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

TALLY: Counter[str] = Counter()
"""tried, refused, accepted-and-safe, leaked: one count per hostile pod file."""


@pytest.fixture
def tally() -> Counter[str]:
    return TALLY


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if TALLY["tried"]:
        terminalreporter.write_line(
            "hostile pod files: tried {tried}, refused {refused}, accepted-and-safe {accepted-and-safe}, "
            "leaked {leaked}".format(**{key: TALLY[key] for key in ("tried", "refused", "accepted-and-safe", "leaked")})
        )
