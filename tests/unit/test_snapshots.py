"""pinacle.snapshots: snapshot names and the pod file a snapshot restores to."""

from __future__ import annotations

import pytest

from pinacle.errors import SpecError
from pinacle.pod.report import spec_from_data, with_record
from pinacle.snapshots import check_snapshot_name, program_commands, snapshot_spec_data
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
