"""Snapshot operations as data: the host script gets the manifest on stdin, restores are marked and
stream their archive in; nothing of a pod file reaches a shell, a Dockerfile or a mounted directory."""

from __future__ import annotations

import base64
import shlex
from collections.abc import Callable
from typing import Any

from tests.unit.operations.conftest import OpResult
from tests.unit.pod.test_report import record

from pinacle.facts.pod import PodContainer
from pinacle.operations import snapshot as ops
from pinacle.pod.desired import plan_pod
from pinacle.pod.restoring import RestoreMarker
from pinacle.pod.settings import DeploySettings
from pinacle.snapshots import snapshot_manifest_text
from pinacle.spec import PodSpec

AWKWARD = {"name": 'rel data $HOME "q" \\ ü\n', "env": {"A": "$(id) `x` ${PATH} \"'"}}


def test_snapshot_hands_the_manifest_to_the_host_script_on_stdin_as_base64(
    run_operation: Callable[..., OpResult],
) -> None:
    manifest = snapshot_manifest_text("s1", "demo", "2025-01-01T00:00:00Z", AWKWARD, {"pinacle.pod": "demo"})
    result = run_operation(
        ops.pod_snapshot,
        {PodContainer: record()},
        slug="demo",
        snapshot="s1",
        runtime="runsc",
        manifest=manifest,
        created="2025-01-01T00:00:00Z",
    )
    (command,) = result.commands
    words = shlex.split(command)
    assert words[:3] == ["printf", "%s", words[2]]
    assert base64.b64decode(words[2]).decode() == manifest
    assert words[-6:] == [
        "/usr/local/lib/pinacle/pinacle-snapshot", "take", "demo", "s1", "runsc", "2025-01-01T00:00:00Z",
    ]  # fmt: skip
    assert "$HOME" not in command and "LABEL" not in command


def test_snapshot_of_a_pod_not_on_this_host_is_a_noop(check_operation_case: Callable[..., Any]) -> None:
    check_operation_case(
        {
            "op": ops.pod_snapshot,
            "facts": {PodContainer: None},
            "args": {"slug": "demo", "snapshot": "s1", "runtime": "runsc", "manifest": "{}", "created": "x"},
            "noop": "pod demo is not on this host",
        }
    )


def test_delete_and_clean_go_through_the_host_script(run_operation: Callable[..., OpResult]) -> None:
    assert run_operation(ops.snapshot_removed, {}, snapshot="s1").commands == [
        "/usr/local/lib/pinacle/pinacle-snapshot remove s1"
    ]
    assert run_operation(ops.snapshot_cleaned, {}, snapshot="s1").commands == [
        "/usr/local/lib/pinacle/pinacle-snapshot clean s1"
    ]


def test_a_restore_is_marked_root_only_after_its_old_helper_is_removed(run_operation: Callable[..., OpResult]) -> None:
    marker = RestoreMarker("copy", "s1", 30005)
    (command,) = run_operation(ops.restore_started, {}, marker=marker).commands
    assert command.index("docker ps -aq --filter label=pinacle.restore.helper=copy") < command.index("mkdir")
    assert "mkdir -p -m 0700 /var/lib/pinacle/restores" in command
    assert "chmod 0600" in command and "/var/lib/pinacle/restores/copy.json" in command
    assert base64.b64encode(marker.to_json().encode()).decode() in command
    assert run_operation(ops.restore_finished, {}, slug="copy").commands == [
        "rm -f /var/lib/pinacle/restores/copy.json"
    ]


def test_the_workspace_is_streamed_in_and_no_host_directory_is_mounted(run_operation: Callable[..., OpResult]) -> None:
    spec = PodSpec(name="Copy", slug="copy", image="pinacle-snapshot/demo:s1", services=["web-terminal"])
    plan = plan_pod(spec, DeploySettings())
    archive = "/var/lib/pinacle/snapshots/s1.tar"
    (command,) = run_operation(ops.workspace_restored, {}, plan=plan, archive=archive).commands
    assert command.endswith(f"< {archive}")
    words = shlex.split(command.removesuffix(f"< {archive}"))
    assert words[:4] == ["docker", "run", "--rm", "-i"]
    assert "--name" in words and words[words.index("--name") + 1] == "pinacle-restore.copy"
    assert "-v" not in words and "/var/lib/pinacle" not in " ".join(words)
    assert words[words.index("--log-driver") + 1] == "none"
    assert words[-1] == "find /workspace -mindepth 1 -delete && tar -xpf - -C /workspace"
