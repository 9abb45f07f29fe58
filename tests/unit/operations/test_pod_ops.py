"""pinacle.operations.pod as data: given these facts and a plan, these commands or a no-op."""

from __future__ import annotations

import base64
import os
import shlex
import stat
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from pinacle.facts.pod import (
    DockerObjectExists,
    PodContainer,
    PodFiles,
    PodImage,
    TakenPorts,
)
from pinacle.operations import pod as ops
from pinacle.plan import (
    LABEL_PORT,
    LABEL_SPEC_HASH,
    POD_METADATA_PATH,
    PORT_LOCK,
    ROUTER_CONFIG_PATH,
    ContainerRecord,
    DeploySettings,
    PodPlan,
    plan_pod,
    sha256,
)
from pinacle.spec import AppPortSpec, PodSpec

Case = Mapping[str, Any]
CheckCase = Callable[[Case], Any]

IMAGE_ID = "sha256:" + "ab" * 32


def make_plan(**overrides: Any) -> PodPlan:
    fields: dict[str, Any] = {
        "name": "Demo",
        "slug": "demo",
        "services": ("web-terminal",),
        "ports": (AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000"),),
        "env": {"GREETING": "hello"},
    }
    return plan_pod(PodSpec(**{**fields, **overrides}), DeploySettings())


PLAN = make_plan()
PINNED = make_plan(host_port=31000)
HASH = PLAN.container.config_hash(IMAGE_ID)
ROUTER_SHAS = {ROUTER_CONFIG_PATH: PLAN.router_sha, POD_METADATA_PATH: sha256(PLAN.metadata)}
CONF_SHAS = {p.conf_path: sha256(p.supervisor_conf()) for p in PLAN.programs}


def container(spec_hash: str = HASH, running: bool = True, port: str = "30000") -> Any:
    return ContainerRecord(
        "pinacle-demo",
        "c0ffee",
        "running" if running else "exited",
        labels={LABEL_SPEC_HASH: spec_hash, LABEL_PORT: port},
    )


BASE_SERVICES = frozenset({"web-terminal"})


def container_facts(
    observed: object, image_id: str | None = IMAGE_ID, services: frozenset[str] | None = BASE_SERVICES
) -> dict[Any, Any]:
    return {
        (PodImage, ("image", "pinacle/base:latest")): None if image_id is None else (image_id, services),
        (PodContainer, ("container", "pinacle-demo")): observed,
    }


RUN = [
    "( flock -w 120 9 ||",
    "docker run -d --name pinacle-demo --hostname demo --runtime runsc --network pinacle-demo",
    "--cpus 1 --memory 1024m --restart unless-stopped",
    f"--label pinacle.spec-fields={PLAN.container.spec_labels(IMAGE_ID)['pinacle.spec-fields']}",
    f"--label pinacle.spec-hash={HASH}",
    '--label pinacle.port="$port"',
    "-e GREETING=hello -v pinacle-demo-workspace:/workspace",
    '-p 127.0.0.1:"$port":80 pinacle/base:latest',
    f") 9>{PORT_LOCK} && ",
    "supervisorctl status nginx | grep -q RUNNING",
]

# --- network and volume --------------------------------------------------------------------------

NETWORK_VOLUME_CASES: list[Case] = [
    {
        "id": "existing_network_is_a_noop",
        "op": ops.pod_network,
        "args": {"plan": PLAN},
        "facts": {(DockerObjectExists, ("kind", "network"), ("object_name", "pinacle-demo")): True},
        "noop": "network pinacle-demo exists",
    },
    {
        "id": "absent_network_is_created_labelled_with_the_pod",
        "op": ops.pod_network,
        "args": {"plan": PLAN},
        "facts": {(DockerObjectExists, ("kind", "network")): False},
        "commands": ["docker network create --driver bridge --label pinacle.pod=demo pinacle-demo"],
    },
    {
        "id": "existing_volume_is_a_noop",
        "op": ops.pod_volume,
        "args": {"plan": PLAN},
        "facts": {(DockerObjectExists, ("kind", "volume"), ("object_name", "pinacle-demo-workspace")): (True)},
        "noop": "volume pinacle-demo-workspace exists",
    },
    {
        "id": "absent_volume_is_created_labelled_with_the_pod",
        "op": ops.pod_volume,
        "args": {"plan": PLAN},
        "facts": {(DockerObjectExists, ("kind", "volume")): False},
        "commands": ["docker volume create --label pinacle.pod=demo pinacle-demo-workspace"],
    },
]


@pytest.mark.parametrize("case", NETWORK_VOLUME_CASES, ids=lambda c: c["id"])
def test_pod_network_and_volume(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


# --- pod_container -------------------------------------------------------------------------------

CONTAINER_CASES: list[Case] = [
    {
        "id": "missing_image_fails_naming_the_build_script",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(None, image_id=None),
        "contains": [["image pinacle/base:latest is not on this host", "build-base-image.sh", "exit 1"]],
    },
    {
        "id": "image_without_a_listed_service_fails_before_any_container_is_made",
        "op": ops.pod_container,
        "args": {"plan": make_plan(services=("web-terminal", "code-server"))},
        "facts": container_facts(None),
        "contains": [["does not carry service(s) code-server", "use image: pinacle/workstation:latest", "exit 1"]],
        "absent": ["docker run"],
    },
    {
        "id": "image_pinacle_did_not_build_is_refused",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(None, services=None),
        "contains": [["is not a pinacle pod image", "exit 1"]],
        "absent": ["docker run"],
    },
    {
        "id": "absent_container_is_run_under_the_port_lock",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(None),
        "contains": [RUN],
    },
    {
        "id": "running_container_with_the_same_hash_is_a_noop",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(container()),
        "noop": "container pinacle-demo is running and up to date",
    },
    {
        "id": "stopped_container_with_the_same_hash_is_started",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(container(running=False)),
        "contains": [["docker start pinacle-demo >/dev/null && ", "supervisorctl status nginx"]],
        "absent": ["docker run"],
    },
    {
        "id": "container_with_another_hash_is_replaced",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(container(spec_hash="0123456789abcdef")),
        "contains": [[*RUN, "xargs -r docker rm -f"]],
    },
    {
        "id": "new_image_id_replaces_the_container",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(container(), image_id="sha256:" + "cd" * 32),
        "contains": [["docker run -d --name pinacle-demo"]],
    },
    {
        "id": "allocated_port_is_looked_up_in_the_configured_range",
        "op": ops.pod_container,
        "args": {"plan": PLAN},
        "facts": container_facts(None),
        "contains": [["p=30000; while [ $p -le 40000 ]", "no free host port in 30000-40000"]],
    },
    {
        "id": "pinned_host_port_held_by_another_pod_fails",
        "op": ops.pod_container,
        "args": {"plan": PINNED},
        "facts": {**container_facts(None), TakenPorts: {31000: "other"}},
        "commands": ["echo 'pinacle: host port 31000 is held by pod other' >&2; exit 1"],
    },
    {
        "id": "pinned_host_port_bound_by_a_process_fails",
        "op": ops.pod_container,
        "args": {"plan": PINNED},
        "facts": {**container_facts(None), TakenPorts: {31000: ""}},
        "commands": ["echo 'pinacle: host port 31000 is held by another process' >&2; exit 1"],
    },
    {
        "id": "pinned_host_port_held_by_this_pod_is_reused",
        "op": ops.pod_container,
        "args": {"plan": PINNED},
        "facts": {**container_facts(None), TakenPorts: {31000: "demo", 30000: "other"}},
        "contains": [["port=31000; ", "--label pinacle.spec-hash="]],
    },
    {
        "id": "pinned_free_host_port_is_used",
        "op": ops.pod_container,
        "args": {"plan": PINNED},
        "facts": {**container_facts(None), TakenPorts: {}},
        "contains": [["port=31000; "]],
    },
]


@pytest.mark.parametrize("case", CONTAINER_CASES, ids=lambda c: c["id"])
def test_pod_container(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_unpinned_pod_does_not_read_taken_ports(run_operation: Any) -> None:
    result = run_operation(ops.pod_container, container_facts(None), plan=PLAN)
    assert "TakenPorts" not in [name for name, _ in result.fact_calls]


def test_run_command_is_valid_shell(run_operation: Any) -> None:
    result = run_operation(ops.pod_container, container_facts(None), plan=PLAN)
    assert_valid_shell(result.commands[0])


# --- pod_router ----------------------------------------------------------------------------------

ROUTER_CASES: list[Case] = [
    {
        "id": "router_config_up_to_date_is_a_noop",
        "op": ops.pod_router,
        "args": {"plan": PLAN},
        "facts": {(PodFiles, ("container", "pinacle-demo")): ROUTER_SHAS},
        "noop": "router config is up to date",
    },
    {
        "id": "a_stale_pod_record_alone_leaves_the_router_alone",
        "op": ops.pod_router,
        "args": {"plan": PLAN},
        "facts": {PodFiles: {**ROUTER_SHAS, POD_METADATA_PATH: "0" * 64}},
        "noop": "router config is up to date",
    },
    {
        "id": "differing_router_config_is_written_in_the_pod_and_reloaded",
        "op": ops.pod_router,
        "args": {"plan": PLAN},
        "facts": {PodFiles: {**ROUTER_SHAS, ROUTER_CONFIG_PATH: "0" * 64}},
        "contains": [
            [
                "docker exec pinacle-demo sh -c ",
                base64.b64encode(PLAN.router_config.encode()).decode(),
                "base64 -d > /etc/pinacle/router/pod.conf.pinacle-tmp",
                "pinacle-reload router",
            ]
        ],
    },
    {
        "id": "missing_router_files_are_written",
        "op": ops.pod_router,
        "args": {"plan": PLAN},
        "facts": {PodFiles: {}},
        "contains": [["pinacle-reload router", ROUTER_CONFIG_PATH]],
        "absent": [POD_METADATA_PATH],
    },
]


# --- pod_metadata --------------------------------------------------------------------------------

METADATA_CASES: list[Case] = [
    {
        "id": "pod_record_up_to_date_is_a_noop",
        "op": ops.pod_metadata,
        "args": {"plan": PLAN},
        "facts": {(PodFiles, ("container", "pinacle-demo")): ROUTER_SHAS},
        "noop": "pod record is up to date",
    },
    {
        "id": "stale_pod_record_is_rewritten_without_a_reload",
        "op": ops.pod_metadata,
        "args": {"plan": PLAN},
        "facts": {PodFiles: {**ROUTER_SHAS, POD_METADATA_PATH: "0" * 64}},
        "contains": [["docker exec pinacle-demo sh -c ", base64.b64encode(PLAN.metadata.encode()).decode()]],
        "absent": ["pinacle-reload"],
    },
]


@pytest.mark.parametrize("case", METADATA_CASES, ids=lambda c: c["id"])
def test_pod_metadata(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


@pytest.mark.parametrize("case", ROUTER_CASES, ids=lambda c: c["id"])
def test_pod_router(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_router_write_is_one_docker_exec_argument(run_operation: Any) -> None:
    result = run_operation(ops.pod_router, {PodFiles: {}}, plan=PLAN)
    argv = shlex.split(result.commands[0])
    assert argv[:5] == ["docker", "exec", "pinacle-demo", "sh", "-c"]
    assert len(argv) == 6
    assert_valid_shell(argv[5])


# --- pod_services --------------------------------------------------------------------------------

SUPERVISOR_GLOB = ("paths", ("/etc/pinacle/supervisor/*.conf",))


def services_facts(confs: Mapping[str, str]) -> dict[Any, Any]:
    return {(PodFiles, ("container", "pinacle-demo"), SUPERVISOR_GLOB): dict(confs)}


SERVICES_CASES: list[Case] = [
    {
        "id": "supervised_services_are_a_noop",
        "op": ops.pod_services,
        "args": {"plan": PLAN},
        "facts": services_facts(CONF_SHAS),
        "noop": "services are supervised",
    },
    {
        "id": "missing_supervisor_confs_are_written_then_reloaded",
        "op": ops.pod_services,
        "args": {"plan": PLAN},
        "facts": services_facts({}),
        "contains": [
            [
                "/etc/pinacle/supervisor/web-terminal.conf",
                "/etc/pinacle/supervisor/app.conf",
                "pinacle-reload services",
            ]
        ],
    },
    {
        "id": "stale_supervisor_conf_is_removed",
        "op": ops.pod_services,
        "args": {"plan": PLAN},
        "facts": services_facts({**CONF_SHAS, "/etc/pinacle/supervisor/old.conf": "f" * 64}),
        "contains": [["rm -f /etc/pinacle/supervisor/old.conf", "pinacle-reload services"]],
        "absent": ["base64 -d"],
    },
    {
        "id": "changed_supervisor_conf_is_rewritten_alone",
        "op": ops.pod_services,
        "args": {"plan": PLAN},
        "facts": services_facts({**CONF_SHAS, "/etc/pinacle/supervisor/app.conf": "0" * 64}),
        "contains": [["/etc/pinacle/supervisor/app.conf", "pinacle-reload services"]],
        "absent": ["web-terminal.conf", "rm -f"],
    },
]


@pytest.mark.parametrize("case", SERVICES_CASES, ids=lambda c: c["id"])
def test_pod_services(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


# --- user input stays data -----------------------------------------------------------------------

HOSTILE_ENV = {"EVIL": "$(touch pwned)", "QUOTE": "'; touch pwned; echo '", "LINES": "a\nb `id`"}
HOSTILE_COMMAND = "sh -c 'echo $HOME; touch pwned' && echo \"100%\" `id`"
HOSTILE = make_plan(
    env=HOSTILE_ENV,
    ports=(AppPortSpec(name="app", port=3000, command=HOSTILE_COMMAND),),
)


def assert_valid_shell(command: str) -> None:
    for shell in ("bash", "sh"):
        result = subprocess.run([shell, "-n", "-c", command], capture_output=True, text=True)
        assert result.returncode == 0, f"{shell}: {result.stderr}"


@pytest.mark.parametrize("key", sorted(HOSTILE_ENV))
def test_env_values_are_single_shell_words(key: str, run_operation: Any) -> None:
    command = run_operation(ops.pod_container, container_facts(None), plan=HOSTILE).commands[0]
    argument = shlex.quote(f"{key}={HOSTILE_ENV[key]}")
    assert f" -e {argument} " in command
    assert shlex.split(argument) == [f"{key}={HOSTILE_ENV[key]}"]


def test_run_command_with_hostile_env_is_valid_shell(run_operation: Any) -> None:
    command = run_operation(ops.pod_container, container_facts(None), plan=HOSTILE).commands[0]
    assert_valid_shell(command)


STUB_DOCKER = """#!/bin/sh
case "$1" in
  run) printf '%s\\0' "$@" > "$STUB_DIR/docker-run.args" ;;
  exec) echo "nginx RUNNING" ;;
esac
"""


def test_hostile_env_reaches_docker_run_verbatim_and_runs_nothing(tmp_path: Path, run_operation: Any) -> None:
    """Execute the real command against stub docker/flock: argv arrives intact, nothing else."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("docker", STUB_DOCKER), ("flock", "#!/bin/sh\nexit 0\n")):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    command = run_operation(ops.pod_container, container_facts(None), plan=HOSTILE).commands[0]
    command = command.replace(PORT_LOCK, str(tmp_path / "ports.lock"))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "STUB_DIR": str(tmp_path)}
    work = tmp_path / "work"
    work.mkdir()
    result = subprocess.run(["sh", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    argv = (tmp_path / "docker-run.args").read_text().split("\0")[:-1]
    for key, value in HOSTILE_ENV.items():
        assert argv[argv.index(f"{key}={value}") - 1] == "-e"
    assert list(work.iterdir()) == []


def test_hostile_app_command_reaches_the_pod_only_as_base64(run_operation: Any) -> None:
    facts = services_facts({})
    command = run_operation(ops.pod_services, facts, plan=HOSTILE).commands[0]
    conf = HOSTILE.programs[1].supervisor_conf()
    assert "touch pwned" not in command
    assert base64.b64encode(conf.encode()).decode() in command
    argv = shlex.split(command)
    assert argv[:5] == ["docker", "exec", "pinacle-demo", "sh", "-c"]
    assert len(argv) == 6
    assert_valid_shell(argv[5])


def test_write_file_command_writes_hostile_content_exactly(tmp_path: Path, run_operation: Any) -> None:
    facts = services_facts({})
    script = shlex.split(run_operation(ops.pod_services, facts, plan=HOSTILE).commands[0])[5]
    script = script.replace("/etc/pinacle/supervisor", str(tmp_path / "supervisor"))
    script = script.replace("pinacle-reload services", "true")
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    written = (tmp_path / "supervisor" / "app.conf").read_text()
    assert written == HOSTILE.programs[1].supervisor_conf()
    assert "command=sh -c 'echo $HOME; touch pwned' && echo \"100%%\" `id`\n" in written
