"""pinacle.pod.diff: desired pod and observed host in, one change per resource out. Plain asserts."""

from __future__ import annotations

import dataclasses

from pinacle.pod.diff import Action, Change, PodDiff, diff_pod, image_problem
from pinacle.pod.names import LABEL_SPEC_FIELDS, ROUTER_CONFIG_PATH
from pinacle.pod.observed import ObservedPod, PodRecord
from pinacle.pod.settings import DeploySettings
from pinacle.spec import AppPortSpec, ResourceSpec
from tests.unit.pod.conftest import HELD_PORT, IMAGE_ID, InSync, MakePlan, applied_record

FRESH = ObservedPod(image_id=IMAGE_ID, image_services=frozenset({"web-terminal"}))
TAKEN = {HELD_PORT: "demo"}
APP_CONF = "/etc/pinacle/supervisor/app.conf"
TERMINAL_CONF = "/etc/pinacle/supervisor/web-terminal.conf"
ALL_SERVICES = "/etc/pinacle/supervisor/*.conf"


def pending(diff: PodDiff) -> list[tuple[str, Action]]:
    return [(c.resource, c.action) for c in diff.changes if c.pending]


def config(diff: PodDiff) -> dict[str, Action]:
    return {c.path: c.action for c in diff.config}


def without_record(observed: ObservedPod) -> ObservedPod:
    return dataclasses.replace(observed, record=None)


# --- a fresh pod ---------------------------------------------------------------------------------


def test_fresh_pod_creates_network_volume_container_and_record(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), FRESH, {})
    assert [(c.resource, c.action) for c in (diff.network, diff.volume, diff.container, diff.record_change)] == [
        ("network pinacle-demo", Action.CREATE),
        ("volume pinacle-demo-workspace", Action.CREATE),
        ("container pinacle-demo", Action.CREATE),
        ("pod record /var/lib/pinacle/pods/demo.json", Action.UPDATE),
    ]
    assert diff.problem == ""


def test_fresh_container_gets_every_config_file_copied_in(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), FRESH, {})
    assert diff.config == (
        Change("router config", Action.CREATE, "copied in before the container starts", ROUTER_CONFIG_PATH),
        Change("service web-terminal", Action.CREATE, "copied in before the container starts", TERMINAL_CONF),
        Change("service app", Action.CREATE, "copied in before the container starts", APP_CONF),
    )


def test_fresh_container_has_nothing_to_write_or_remove_live(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), FRESH, {})
    assert diff.fresh_container
    assert (diff.writes, diff.removals) == ({}, ())


def test_fresh_pod_gets_the_lowest_free_port(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), FRESH, {30000: "other", 30001: ""})
    assert diff.host_port == 30002
    assert diff.container.reason == "under runtime runsc, on host port 30002"


def test_fresh_pod_records_its_plan_and_port(make_plan: MakePlan) -> None:
    plan = make_plan()
    diff = diff_pod(plan, FRESH, {})
    assert diff.record == applied_record(plan, host_port=30000)


def test_diff_walks_resources_in_apply_order(make_plan: MakePlan) -> None:
    resources = [c.resource for c in diff_pod(make_plan(), FRESH, {}).changes]
    assert resources == [
        "network pinacle-demo",
        "volume pinacle-demo-workspace",
        "container pinacle-demo",
        "router config",
        "service web-terminal",
        "service app",
        "pod record /var/lib/pinacle/pods/demo.json",
    ]


def test_an_existing_volume_is_kept_for_a_new_container(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), dataclasses.replace(FRESH, volume=True), {})
    assert (diff.volume.action, diff.container.action) == (Action.NOOP, Action.CREATE)


# --- an applied pod ------------------------------------------------------------------------------


