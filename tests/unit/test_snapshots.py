"""pinacle.snapshots: snapshot names and the pod file a snapshot restores to."""

from __future__ import annotations

import json

import pytest

from pinacle.errors import SpecError
from pinacle.pod.report import spec_from_data, with_record
from pinacle.pod.restoring import RESTORE_DIR, RestoreMarker
from pinacle.snapshots import (
    COMPLETE,
    IN_PROGRESS,
    INCOMPLETE,
    SECTION,
    SNAPSHOT_DIR,
    SnapshotRecord,
    check_snapshot_name,
    held_lock_names,
    parse_snapshot_states,
    program_commands,
    snapshot_manifest_text,
    snapshot_spec_data,
)
from tests.unit.pod.test_report import CUSTOM_SPEC, host_record, record


def test_snapshot_spec_keeps_limits_and_pod_env_only() -> None:
    rec = record(cpus=0.5, memory_mb=512, env=("PATH=/bin", "FOO=bar", "PINACLE_X=1"))
    data = snapshot_spec_data(rec, {}, ["PATH=/bin"])
    assert data["resources"] == {"cpus": 0.5, "memory": 512}
    assert data["env"] == {"FOO": "bar"}


def test_program_commands_undo_supervisor_escaping() -> None:
    lines = ["/etc/pinacle/supervisor/app.conf:command=echo 100%% done", "junk"]
    assert program_commands(lines) == {"app": "echo 100% done"}


def test_snapshot_names() -> None:
    assert check_snapshot_name("demo-20250101-000000") == "demo-20250101-000000"
    with pytest.raises(SpecError):
        check_snapshot_name("Bad Name")


def test_snapshot_keeps_the_pod_file_except_its_fixed_host_port() -> None:
    rec = with_record(record(), host_record(CUSTOM_SPEC))
    restored = spec_from_data(snapshot_spec_data(rec, {}, []), slug="copy", image="pinacle-snapshot/demo:s1")
    assert restored.host_port is None
    assert restored.default_port == 3000 and restored.ports == CUSTOM_SPEC.ports and restored.env == {"FOO": "bar"}


# -- manifests, states, restore markers --------------------------------------------------------

AWKWARD_SPEC = {
    "name": 'rel data $HOME test "q" \\ ü ☃',
    "env": {"A": "$(id) `x` ${PATH}", "B": 'say "hi"\nline two\\n', "C": "日本 🚀"},
    "ports": [{"name": "app", "port": 3000, "command": "sh -c 'echo \"$HOME\" 100%'"}],
}


def manifest_line(name: str, spec: dict[str, object] | None = None) -> str:
    text = snapshot_manifest_text(name, "demo", "2025-01-01T00:00:00Z", spec or AWKWARD_SPEC, {"pinacle.pod": "demo"})
    return f"{SNAPSHOT_DIR}/{name}.json:{text.rstrip()}"


def image_line(name: str, tags: list[str], **labels: str) -> str:
    data = {
        "id": "sha256:" + "ab" * 32,
        "tags": tags,
        "created": "2025-01-01T00:00:01.5Z",
        "size": 2048,
        "labels": {"pinacle.snapshot.name": name, "pinacle.snapshot.of": "demo", **labels},
    }
    return json.dumps(data)


def states(**sections: list[str]) -> dict[str, SnapshotRecord]:
    lines = []
    for section, body in sections.items():
        lines += [SECTION + section.replace("_", "-"), *body]
    return {s.name: s for s in parse_snapshot_states(lines).snapshots}


def test_the_manifest_keeps_the_pod_file_byte_for_byte_on_one_ascii_line() -> None:
    text = snapshot_manifest_text("s1", "demo", "2025-01-01T00:00:00Z", AWKWARD_SPEC, {"pinacle.pod": "demo", "x": "y"})
    assert text.endswith("\n") and "\n" not in text[:-1] and text.isascii()
    found = states(images=[image_line("s1", ["pinacle-snapshot/demo:s1"])], files=["s1.tar", "s1.json"],
                   manifests=[manifest_line("s1")])  # fmt: skip
    assert found["s1"].spec_data() == AWKWARD_SPEC
    assert json.loads(text)["labels"] == {"pinacle.pod": "demo"}


def test_a_snapshot_with_image_archive_and_manifest_is_complete() -> None:
    found = states(images=[image_line("s1", ["pinacle-snapshot/demo:s1"])], files=["s1.tar", "s1.json"],
                   manifests=[manifest_line("s1")])  # fmt: skip
    snap = found["s1"]
    assert (snap.state, snap.leftovers, snap.image, snap.source, snap.size) == (
        COMPLETE, (), "pinacle-snapshot/demo:s1", "demo", 2048,
    )  # fmt: skip


