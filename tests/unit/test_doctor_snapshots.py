"""``pinacle doctor``'s snapshot checks: leftovers of interrupted snapshots and restores, with the fix."""

from __future__ import annotations

from pinacle.app.doctor import _snapshot_checks
from pinacle.pod.observed import HostPods
from pinacle.pod.restoring import RestoreMarker
from pinacle.snapshots import COMPLETE, IN_PROGRESS, INCOMPLETE, HostSnapshots, SnapshotRecord


def snap(name: str, state: str, *leftovers: str) -> SnapshotRecord:
    return SnapshotRecord(name, "demo", "", "", 0, state=state, leftovers=leftovers)


def test_incomplete_snapshots_warn_with_the_command_that_removes_them() -> None:
    found = HostSnapshots(
        (
            snap("ok", COMPLETE),
            snap("half", INCOMPLETE, "temporary image pinacle-snapshot-tmp/demo:half"),
            snap("busy", IN_PROGRESS, "partial file x"),
        )
    )
    (check,) = _snapshot_checks(found, HostPods())
    assert (check.name, check.status) == ("snapshot half", "warn")
    assert "pinacle-snapshot-tmp/demo:half" in check.message
    assert "`pinacle snapshot delete half`" in check.fix and "pinacle snapshot prune" in check.fix


def test_an_unfinished_restore_warns_while_something_of_it_is_built() -> None:
    found = HostSnapshots(restores={"copy": RestoreMarker("copy", "s1"), "gone": RestoreMarker("gone", "s1")})
    (check,) = _snapshot_checks(found, HostPods(volumes=frozenset({"pinacle-copy-workspace"})))
    assert check.name == "restore copy" and check.status == "warn"
    assert "no host record" in check.message and "`pinacle restore s1 --as copy`" in check.fix


def test_an_interrupted_replacement_with_nothing_built_warns_of_the_port_it_keeps() -> None:
    found = HostSnapshots(restores={"copy": RestoreMarker("copy", "s1", 30007)})
    (check,) = _snapshot_checks(found, HostPods())
    assert check.status == "warn" and "keeps host port 30007" in check.message
    assert "`pinacle delete copy --purge`" in check.fix
