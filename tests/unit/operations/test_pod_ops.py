"""pinacle.operations.pod as data: given a diff, these commands or a no-op; no facts are read."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import shlex
import subprocess
import sys
import tarfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.unit.pod.conftest import HELD_PORT, IMAGE_ID, applied, applied_record, demo_spec

from pinacle.facts.host import PathExists
from pinacle.facts.pod import PodObjects
from pinacle.operations import pod as ops
from pinacle.operations._shell import fail, pod_supervisor_ready, write_file_command
from pinacle.pod.desired import PodPlan, plan_pod
from pinacle.pod.diff import PodDiff, diff_pod
from pinacle.pod.names import POD_CREATE_SCRIPT, RECORD_DIR, ROUTER_CONFIG_PATH
from pinacle.pod.observed import ObservedPod, PodRecord
from pinacle.pod.settings import DeploySettings
from pinacle.spec import AppPortSpec

Case = Mapping[str, Any]
CheckCase = Callable[[Case], Any]
RunOperation = Callable[..., Any]


def make_plan(**overrides: Any) -> PodPlan:
    return plan_pod(demo_spec(**overrides), DeploySettings())


PLAN = make_plan()
TAKEN = {HELD_PORT: "demo"}
FRESH_HOST = ObservedPod(image_id=IMAGE_ID, image_services=frozenset({"web-terminal"}))
APP_CONF = "/etc/pinacle/supervisor/app.conf"
DOCS = AppPortSpec(name="docs", port=4000, command="mkdocs serve -a 127.0.0.1:4000")


def rolled_out(new: PodPlan, old: PodPlan = PLAN, **observed: Any) -> PodDiff:
    """The diff of rolling ``new`` out where ``old`` was applied (host fields overridden)."""
    return diff_pod(new, dataclasses.replace(applied(old), **observed), TAKEN)


def router_changed() -> PodDiff:
    record = applied_record(PLAN)
    record = dataclasses.replace(record, config={**record.config, ROUTER_CONFIG_PATH: "0" * 64})
    return rolled_out(PLAN, record=record)


FRESH = diff_pod(PLAN, FRESH_HOST, {})
IN_SYNC = rolled_out(PLAN)
STOPPED = diff_pod(PLAN, applied(PLAN, running=False), TAKEN)
REPLACED = rolled_out(make_plan(env={"GREETING": "bye"}))
PROBLEM = diff_pod(PLAN, ObservedPod(), {})
ROUTER_ONLY = router_changed()
SERVICE_ONLY = rolled_out(make_plan(ports=(AppPortSpec(name="app", port=3000, command="serve"),)))
ROUTER_AND_SERVICE = rolled_out(make_plan(ports=(*PLAN.spec.ports, DOCS)))
# The app keeps its route but loses its command: its program goes, the router stays.
SERVICE_REMOVED = rolled_out(make_plan(ports=(AppPortSpec(name="app", port=3000),)))
UNRECORDED = rolled_out(PLAN, record=None)


def in_pod_script(command: str) -> str:
    """The script ``docker exec pinacle-demo sh -c SCRIPT`` runs, after the supervisor wait."""
    wait = pod_supervisor_ready("pinacle-demo") + " && "
    assert command.startswith(wait + "docker exec pinacle-demo sh -c ")
    argv = shlex.split(command.removeprefix(wait))
    assert argv[:5] == ["docker", "exec", "pinacle-demo", "sh", "-c"] and len(argv) == 6
    return argv[5]


def assert_valid_shell(command: str) -> None:
    for shell in ("sh", "bash"):
        result = subprocess.run([shell, "-n", "-c", command], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{shell}: {result.stderr}"


# --- pod_network ---------------------------------------------------------------------------------

NETWORK_CASES: list[Case] = [
    {
        "id": "existing_network_is_a_noop",
        "op": ops.pod_network,
        "args": {"diff": IN_SYNC},
        "noop": "network pinacle-demo exists",
    },
    {
        "id": "absent_network_is_created_labelled_with_the_pod",
        "op": ops.pod_network,
        "args": {"diff": FRESH},
        "commands": [
            "mkdir -p -m 0700 /run/pinacle && flock -w 120 /run/pinacle/pod-demo.lock sh -c "
            "'docker network inspect pinacle-demo >/dev/null 2>&1 || "
            "docker network create --driver bridge --label=pinacle.pod=demo pinacle-demo >/dev/null'"
        ],
    },
]


@pytest.mark.parametrize("case", NETWORK_CASES, ids=lambda c: c["id"])
def test_pod_network(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


# --- pod_container -------------------------------------------------------------------------------

CONTAINER_CASES: list[Case] = [
    {
        "id": "running_container_in_sync_is_a_noop",
        "op": ops.pod_container,
        "args": {"diff": IN_SYNC, "image_id": IMAGE_ID},
        "noop": "container pinacle-demo is running and up to date",
    },
    {
        "id": "stopped_container_is_started",
        "op": ops.pod_container,
        "args": {"diff": STOPPED, "image_id": IMAGE_ID},
        "commands": ["docker start pinacle-demo >/dev/null"],
    },
    {
        "id": "a_problem_fails_before_any_container_is_made",
        "op": ops.pod_container,
        "args": {"diff": PROBLEM, "image_id": None},
        "commands": [fail(PROBLEM.problem)],
        "absent": [POD_CREATE_SCRIPT, "docker create"],
    },
    {
        "id": "a_replacement_goes_through_the_host_script",
        "op": ops.pod_container,
        "args": {"diff": REPLACED, "image_id": IMAGE_ID},
        "contains": [[f"| {POD_CREATE_SCRIPT} demo {HELD_PORT} 127.0.0.1 -- --name=pinacle-demo", "GREETING=bye"]],
    },
]


@pytest.mark.parametrize("case", CONTAINER_CASES, ids=lambda c: c["id"])
def test_pod_container(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def test_a_problem_is_what_the_failing_command_says() -> None:
    assert PROBLEM.problem.startswith("image pinacle/base:latest is not on this host")


def create_command(run_operation: RunOperation, diff: PodDiff = FRESH) -> str:
    commands: list[str] = run_operation(ops.pod_container, {}, diff=diff, image_id=IMAGE_ID).commands
    assert len(commands) == 1
    return commands[0]


def payload_of(command: str) -> bytes:
    match = re.fullmatch(r"printf %s ([A-Za-z0-9+/=]+) \| base64 -d \| (.*)", command, flags=re.DOTALL)
    assert match, command
    return base64.b64decode(match[1])


def tar_files(data: bytes) -> dict[str, str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        assert all((m.mode, m.uid, m.gid, m.isfile()) == (0o644, 0, 0, True) for m in members)
        return {f"/{m.name}": archive.extractfile(m).read().decode() for m in members}  # type: ignore[union-attr]


def test_new_container_is_made_by_the_host_script_with_its_config_on_stdin(run_operation: RunOperation) -> None:
    command = create_command(run_operation)
    payload = base64.b64encode(payload_of(command)).decode()
    fields = PLAN.container.spec_labels(IMAGE_ID)
    argv = [
        POD_CREATE_SCRIPT,
        "demo",
        "30000",
        "127.0.0.1",
        "--",
        "--name=pinacle-demo",
        "--hostname=demo",
        "--runtime=runsc",
        "--network=pinacle-demo",
        "--cpus=1",
        "--memory=1024m",
        "--pids-limit=4096",
        "--restart=unless-stopped",
        "--label=pinacle.domain=localhost",
        "--label=pinacle.name=Demo pod",
        "--label=pinacle.pod=demo",
        "--label=pinacle.routes=web-terminal:7681,app:3000",
        f"--label=pinacle.spec-fields={fields['pinacle.spec-fields']}",
        f"--label=pinacle.spec-hash={fields['pinacle.spec-hash']}",
        "--env=GREETING=hello",
        "--mount=type=volume,source=pinacle-demo-workspace,target=/workspace,volume-label=pinacle.pod=demo",
        "pinacle/base:latest",
    ]
    assert command == f"printf %s {payload} | base64 -d | {shlex.join(argv)}"


def test_the_config_copied_in_is_the_plans_router_and_services(run_operation: RunOperation) -> None:
    files = tar_files(payload_of(create_command(run_operation)))
    assert files == PLAN.config_files
    assert set(files) == {ROUTER_CONFIG_PATH, APP_CONF, "/etc/pinacle/supervisor/web-terminal.conf"}


def test_the_create_command_is_valid_shell(run_operation: RunOperation) -> None:
    assert_valid_shell(create_command(run_operation))


def test_the_create_command_uses_the_chosen_port_and_publish_address(run_operation: RunOperation) -> None:
    plan = plan_pod(demo_spec(), DeploySettings(publish_address="0.0.0.0"))
    diff = diff_pod(plan, FRESH_HOST, {30000: "other"})
    argv = shlex.split(create_command(run_operation, diff))
    script = argv.index(POD_CREATE_SCRIPT)
    assert argv[script : script + 5] == [POD_CREATE_SCRIPT, "demo", "30001", "0.0.0.0", "--"]


# --- user input stays data -----------------------------------------------------------------------

HOSTILE_ENV = {"EVIL": "$(touch pwned)", "QUOTE": "'; touch pwned; echo '", "LINES": "a\nb `touch pwned` | x"}
HOSTILE_NAME = "it's $(touch pwned) `touch pwned`"
HOSTILE_COMMAND = "sh -c 'echo $HOME; touch pwned' && echo \"100%\" `id`"
HOSTILE = make_plan(
    name=HOSTILE_NAME,
    env=HOSTILE_ENV,
    ports=(AppPortSpec(name="app", port=3000, command=HOSTILE_COMMAND),),
)
HOSTILE_FRESH = diff_pod(HOSTILE, FRESH_HOST, {})

RECORDING_SCRIPT = """#!{python}
import base64, json, sys
data = sys.stdin.buffer.read()
with open({out!r}, "w") as f:
    json.dump({{"argv": sys.argv[1:], "stdin": base64.b64encode(data).decode()}}, f)
