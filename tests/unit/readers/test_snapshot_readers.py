"""Snapshot reads without pyinfra: the facts' commands and parsers."""

from __future__ import annotations

import json

from pinacle.facts.snapshot import ImageEnv, ProgramCommands, Snapshots
from pinacle.readers import snapshot as readers


def test_snapshot_images_read() -> None:
    read = readers.snapshot_images()
    assert read.command == Snapshots().command()
    line = json.dumps(
        {
            "tags": ["pinacle-snapshot/demo:before", "other:tag"],
            "created": "2026-12-01T10:58:46Z",
            "size": 223000000,
            "labels": {"pinacle.snapshot.of": "demo", "pinacle.snapshot.name": "before"},
        }
    )
    [found] = read.result([line])
    assert (found.name, found.source, found.image, found.size) == (
        "before",
        "demo",
        "pinacle-snapshot/demo:before",
        223000000,
    )
    assert read.result([]) == []


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
