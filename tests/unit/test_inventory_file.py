"""Inventory files read as pyinfra reads them, without pyinfra's CLI (and its gevent patching)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from pinacle.inventory_file import load_inventory_file


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_groups_hosts_and_their_data(tmp_path: Path) -> None:
    inventory = write(
        tmp_path / "fleet.py",
        """
        _shared = {"runsc_source": "release"}
        web = (["a.example", ("b.example", {"ssh_port": 2222})], _shared)
        db = ["c.example"]
        not_a_group = {"x": 1}
        """,
    )
    loaded = load_inventory_file(inventory, cwd=tmp_path)
    assert sorted(h.name for h in loaded) == ["a.example", "b.example", "c.example"]
    b = loaded.get_host("b.example")
    assert b.data.get("ssh_port") == 2222 and b.data.get("runsc_source") == "release"
    assert sorted(h.name for h in loaded.get_group("fleet")) == ["a.example", "b.example", "c.example"]
    assert [h.name for h in loaded.get_group("db")] == ["c.example"]


def test_group_data_files_next_to_the_inventory_add_data(tmp_path: Path) -> None:
    inventory = write(tmp_path / "inv" / "prod.py", 'pods = ["a.example"]\n')
    write(tmp_path / "inv" / "group_data" / "pods.py", 'import os\nrunsc_source = "distro"\n')
    write(tmp_path / "inv" / "group_data" / "all.py", "docker_live_restore = False\n")
    host = load_inventory_file(inventory, cwd=tmp_path).get_host("a.example")
    assert host.data.get("runsc_source") == "distro" and host.data.get("docker_live_restore") is False
    assert host.data.get("os") is None  # imported names are not data


def test_loading_an_inventory_leaves_threads_unpatched(tmp_path: Path) -> None:
    inventory = write(tmp_path / "inv.py", 'hosts = ["@local"]\n')
    probe = (
        "import threading, gevent.monkey; from pinacle.executor import make_inventory; "
        f"make_inventory({str(inventory)!r}); print(gevent.monkey.is_module_patched('threading'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
