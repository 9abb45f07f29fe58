"""The snapshot script: quoted, atomic (temporary image, .part archive), cleans up on failure."""

from __future__ import annotations

import shlex

from pinacle.operations.snapshot import dockerfile_label, snapshot_script


def test_dockerfile_label_escapes_quotes() -> None:
    assert dockerfile_label("k", 'a "b" \\c') == 'LABEL k="a \\"b\\" \\\\c"'


def test_snapshot_script_commits_under_a_temporary_name_and_tags_last() -> None:
    labels = {"pinacle.pod": "demo", "pinacle.snapshot.spec": '{"slug": "demo"}', "x": "y"}
    script = snapshot_script("demo", "s1", "runsc", labels, "2025-01-01T00:00:00Z")
    shlex.split(script)  # well-formed quoting
    assert script.index("docker commit") < script.index("mv -f") < script.index("docker tag")
    assert script.rstrip().endswith("pinacle-snapshot/demo:s1")
    assert "pinacle-snapshot-tmp/demo:s1" in script
    assert "trap cleanup EXIT" in script
    assert "--runtime runsc" in script
    assert "x=y" not in script  # only pinacle labels are recorded
