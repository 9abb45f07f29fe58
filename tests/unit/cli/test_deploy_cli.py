"""pinacle-deploy refuses bad pod files before it connects to anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.unit.test_loader import BAD_FILES

from pinacle.cli.deploy import main

# A target that cannot be reached: had the CLI tried to connect, it would fail with exit 3.
UNREACHABLE = "@ssh/unreachable.invalid"


@pytest.mark.parametrize(("text", "path"), [c[1:3] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_pod_file_exits_65_naming_file_and_path_without_connecting(tmp_path: Path, text: str, path: str) -> None:
    pod_file = tmp_path / "bad.yaml"
    pod_file.write_text(text)
    result = CliRunner().invoke(main, [str(pod_file), "-i", UNREACHABLE])
    assert result.exit_code == 65, result.output
    assert str(pod_file) in result.output
    assert path in result.output


def test_missing_pod_file_exits_65(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [str(tmp_path / "nope.yaml"), "-i", UNREACHABLE])
    assert result.exit_code == 65
    assert "nope.yaml" in result.output


def test_schema_is_printed_without_a_pod_file() -> None:
    result = CliRunner().invoke(main, ["--schema"])
    assert result.exit_code == 0
    assert '"slug"' in result.output
