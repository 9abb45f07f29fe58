"""A pod file at the schema's bounds rolls out: no command reaches a host longer than one argument
may be (Linux refuses more than 128 KiB with E2BIG), and nothing of the pod file is lost on the way.

Before, such a pod crashed `pinacle-deploy` with "Argument list too long" after it had made the
pod's network. Long commands now travel as script files (``pinacle.operations.staging``), and a long
in-pod script is piped into the pod.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.integration.conftest import pinacle_deploy, remove_pod_resources, run
from tests.integration.helpers import pod_at_bounds

from pinacle.operations.pod_commands import _in_pod
from pinacle.spec import PodSpec

pytestmark = pytest.mark.integration


def test_a_pod_at_the_bounds_comes_up_with_its_env_byte_for_byte(
    tmp_path: Path, unique_slug: Callable[[str], str]
) -> None:
    slug = unique_slug("bounds")
    data = pod_at_bounds(slug)
    PodSpec.model_validate(data)  # valid as it stands: the bounds, not beyond them
    path = tmp_path / "pod.yaml"
    path.write_text(json.dumps(data))
    try:
        pinacle_deploy(str(path))  # exits 0 only once every service answers through the router
        (status,) = json.loads(run("pinacle", "status", slug, "--json").stdout)["pods"]
        assert status["healthy"] is True and len(status["services"]) == 5
        env = data["env"]
        assert isinstance(env, dict)
        for key, value in env.items():
            printed = run("pinacle", "exec", slug, "--", "printenv", key).stdout
            assert printed == value + "\n", key
        again = json.loads(pinacle_deploy(str(path), "--json").stdout)
        assert again["changes"] == 0
    finally:
        remove_pod_resources(slug)


def test_an_in_pod_script_longer_than_one_argument_runs_whole(
    tmp_path: Path, unique_slug: Callable[[str], str]
) -> None:
    name = f"pinacle-test-{unique_slug('inpod')}"
    run("docker", "run", "-d", "--rm", "--runtime", "runsc", "--name", name, "pinacle/base:latest", "sleep", "300")
    try:
        content = "x" * 200_000
        script = f"printf %s {content} > /tmp/long && echo done"
        command = _in_pod(name, script)
        assert "docker exec -i" in command  # the piped form: the script is past one argument's bound
        (tmp_path / "outer.sh").write_text(command)  # as the rollout runs a long command: from a file
        done = run("sh", str(tmp_path / "outer.sh"))
        assert done.stdout == "done\n"
        assert run("docker", "exec", name, "wc", "-c", "/tmp/long").stdout.split()[0] == "200000"
    finally:
        run("docker", "rm", "-f", name, check=False)
