"""``pinacle``'s group: which target a subcommand names, read before the subcommand is imported."""

from __future__ import annotations

import pytest

from pinacle.cli.main import target_of


@pytest.mark.parametrize(
    ("args", "target"),
    [
        ([], None),
        (["--json"], None),
        (["-i", "@local"], "@local"),
        (["--json", "-i", "inventory/dev.py"], "inventory/dev.py"),
        (["--inventory", "lima"], "lima"),
        (["--inventory=@ssh/host"], "@ssh/host"),
        (["-i@local"], "@local"),
        (["web", "-i"], None),
    ],
)
def test_the_target_a_subcommand_names(args: list[str], target: str | None) -> None:
    assert target_of(args) == target
