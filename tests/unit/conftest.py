"""Fixtures shared by the unit tests: pod files written to a temporary directory."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

WritePod = Callable[..., Path]


@pytest.fixture
def write_pod(tmp_path: Path) -> WritePod:
    """Write a (dedented) pod file and return its path; ``name`` picks the file name."""

    def write(text: str, name: str = "pod.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write