def test_pod_in_sync_is_all_no_op(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    diff = diff_pod(plan, in_sync(plan), TAKEN)
    assert {c.action for c in diff.changes} == {Action.NOOP}
    assert not diff.pending
    assert (diff.host_port, diff.record) == (HELD_PORT, in_sync(plan).record)


def test_a_record_read_back_from_json_matches_the_desired_one(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan(resources=ResourceSpec(cpus=1.5, memory="2g"), host_port=HELD_PORT)
    record = PodRecord.from_json(applied_record(plan).to_json())
    assert diff_pod(plan, in_sync(plan, record=record), TAKEN).record_change.action is Action.NOOP


def test_missing_network_alone_is_created(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    diff = diff_pod(plan, dataclasses.replace(in_sync(plan), network=False), TAKEN)
    assert pending(diff) == [("network pinacle-demo", Action.CREATE)]


def test_memory_change_replaces_the_container_keeping_the_workspace(make_plan: MakePlan, in_sync: InSync) -> None:
    diff = diff_pod(make_plan(resources=ResourceSpec(memory="2g")), in_sync(make_plan()), TAKEN)
    assert (diff.container.action, diff.container.reason) == (
        Action.REPLACE,
        "resources.memory changed; the workspace is kept",
    )
    assert diff.volume.action is Action.NOOP


def test_replacement_keeps_the_held_port(make_plan: MakePlan, in_sync: InSync) -> None:
    diff = diff_pod(make_plan(resources=ResourceSpec(memory="2g")), in_sync(make_plan()), {**TAKEN, 30001: ""})
    assert diff.host_port == HELD_PORT


def test_replaced_container_gets_its_config_copied_in(make_plan: MakePlan, in_sync: InSync) -> None:
    diff = diff_pod(make_plan(resources=ResourceSpec(memory="2g")), in_sync(make_plan()), TAKEN)
    assert set(config(diff).values()) == {Action.CREATE}
    assert (diff.writes, diff.removals) == ({}, ())


def test_replace_names_every_changed_field(make_plan: MakePlan, in_sync: InSync) -> None:
    new = make_plan(resources=ResourceSpec(cpus=2, memory="2g"), env={"GREETING": "bye"})
    diff = diff_pod(new, in_sync(make_plan()), TAKEN)
    assert diff.container.reason == "env, resources.cpus, resources.memory changed; the workspace is kept"


def test_new_image_id_replaces_the_container(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    observed = dataclasses.replace(in_sync(plan), image_id="sha256:" + "ee" * 32)
    diff = diff_pod(plan, observed, TAKEN)
    assert (diff.container.action, diff.container.reason) == (
        Action.REPLACE,
        "image content (rebuilt) changed; the workspace is kept",
    )


def test_another_image_is_named_once(make_plan: MakePlan, in_sync: InSync) -> None:
    observed = dataclasses.replace(in_sync(make_plan()), image_id="sha256:" + "ee" * 32)
    diff = diff_pod(make_plan(image="pinacle/base:next"), observed, TAKEN)
    assert diff.container.reason == "image changed; the workspace is kept"


def test_a_container_without_field_digests_is_replaced_for_an_unnamed_reason(
    make_plan: MakePlan, in_sync: InSync
) -> None:
    old = in_sync(make_plan())
    assert old.container is not None
    labels = {k: v for k, v in old.container.labels.items() if k != LABEL_SPEC_FIELDS}
    observed = dataclasses.replace(old, container=dataclasses.replace(old.container, labels=labels))
    diff = diff_pod(make_plan(resources=ResourceSpec(memory="2g")), observed, TAKEN)
    assert diff.container.reason == "its spec or image changed; the workspace is kept"


def test_stopped_container_is_started(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    diff = diff_pod(plan, in_sync(plan, running=False), TAKEN)
    assert (diff.container.action, diff.container.reason) == (Action.START, "it is stopped")
    assert pending(diff) == [("container pinacle-demo", Action.START)]


def test_requested_host_port_other_than_the_held_one_replaces_the_container(
    make_plan: MakePlan, in_sync: InSync
) -> None:
    plan = make_plan(host_port=31000)
    diff = diff_pod(plan, in_sync(plan), TAKEN)  # the container holds HELD_PORT
    assert (diff.container.action, diff.container.reason) == (Action.REPLACE, "host port 31000 requested")
    assert diff.host_port == 31000


def test_a_record_alone_keeps_the_port_of_an_interrupted_replacement(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    observed = dataclasses.replace(in_sync(plan, record=applied_record(plan, host_port=30007)), container=None)
    assert diff_pod(plan, observed, {}).host_port == 30007


# --- config changes against the host record ------------------------------------------------------


def test_without_a_record_every_config_file_is_rewritten_and_stale_services_go(
    make_plan: MakePlan, in_sync: InSync
) -> None:
    plan = make_plan()
    diff = diff_pod(plan, without_record(in_sync(plan)), TAKEN)
    assert config(diff) == {
        ROUTER_CONFIG_PATH: Action.UPDATE,
        TERMINAL_CONF: Action.UPDATE,
        APP_CONF: Action.UPDATE,
        ALL_SERVICES: Action.DELETE,
    }
    assert diff.writes == plan.config_files
    assert diff.removals == (ALL_SERVICES,)


def test_a_record_for_another_spec_hash_counts_as_no_record(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    stale = dataclasses.replace(applied_record(plan), spec_hash="0" * 16)
    diff = diff_pod(plan, in_sync(plan, record=stale), TAKEN)
    assert diff.writes == plan.config_files
    assert diff.removals == (ALL_SERVICES,)
    assert diff.record_change.action is Action.UPDATE


def test_unrecorded_files_are_described_as_such(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    router = diff_pod(plan, without_record(in_sync(plan)), TAKEN).config[0]
    assert router.describe() == "Would update router config (not recorded as applied; Nginx is reloaded)"


def test_a_changed_router_sha_updates_only_the_router(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    record = applied_record(plan)
    record = dataclasses.replace(record, config={**record.config, ROUTER_CONFIG_PATH: "0" * 64})
    diff = diff_pod(plan, in_sync(plan, record=record), TAKEN)
    assert pending(diff) == [
        ("router config", Action.UPDATE),
        ("pod record /var/lib/pinacle/pods/demo.json", Action.UPDATE),
    ]
    assert diff.writes == {ROUTER_CONFIG_PATH: plan.router_config}
    assert diff.removals == ()


def test_a_record_differing_only_for_day_2_commands_is_rewritten_alone(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    record = dataclasses.replace(applied_record(plan), spec={"slug": "demo"}, host_port=None)
    diff = diff_pod(plan, in_sync(plan, record=record), TAKEN)
    assert pending(diff) == [("pod record /var/lib/pinacle/pods/demo.json", Action.UPDATE)]
    assert diff.record == applied_record(plan)


def test_added_app_updates_router_and_adds_its_service_without_replacing(make_plan: MakePlan, in_sync: InSync) -> None:
    new = make_plan(
        ports=(
            AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000"),
            AppPortSpec(name="docs", port=4000, command="mkdocs serve -a 127.0.0.1:4000"),
        )
    )
    diff = diff_pod(new, in_sync(make_plan()), TAKEN)
    assert pending(diff) == [
        ("router config", Action.UPDATE),
        ("service docs", Action.CREATE),
        ("pod record /var/lib/pinacle/pods/demo.json", Action.UPDATE),
    ]
    assert set(diff.writes) == {ROUTER_CONFIG_PATH, "/etc/pinacle/supervisor/docs.conf"}


def test_changed_app_command_updates_only_its_service(make_plan: MakePlan, in_sync: InSync) -> None:
    new = make_plan(ports=(AppPortSpec(name="app", port=3000, command="serve --port 3000"),))
    diff = diff_pod(new, in_sync(make_plan()), TAKEN)
    assert pending(diff) == [
        ("service app", Action.UPDATE),
        ("pod record /var/lib/pinacle/pods/demo.json", Action.UPDATE),
    ]
    assert diff.writes == {APP_CONF: new.config_files[APP_CONF]}


def test_removed_service_is_deleted(make_plan: MakePlan, in_sync: InSync) -> None:
    diff = diff_pod(make_plan(services=()), in_sync(make_plan()), TAKEN)
    assert Change("service web-terminal", Action.DELETE, "no longer declared", TERMINAL_CONF) in diff.config
    assert diff.removals == (TERMINAL_CONF,)


def test_the_new_record_names_what_was_applied(make_plan: MakePlan, in_sync: InSync) -> None:
    new = make_plan(services=())
    diff = diff_pod(new, in_sync(make_plan()), TAKEN)
    assert diff.record.config == new.config_shas
    assert diff.record.spec_hash == new.container.config_hash(IMAGE_ID)


# --- problems: checked before any change ---------------------------------------------------------


def test_an_image_that_carries_every_service_has_no_problem(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    assert image_problem(plan, in_sync(plan)) == ""


def test_a_missing_image_is_a_problem_that_says_how_to_build_it(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), ObservedPod(), {})
    assert diff.problem.startswith(
        "image pinacle/base:latest is not on this host; build it with docker/build-image.sh base"
    )


def test_an_image_without_a_listed_service_names_the_image_that_has_it(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(services=("web-terminal", "code-server")), FRESH, {})
    assert "does not carry service(s) code-server" in diff.problem
    assert diff.problem.endswith("use image: pinacle/workstation:latest")


def test_an_image_pinacle_did_not_build_is_a_problem(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), dataclasses.replace(FRESH, image_services=None), {})
    assert "is not a pinacle pod image" in diff.problem


def test_a_full_port_range_is_a_problem_for_a_new_container(make_plan: MakePlan) -> None:
    plan = make_plan(DeploySettings(port_range=(30000, 30001)))
    diff = diff_pod(plan, FRESH, {30000: "other", 30001: ""})
    assert diff.problem == "no free host port in 30000-30001; delete pods or widen PINACLE_PORT_RANGE"
    assert diff.host_port is None


def test_a_full_port_range_is_no_problem_for_a_pod_that_holds_a_port(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan(DeploySettings(port_range=(30000, 30001)))
    diff = diff_pod(plan, in_sync(plan), {30000: "demo", 30001: "other"})
    assert (diff.problem, diff.host_port) == ("", 30000)


def test_a_pinned_port_another_pod_holds_is_a_problem(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(host_port=31000), FRESH, {31000: "other"})
    assert diff.problem == "host port 31000 is held by pod other"


def test_a_pinned_port_another_process_listens_on_is_a_problem(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(host_port=31000), FRESH, {31000: ""})
    assert diff.problem == "host port 31000 is held by another process"


def test_a_pinned_port_the_pod_itself_holds_is_no_problem(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan(host_port=HELD_PORT)
    assert diff_pod(plan, in_sync(plan), TAKEN).problem == ""


def test_an_image_problem_is_named_before_a_port_problem(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(host_port=31000), ObservedPod(), {31000: "other"})
    assert "is not on this host" in diff.problem


# --- Change.describe: what --dry-run prints ------------------------------------------------------


def test_dry_run_describes_what_would_happen() -> None:
    change = Change("container pinacle-demo", Action.CREATE, "under runtime runsc")
    assert change.describe() == "Would create container pinacle-demo (under runtime runsc)"


def test_apply_describes_what_happens() -> None:
    change = Change("volume pinacle-demo-workspace", Action.CREATE)
    assert change.describe(dry_run=False) == "Create volume pinacle-demo-workspace"


def test_no_op_is_described_without_would() -> None:
    assert Change("router config", Action.NOOP).describe() == "No change to router config"


def test_replace_reason_is_in_the_description() -> None:
    change = Change("container pinacle-demo", Action.REPLACE, "its spec or image changed")
    assert change.describe() == "Would replace container pinacle-demo (its spec or image changed)"


def test_a_fresh_pod_is_described_change_by_change(make_plan: MakePlan) -> None:
    lines = [c.describe() for c in diff_pod(make_plan(), FRESH, {}).changes]
    assert lines[:3] == [
        "Would create network pinacle-demo",
        "Would create volume pinacle-demo-workspace (with the container)",
        "Would create container pinacle-demo (under runtime runsc, on host port 30000)",
    ]
    assert lines[-1] == "Would update pod record /var/lib/pinacle/pods/demo.json (what day-2 commands read)"


def test_a_pod_in_sync_is_described_as_no_change(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    lines = [c.describe() for c in diff_pod(plan, in_sync(plan), TAKEN).changes]
    assert lines[:3] == [
        "No change to network pinacle-demo",
        "No change to volume pinacle-demo-workspace",
        "No change to container pinacle-demo",
    ]
    assert all(line.startswith("No change to ") for line in lines)


def test_a_runtime_the_host_did_not_register_for_runsc_is_a_problem(make_plan: MakePlan) -> None:
    plan = make_plan()
    diff = diff_pod(plan, ObservedPod(image_id=IMAGE_ID, gvisor_runtimes=frozenset({"runsc-kvm"})), TAKEN)
    assert diff.problem.startswith("runtime runsc is not a gVisor runtime on this host")
    assert "runsc-kvm" in diff.problem


def test_an_unread_runtime_table_is_no_problem(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    assert diff_pod(plan, dataclasses.replace(in_sync(plan), gvisor_runtimes=None), TAKEN).problem == ""


def test_a_container_under_another_runtime_is_replaced_never_started(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    observed = in_sync(plan)
    assert observed.container is not None
    impostor = dataclasses.replace(observed.container, runtime="runc", status="exited")
    diff = diff_pod(plan, dataclasses.replace(observed, container=impostor), TAKEN)
    assert diff.container.action is Action.REPLACE
    assert diff.container.reason == "it runs under runtime runc, not runsc; the workspace is kept"
