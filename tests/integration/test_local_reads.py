"""On ``@local`` a rollout, its re-apply, the day-2 reads and stop, start and delete never load
pyinfra: they run the same commands as the operations, without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.integration.conftest import REPO, PodFactory, deploy_json

# Runs a CLI entry point and says on stderr, as it exits, whether pyinfra was ever imported.
PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('pyinfra loaded:', 'pyinfra' in sys.modules, file=sys.stderr))\n"
    "sys.argv = sys.argv[1:]\n"
    "import importlib\n"
    "importlib.import_module(sys.argv[0]).main()\n"
)


def cli(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, module, *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PINACLE_INVENTORY": "@local"},
        check=False,
    )


def test_a_rollout_its_reapply_and_the_reads_do_without_pyinfra(pod_file: PodFactory) -> None:
    path, data = pod_file("lr")
    slug = str(data["slug"])
    first = cli("pinacle.cli.deploy", str(path), "--json")
    assert first.returncode == 0, first.stderr
    assert "pyinfra loaded: False" in first.stderr  # it created the pod with the operations' own commands
    assert json.loads(first.stdout)["changes"] > 0

    again = cli("pinacle.cli.deploy", str(path), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["changes"] == 0
    assert "pyinfra loaded: False" in again.stderr

    dry = cli("pinacle.cli.deploy", str(path), "--dry-run")
    assert (dry.returncode, "pyinfra loaded: False" in dry.stderr) == (0, True), dry.stderr

    for args in (("list", "--json"), ("status", slug, "--json"), ("doctor", "--json")):
        result = cli("pinacle.cli.main", *args)
        assert "pyinfra loaded: False" in result.stderr, (args, result.stderr)
        if args[0] != "doctor":  # other pods on a shared host may be unwell; ours must not be
            assert result.returncode == 0, (args, result.stderr)
        pods = {p["slug"]: p for p in json.loads(result.stdout).get("pods", [])}
        if args[0] != "doctor":
            assert pods[slug]["healthy"] is True
    checks = {c["name"]: c for h in json.loads(result.stdout)["hosts"] for c in h["checks"]}
    assert checks[f"pod {slug}"]["status"] == "ok"


def test_stop_start_and_delete_do_without_pyinfra_and_the_pod_comes_back_healthy(pod_file: PodFactory) -> None:
    path, data = pod_file("lr")
    slug = str(data["slug"])
    deploy_json(path)
    stop = cli("pinacle.cli.main", "stop", slug)
    assert stop.returncode == 0 and "pyinfra loaded: False" in stop.stderr, stop.stderr
    status = cli("pinacle.cli.main", "status", slug, "--json")
    assert json.loads(status.stdout)["pods"][0]["state"] == "stopped"
    start = cli("pinacle.cli.main", "start", slug, "--json")
    assert start.returncode == 0 and "pyinfra loaded: False" in start.stderr, start.stderr
    assert json.loads(start.stdout)["pods"][0]["healthy"] is True
    delete = cli("pinacle.cli.main", "delete", slug, "--purge")
    assert delete.returncode == 0 and "pyinfra loaded: False" in delete.stderr, delete.stderr
    assert cli("pinacle.cli.main", "status", slug).returncode != 0