"""


def test_hostile_create_command_is_valid_shell(run_operation: RunOperation) -> None:
    assert_valid_shell(create_command(run_operation, HOSTILE_FRESH))


@pytest.mark.parametrize("key", sorted(HOSTILE_ENV))
def test_hostile_env_is_one_argument_of_the_create_command(key: str, run_operation: RunOperation) -> None:
    argv = shlex.split(create_command(run_operation, HOSTILE_FRESH))
    assert f"--env={key}={HOSTILE_ENV[key]}" in argv


def test_hostile_app_command_reaches_the_pod_only_inside_the_tar(run_operation: RunOperation) -> None:
    command = create_command(run_operation, HOSTILE_FRESH)
    assert "touch pwned' &&" not in command
    assert tar_files(payload_of(command))[APP_CONF] == HOSTILE.programs[1].supervisor_conf()


def test_hostile_create_command_hands_the_script_its_argv_verbatim_and_runs_nothing(
    tmp_path: Path, run_operation: RunOperation
) -> None:
    """Run the real pipeline with the host script swapped for one that records what it gets."""
    recorder, out, work = tmp_path / "pod-create", tmp_path / "got.json", tmp_path / "work"
    recorder.write_text(RECORDING_SCRIPT.format(python=sys.executable, out=str(out)))
    recorder.chmod(0o755)
    work.mkdir()
    command = create_command(run_operation, HOSTILE_FRESH)
    expected = shlex.split(command)[7:]  # what follows `printf %s B64 | base64 -d |`
    result = subprocess.run(
        ["sh", "-c", command.replace(POD_CREATE_SCRIPT, str(recorder))], cwd=work, capture_output=True, check=False
    )
    assert result.returncode == 0, result.stderr
    got = json.loads(out.read_text())
    assert [POD_CREATE_SCRIPT, *got["argv"]] == expected
    assert f"--label=pinacle.name={HOSTILE_NAME}" in got["argv"]
    assert tar_files(base64.b64decode(got["stdin"])) == HOSTILE.config_files
    assert list(work.iterdir()) == []


# --- pod_config ----------------------------------------------------------------------------------

CONFIG_NOOP_CASES: list[Case] = [
    {
        "id": "pod_in_sync_is_a_noop",
        "op": ops.pod_config,
        "args": {"diff": IN_SYNC},
        "noop": "router and services are up to date",
    },
    {
        "id": "fresh_container_got_its_config_with_the_create",
        "op": ops.pod_config,
        "args": {"diff": FRESH},
        "noop": "router and services are up to date",
    },
    {
        "id": "replaced_container_got_its_config_with_the_create",
        "op": ops.pod_config,
        "args": {"diff": REPLACED},
        "noop": "router and services are up to date",
    },
]


@pytest.mark.parametrize("case", CONFIG_NOOP_CASES, ids=lambda c: c["id"])
def test_pod_config_noop(case: Case, check_operation_case: CheckCase) -> None:
    check_operation_case(case)


def in_pod_steps(run_operation: RunOperation, diff: PodDiff) -> str:
    commands: list[str] = run_operation(ops.pod_config, {}, diff=diff).commands
    assert len(commands) == 1
    return in_pod_script(commands[0])


def write(plan: PodPlan, path: str) -> str:
    return write_file_command(path, plan.config_files[path])


def test_a_changed_router_alone_is_written_and_only_the_router_reloaded(run_operation: RunOperation) -> None:
    assert in_pod_steps(run_operation, ROUTER_ONLY) == " && ".join(
        [write(PLAN, ROUTER_CONFIG_PATH), "pinacle-reload router >/dev/null"]
    )


def test_a_changed_service_alone_is_written_and_only_services_reloaded(run_operation: RunOperation) -> None:
    plan = SERVICE_ONLY.plan
    assert in_pod_steps(run_operation, SERVICE_ONLY) == " && ".join(
        [write(plan, APP_CONF), "pinacle-reload services >/dev/null"]
    )


def test_router_and_service_changes_are_written_and_both_reloaded(run_operation: RunOperation) -> None:
    plan = ROUTER_AND_SERVICE.plan
    assert in_pod_steps(run_operation, ROUTER_AND_SERVICE) == " && ".join(
        [write(plan, ROUTER_CONFIG_PATH), write(plan, "/etc/pinacle/supervisor/docs.conf"), "pinacle-reload >/dev/null"]
    )


def test_a_service_no_longer_declared_is_removed_and_services_reloaded(run_operation: RunOperation) -> None:
    assert in_pod_steps(run_operation, SERVICE_REMOVED) == " && ".join(
        [f"rm -f {APP_CONF}", "pinacle-reload services >/dev/null"]
    )


def test_without_a_record_every_file_is_written_after_stale_services_are_removed(
    run_operation: RunOperation,
) -> None:
    steps = in_pod_steps(run_operation, UNRECORDED)
    assert steps == " && ".join(
        [
            "rm -f /etc/pinacle/supervisor/*.conf",
            *(write(PLAN, path) for path in PLAN.config_files),
            "pinacle-reload >/dev/null",
        ]
    )


def test_unrecorded_config_leaves_exactly_the_plans_files_in_the_pod(
    tmp_path: Path, run_operation: RunOperation
) -> None:
    """The in-pod script, run for real under a temporary root with a stub pinacle-reload."""
    root = tmp_path / "pod"
    (root / "etc/pinacle/supervisor").mkdir(parents=True)
    (root / "etc/pinacle/supervisor/stale.conf").write_text("[program:stale]\n")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/pinacle-reload").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/reloaded\n')
    (tmp_path / "bin/pinacle-reload").chmod(0o755)
    script = in_pod_steps(run_operation, UNRECORDED).replace("/etc/pinacle", f"{root}/etc/pinacle")
    env = {"PATH": f"{tmp_path}/bin:/usr/bin:/bin"}
    result = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    written = {f"/{p.relative_to(root)}": p.read_text() for p in root.rglob("*") if p.is_file()}
    assert written == PLAN.config_files
    assert (tmp_path / "reloaded").read_text() == "\n"  # both router and services


def test_pod_config_waits_for_the_supervisor_before_it_execs(run_operation: RunOperation) -> None:
    command = run_operation(ops.pod_config, {}, diff=ROUTER_ONLY).commands[0]
    assert command.startswith(pod_supervisor_ready("pinacle-demo") + " && docker exec ")
    assert_valid_shell(command)


# --- pod_record ----------------------------------------------------------------------------------


def test_a_record_that_matches_is_a_noop(check_operation_case: CheckCase) -> None:
    check_operation_case({"op": ops.pod_record, "args": {"diff": IN_SYNC}, "noop": "pod record is up to date"})


def test_a_new_record_is_written_root_only_under_the_record_dir(run_operation: RunOperation) -> None:
    commands = run_operation(ops.pod_record, {}, diff=FRESH).commands
    assert commands == [
        "mkdir -p -m 0700 /var/lib/pinacle/pods && "
        + write_file_command("/var/lib/pinacle/pods/demo.json", FRESH.record.to_json(), mode="0600")
    ]


def test_the_written_record_reads_back_as_the_diffs_record(tmp_path: Path, run_operation: RunOperation) -> None:
    command = run_operation(ops.pod_record, {}, diff=FRESH).commands[0]
    pods = tmp_path / "pods"
    result = subprocess.run(["sh", "-c", command.replace(RECORD_DIR, str(pods))], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr
    path = pods / "demo.json"
    assert (pods.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)
    assert PodRecord.from_json(path.read_text()) == FRESH.record


# --- the operations act on the diff alone --------------------------------------------------------

OPERATIONS = [ops.pod_network, ops.pod_container, ops.pod_config, ops.pod_record]
DIFFS = {
    "fresh": FRESH,
    "in_sync": IN_SYNC,
    "stopped": STOPPED,
    "replaced": REPLACED,
    "unrecorded": UNRECORDED,
}


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.__name__)
@pytest.mark.parametrize("name", sorted(DIFFS))
def test_operations_read_no_facts(op: Any, name: str, run_operation: RunOperation) -> None:
    kwargs: dict[str, Any] = {"diff": DIFFS[name]}
    if op is ops.pod_container:
        kwargs["image_id"] = IMAGE_ID
    assert run_operation(op, {}, **kwargs).fact_calls == []


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.__name__)
def test_a_pod_in_sync_yields_no_command(op: Any, run_operation: RunOperation) -> None:
    kwargs: dict[str, Any] = {"diff": IN_SYNC}
    if op is ops.pod_container:
        kwargs["image_id"] = IMAGE_ID
    result = run_operation(op, {}, **kwargs)
    assert (result.commands, len(result.noops)) == ([], 1)


# --- pod_removed ---------------------------------------------------------------------------------

DEMO_OBJECTS = {"container": ["pinacle-demo"], "network": ["pinacle-demo"], "volume": ["pinacle-demo-workspace"]}
NO_OBJECTS: dict[str, list[str]] = {"container": [], "network": [], "volume": []}
RECORD_RM = "rm -f /var/lib/pinacle/pods/demo.json"
MARKER_RM = "rm -f /var/lib/pinacle/restores/demo.json"


def removal_facts(objects: Mapping[str, list[str]], record: bool, marker: bool | None) -> dict[Any, Any]:
    """The facts pod_removed reads; ``marker`` None: a case in which it must not read the marker."""
    facts: dict[Any, Any] = {PodObjects: objects, (PathExists, ("path", f"{RECORD_DIR}/demo.json")): record}
    if marker is not None:
        facts[(PathExists, ("path", "/var/lib/pinacle/restores/demo.json"))] = marker
    return facts


def test_a_deleted_pod_loses_its_container_then_network_then_its_host_files(run_operation: RunOperation) -> None:
    result = run_operation(ops.pod_removed, removal_facts(DEMO_OBJECTS, True, True), slug="demo")
    assert result.commands == [
        "docker rm -f pinacle-demo >/dev/null",
        "docker network rm pinacle-demo >/dev/null",
        "rm -f /var/lib/pinacle/pods/demo.json /var/lib/pinacle/restores/demo.json",
    ]


def test_a_purged_pod_loses_its_workspace_volume_too(run_operation: RunOperation) -> None:
    result = run_operation(ops.pod_removed, removal_facts(DEMO_OBJECTS, True, False), slug="demo", purge=True)
    assert "docker volume rm pinacle-demo-workspace >/dev/null" in result.commands
    assert result.commands[-1] == RECORD_RM


def test_a_restore_marker_alone_is_removed_so_it_keeps_no_port(run_operation: RunOperation) -> None:
    result = run_operation(ops.pod_removed, removal_facts(NO_OBJECTS, False, True), slug="demo")
    assert result.commands == [MARKER_RM]


def test_a_restore_replacing_the_pod_keeps_the_marker_it_has_just_written(run_operation: RunOperation) -> None:
    facts = removal_facts(DEMO_OBJECTS, True, None)
    result = run_operation(ops.pod_removed, facts, slug="demo", purge=True, keep_restore_marker=True)
    assert result.commands[-1] == RECORD_RM and MARKER_RM not in result.commands


def test_a_pod_with_nothing_left_is_a_noop(run_operation: RunOperation) -> None:
    result = run_operation(ops.pod_removed, removal_facts(NO_OBJECTS, False, False), slug="demo")
    assert (result.commands, result.noops) == ([], ["nothing of pod demo to remove"])
