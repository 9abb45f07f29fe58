"""pinacle.doctor_checks: address pools, port range and snapshot visibility, as plain asserts."""

from __future__ import annotations

import pytest

from pinacle.doctor_checks import level, pool_capacity, ports_in_range, snapshot_visibility


def test_pool_capacity_and_levels() -> None:
    assert pool_capacity([{"base": "10.200.0.0/14", "size": 24}]) == 1024
    assert pool_capacity(None) == 16 + 16  # Docker's built-in pools
    assert level(1, 10) == "ok" and level(8, 10) == "warn" and level(10, 10) == "fail"
    assert ports_in_range([30000, 30001, 22, 30001], (30000, 40000)) == 2


def test_snapshots_see_rootfs_writes_when_the_overlay_is_off() -> None:
    daemon = {"runtimes": {"runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host", "--overlay2=none"]}}}
    assert snapshot_visibility(daemon, "runsc") == (
        "ok",
        "runsc runs with --overlay2=none: snapshots see root filesystem writes",
    )


@pytest.mark.parametrize("args", [[], ["--overlay2=root:self"], ["--overlay2=none", "--overlay2=root:memory"]])
def test_snapshots_miss_rootfs_writes_with_the_overlay_on(args: list[str]) -> None:
    daemon = {"runtimes": {"runsc": {"path": "/usr/local/bin/runsc", "runtimeArgs": args}}}
    level_, message = snapshot_visibility(daemon, "runsc") or ("", "")
    assert level_ == "warn" and "miss root filesystem writes" in message


def test_snapshot_visibility_is_unknown_for_a_runtime_not_in_daemon_json() -> None:
    assert snapshot_visibility({}, "runsc") is None
