"""Snapshot reads without pyinfra: the facts' commands and parsers."""

from __future__ import annotations

import pytest

from pinacle.errors import HostError
from pinacle.facts.snapshot import ImageEnv, ProgramCommands, SnapshotStates
from pinacle.readers import snapshot as readers
from pinacle.snapshots import SECTION, HostSnapshots


def test_snapshot_states_read_is_the_facts_command() -> None:
    read = readers.snapshot_states()
    assert read.command == SnapshotStates().command()
    assert read.result([]) == HostSnapshots()


def test_snapshot_states_read_fails_on_a_docker_error() -> None:
    with pytest.raises(HostError, match="Docker failed while pinacle read the host's snapshots"):
        readers.snapshot_states().result([f"{SECTION}images", f"{SECTION}error docker: Cannot connect"])


def test_program_commands_read() -> None:
    read = readers.program_commands_of("pinacle-demo")
    assert read.command == ProgramCommands().command("pinacle-demo")
    assert read.result(["/etc/supervisor/conf.d/app.conf:command=python3 -m http.server 3000 %%d"]) == {
        "app": "python3 -m http.server 3000 %d"
    }


def test_image_env_read() -> None:
    read = readers.image_env_of("pinacle/base:latest")
    assert read.command == ImageEnv().command("pinacle/base:latest")
    assert read.result(['["PATH=/usr/bin"]']) == ["PATH=/usr/bin"]
    assert read.result(["null"]) == []