def test_a_snapshot_taken_before_manifests_is_complete_with_its_label() -> None:
    legacy = image_line("old", ["pinacle-snapshot/demo:old"], **{"pinacle.snapshot.spec": json.dumps({"slug": "demo"})})
    snap = states(images=[legacy], files=["old.tar"])["old"]
    assert snap.state == COMPLETE and snap.spec_data() == {"slug": "demo"}


def test_what_a_killed_snapshot_left_is_an_incomplete_snapshot_with_each_leftover_named() -> None:
    found = states(
        images=[image_line("s2", ["pinacle-snapshot-tmp/demo:s2"])],
        files=["s2.tar.part", "s2.json.part"],
        helpers=["s2"],
    )
    snap = found["s2"]
    assert snap.state == INCOMPLETE and snap.source == "demo"
    assert snap.leftovers == (
        "temporary image pinacle-snapshot-tmp/demo:s2",
        f"partial file {SNAPSHOT_DIR}/s2.tar.part",
        f"partial file {SNAPSHOT_DIR}/s2.json.part",
        "helper container pinacle-snapshot.s2",
    )
    # A final image without its manifest (killed after the tag) is no snapshot either.
    tagged = states(images=[image_line("s3", ["pinacle-snapshot/demo:s3"])], files=["s3.tar"])["s3"]
    assert tagged.state == INCOMPLETE
    assert tagged.leftovers == ("image pinacle-snapshot/demo:s3", f"archive {SNAPSHOT_DIR}/s3.tar")


def test_stray_leftovers_beside_a_complete_snapshot_are_named_and_it_stays_complete() -> None:
    dangling = json.dumps({"id": "sha256:" + "cd" * 32, "tags": None, "labels": {"pinacle.snapshot.name": "s1"}})
    found = states(images=[image_line("s1", ["pinacle-snapshot/demo:s1"]), dangling], files=["s1.tar", "s1.json"],
                   manifests=[manifest_line("s1")])  # fmt: skip
    assert found["s1"].state == COMPLETE
    assert found["s1"].leftovers == ("untagged image " + "cd" * 6,)


def test_a_name_whose_lock_is_held_is_in_progress_and_images_of_other_repositories_are_not_ours() -> None:
    found = states(
        images=[image_line("s4", ["someone/else:built-from-a-snapshot"])],
        locks=["fe:0:1234 /run/pinacle/snapshot-s4.lock", "fe:0:99 /run/pinacle/snapshot-idle.lock"],
        proc_locks=["1: FLOCK  ADVISORY  WRITE 7591 fe:00:1234 0 EOF", "2: POSIX  ADVISORY  WRITE 1 fe:00:99 0 EOF"],
    )
    assert set(found) == {"s4"}
    assert found["s4"].state == IN_PROGRESS and found["s4"].leftovers == ()


def test_held_lock_names_match_device_and_inode() -> None:
    stats = ["fe:0:1234 /run/pinacle/snapshot-a.lock", "8:1:1234 /run/pinacle/snapshot-b.lock"]
    assert held_lock_names(stats, ["1: FLOCK  ADVISORY  WRITE 7 fe:00:1234 0 EOF"]) == {"a"}


def test_a_docker_failure_while_reading_snapshots_is_an_error_not_an_empty_host() -> None:
    with pytest.raises(ValueError, match="Cannot connect"):
        parse_snapshot_states([SECTION + "images", SECTION + "error docker: Cannot connect to the Docker daemon"])
    with pytest.raises(ValueError, match="permission denied"):
        parse_snapshot_states([SECTION + "images", "permission denied while trying to connect"])
    assert parse_snapshot_states([SECTION + "images", "Error: No such image: abc"]).snapshots == ()


def test_restore_markers_round_trip_and_damaged_ones_are_ignored() -> None:
    marker = RestoreMarker("copy", "s1", 30005)
    assert RestoreMarker.from_json(marker.to_json()) == marker
    assert RestoreMarker.from_json("{not json") is None
    read = parse_snapshot_states(
        [
            SECTION + "restores",
            f"{RESTORE_DIR}/copy.json:{marker.to_json().strip()}",
            f"{RESTORE_DIR}/other.json:{marker.to_json().strip()}",  # names another pod: ignored
        ]
    )
    assert read.restores == {"copy": marker}
