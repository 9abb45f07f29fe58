"""pinacle.plan: a spec compiles to resources; observed state diffs to actions. Plain asserts."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from pinacle.catalog import CATALOG
from pinacle.errors import SpecError
from pinacle.plan import (
    LABEL_DOMAIN,
    LABEL_NAME,
    LABEL_POD,
    LABEL_PORT,
    LABEL_ROUTES,
    LABEL_SPEC_FIELDS,
    Action,
    Change,
    ContainerRecord,
    DeploySettings,
    ObservedPod,
    PodPlan,
    ServiceProgram,
    diff_pod,
    has_changes,
    image_problem,
    lowest_free_port,
    plan_pod,
    sha256,
)
from pinacle.router import Route
from pinacle.spec import AppPortSpec, PodSpec, ResourceSpec

IMAGE_ID = "sha256:" + "ab" * 32
SETTINGS = DeploySettings()


def make_spec(**overrides: Any) -> PodSpec:
    fields: dict[str, Any] = {
        "name": "Demo pod",
        "slug": "demo",
        "services": ("web-terminal",),
        "ports": (AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000"),),
        "env": {"GREETING": "hello"},
    }
    return PodSpec(**{**fields, **overrides})


def make_plan(**overrides: Any) -> PodPlan:
    return plan_pod(make_spec(**overrides), SETTINGS)


def in_sync(plan: PodPlan, running: bool = True) -> ObservedPod:
    """What the host shows once ``plan`` was applied."""
    labels = {**dict(plan.container.labels), **plan.container.spec_labels(IMAGE_ID), LABEL_PORT: "30000"}
    return ObservedPod(
        network=True,
        volume=True,
        container=ContainerRecord("pinacle-demo", "c0ffee", "running" if running else "exited", labels=labels),
        image_id=IMAGE_ID,
        router_sha=plan.router_sha,
        metadata_sha=sha256(plan.metadata),
        program_shas={p.name: sha256(p.supervisor_conf()) for p in plan.programs},
        image_services=frozenset(plan.spec.services),
    )


def actions(changes: list[Change]) -> dict[str, Action]:
    return {c.resource: c.action for c in changes}


# --- plan_pod: names, labels, routes, programs ---------------------------------------------------


def test_container_and_network_are_named_for_the_slug() -> None:
    plan = make_plan()
    assert plan.container.name == "pinacle-demo"
    assert plan.network == plan.container.network == "pinacle-demo"


def test_workspace_volume_is_named_for_the_slug() -> None:
    plan = make_plan()
    assert plan.volume == plan.container.volume == "pinacle-demo-workspace"


def test_every_resource_label_names_the_pod() -> None:
    assert make_plan().labels == {LABEL_POD: "demo"}


def test_container_labels_describe_the_pod() -> None:
    labels = dict(make_plan().container.labels)
    assert labels == {
        LABEL_POD: "demo",
        LABEL_NAME: "Demo pod",
        LABEL_DOMAIN: "localhost",
        LABEL_ROUTES: "web-terminal:7681,app:3000",
    }


def test_routes_list_services_first_then_app_ports() -> None:
    spec = make_spec(
        services=("code-server", "web-terminal"),
        ports=(AppPortSpec(name="api", port=4000), AppPortSpec(name="ui", port=5173)),
    )
    routes = plan_pod(spec, SETTINGS).routes
    assert [(r.name, r.port) for r in routes] == [
        ("code-server", 8726),
        ("web-terminal", 7681),
        ("api", 4000),
        ("ui", 5173),
    ]


def test_app_health_path_is_carried_into_its_route() -> None:
    spec = make_spec(ports=(AppPortSpec(name="app", port=3000, health_path="/healthz"),))
    assert plan_pod(spec, SETTINGS).routes[-1] == Route("app", 3000, "/healthz")


def test_catalog_service_becomes_a_program_with_its_start_command() -> None:
    program = make_plan().programs[0]
    service = CATALOG["web-terminal"]
    assert (program.name, program.port, program.command, program.health_path) == (
        "web-terminal",
        7681,
        service.start,
        service.health_path,
    )


def test_app_with_a_command_is_supervised() -> None:
    program = make_plan().programs[1]
    assert (program.name, program.port, program.command) == (
        "app",
        3000,
        "python3 -m http.server 3000",
    )


def test_services_run_as_the_pods_unprivileged_user_in_the_workspace() -> None:
    conf = make_plan().programs[0].supervisor_conf()
    assert "\nuser=dev\n" in conf
    assert "\ndirectory=/workspace\n" in conf
    assert 'environment=HOME="/home/dev",USER="dev",LOGNAME="dev",SHELL="/bin/bash"\n' in conf


# --- image_problem: the image must carry the pod's services ---------------------------------------


def test_an_image_that_carries_every_service_has_no_problem() -> None:
    plan = make_plan()
    assert image_problem(plan, in_sync(plan)) == ""


def test_a_missing_image_is_a_problem_that_says_how_to_build_it() -> None:
    plan = make_plan()
    problem = image_problem(plan, dataclasses.replace(in_sync(plan), image_id=None))
    assert problem.startswith("image pinacle/base:latest is not on this host; build it with docker/build-base-image.sh")


def test_an_image_without_a_listed_service_names_the_image_that_has_it() -> None:
    plan = make_plan(services=("web-terminal", "code-server"))
    observed = dataclasses.replace(in_sync(plan), image_services=frozenset({"web-terminal"}))
    assert "does not carry service(s) code-server" in image_problem(plan, observed)
    assert image_problem(plan, observed).endswith("use image: pinacle/workstation:latest")


def test_app_without_a_command_is_routed_but_not_supervised() -> None:
    plan = make_plan(ports=(AppPortSpec(name="app", port=3000),))
    assert [p.name for p in plan.programs] == ["web-terminal"]
    assert ("app", 3000) in [(r.name, r.port) for r in plan.routes]


def test_router_config_routes_every_declared_port() -> None:
    config = make_plan().router_config
    assert '"localhost-7681.pod-demo.localhost" 7681;' in config
    assert '"localhost-3000.pod-demo.localhost" 3000;' in config


def test_main_port_is_the_first_app_port() -> None:
    assert make_plan().main_port == 3000


def test_container_gets_resources_runtime_and_sorted_env() -> None:
    spec = make_spec(resources=ResourceSpec(cpus=1.5, memory="2g"), env={"B": "2", "A": "1"}, runtime="gvisor")
    container = plan_pod(spec, SETTINGS).container
    assert (container.cpus, container.memory_mb, container.runtime) == (1.5, 2048, "gvisor")
    assert container.env == (("A", "1"), ("B", "2"))


def test_urls_use_the_pod_host_names_and_the_published_port() -> None:
    assert make_plan().urls(30001) == {
        "web-terminal": "http://localhost-7681.pod-demo.localhost:30001/",
        "app": "http://localhost-3000.pod-demo.localhost:30001/",
    }


# --- ContainerSpec.config_hash -------------------------------------------------------------------


def test_config_hash_is_stable_across_plans() -> None:
    assert make_plan().container.config_hash(IMAGE_ID) == make_plan().container.config_hash(IMAGE_ID)


@pytest.mark.parametrize(
    "overrides",
    [
        {"resources": ResourceSpec(memory="2g")},
        {"resources": ResourceSpec(cpus=2.0)},
        {"env": {"GREETING": "bye"}},
        {"image": "pinacle/base:next"},
        {"runtime": "gvisor"},
        {"host_port": 31000},
    ],
    ids=["memory", "cpus", "env", "image", "runtime", "host_port"],
)
def test_config_hash_changes_with_what_docker_run_is_given(overrides: dict[str, Any]) -> None:
    before = make_plan().container.config_hash(IMAGE_ID)
    assert make_plan(**overrides).container.config_hash(IMAGE_ID) != before


def test_config_hash_changes_with_the_image_id() -> None:
    container = make_plan().container
    assert container.config_hash(IMAGE_ID) != container.config_hash("sha256:" + "cd" * 32)


def test_config_hash_ignores_a_health_path_change() -> None:
    before = make_plan().container.config_hash(IMAGE_ID)
    ports = (AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000", health_path="/up"),)
    assert make_plan(ports=ports).container.config_hash(IMAGE_ID) == before


def test_config_hash_ignores_an_app_command_change() -> None:
    before = make_plan().container.config_hash(IMAGE_ID)
    ports = (AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000 -b ::"),)
    assert make_plan(ports=ports).container.config_hash(IMAGE_ID) == before


def test_config_hash_ignores_an_added_route() -> None:
    before = make_plan().container.config_hash(IMAGE_ID)
    ports = (
        AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000"),
        AppPortSpec(name="docs", port=4000),
    )
    assert make_plan(ports=ports).container.config_hash(IMAGE_ID) == before


# --- ServiceProgram.supervisor_conf --------------------------------------------------------------


def test_supervisor_conf_doubles_percent_signs() -> None:
    program = ServiceProgram("app", 3000, "date +%s; printf '100%%'", "/")
    assert "command=date +%%s; printf '100%%%%'\n" in program.supervisor_conf()


def test_supervisor_conf_declares_the_program_in_the_workspace() -> None:
    conf = ServiceProgram("app", 3000, "serve", "/").supervisor_conf()
    assert "[program:app]\n" in conf
    assert "directory=/workspace\n" in conf
    assert "stdout_logfile=/var/log/pinacle/app.log\n" in conf


def test_supervisor_conf_lives_in_the_supervisor_include_dir() -> None:
    assert ServiceProgram("app", 3000, "serve", "/").conf_path == "/etc/pinacle/supervisor/app.conf"


# --- DeploySettings ------------------------------------------------------------------------------


def test_deploy_settings_defaults() -> None:
    assert (SETTINGS.domain, SETTINGS.port_range, SETTINGS.publish_address) == (
        "localhost",
        (30000, 40000),
        "127.0.0.1",
    )


@pytest.mark.parametrize("port_range", [(80, 90), (40000, 30000), (30000, 70000)])
def test_port_range_outside_unprivileged_ports_or_reversed_is_refused(
    port_range: tuple[int, int],
) -> None:
    with pytest.raises(SpecError, match="port range"):
        DeploySettings(port_range=port_range)


@pytest.mark.parametrize("domain", ["", "a;b", "x}.example", "$host", "Example.com"])
def test_domain_that_is_not_a_host_name_is_refused(domain: str) -> None:
    with pytest.raises(SpecError, match="not a valid host name suffix"):
        DeploySettings(domain=domain)


@pytest.mark.parametrize("address", ["localhost", "::1", "127.0.0.1; id"])
def test_publish_address_that_is_not_ipv4_is_refused(address: str) -> None:
    with pytest.raises(SpecError, match="must be an IPv4 address"):
        DeploySettings(publish_address=address)


def test_from_env_without_variables_gives_the_defaults() -> None:
    assert DeploySettings.from_env({}) == DeploySettings()


def test_from_env_reads_domain_range_and_address() -> None:
    settings = DeploySettings.from_env(
        {
            "PINACLE_DOMAIN": "pods.example.com",
            "PINACLE_PORT_RANGE": "31000-31010",
            "PINACLE_PUBLISH_ADDRESS": "0.0.0.0",
        }
    )
    assert settings == DeploySettings("pods.example.com", (31000, 31010), "0.0.0.0")


@pytest.mark.parametrize("raw", ["30000", "30000:40000", "a-b", "30000 - 40000"])
def test_from_env_refuses_a_malformed_port_range(raw: str) -> None:
    with pytest.raises(SpecError, match="PINACLE_PORT_RANGE must look like 30000-40000"):
        DeploySettings.from_env({"PINACLE_PORT_RANGE": raw})


def test_from_env_refuses_an_out_of_bounds_port_range() -> None:
    with pytest.raises(SpecError, match="port range 100-200"):
        DeploySettings.from_env({"PINACLE_PORT_RANGE": "100-200"})


def test_from_env_refuses_a_bad_domain() -> None:
    with pytest.raises(SpecError, match="domain"):
        DeploySettings.from_env({"PINACLE_DOMAIN": "bad domain"})


def test_domain_setting_reaches_labels_and_router() -> None:
    plan = plan_pod(make_spec(), DeploySettings(domain="pods.example.com"))
    assert dict(plan.container.labels)[LABEL_DOMAIN] == "pods.example.com"
    assert "localhost-3000.pod-demo.pods.example.com" in plan.router_config


# --- diff_pod ------------------------------------------------------------------------------------


def test_nothing_observed_creates_everything() -> None:
    plan = make_plan()
    assert actions(diff_pod(plan, ObservedPod())) == {
        "network pinacle-demo": Action.CREATE,
        "volume pinacle-demo-workspace": Action.CREATE,
        "container pinacle-demo": Action.CREATE,
        "router config": Action.UPDATE,
        "service web-terminal (port 7681)": Action.CREATE,
        "service app (port 3000)": Action.CREATE,
        "pod record /etc/pinacle/pod.json": Action.UPDATE,
    }


def test_diff_walks_resources_in_apply_order() -> None:
    resources = [c.resource for c in diff_pod(make_plan(), ObservedPod())]
    assert resources[:4] == [
        "network pinacle-demo",
        "volume pinacle-demo-workspace",
        "container pinacle-demo",
        "router config",
    ]


def test_pod_in_sync_is_all_no_op() -> None:
    plan = make_plan()
    changes = diff_pod(plan, in_sync(plan))
    assert {c.action for c in changes} == {Action.NOOP}
    assert not has_changes(changes)


def test_anything_to_do_is_a_change() -> None:
    assert has_changes(diff_pod(make_plan(), ObservedPod()))


def test_memory_change_replaces_the_container_keeping_the_workspace() -> None:
    old = make_plan()
    new = make_plan(resources=ResourceSpec(memory="2g"))
    change = diff_pod(new, in_sync(old))[2]
    assert (change.action, change.reason) == (Action.REPLACE, "resources.memory changed; the workspace is kept")


def test_replace_names_every_changed_field() -> None:
    old = make_plan()
    new = make_plan(resources=ResourceSpec(cpus=2, memory="2g"), env={"GREETING": "bye"})
    change = diff_pod(new, in_sync(old))[2]
    assert change.reason == "env, resources.cpus, resources.memory changed; the workspace is kept"


def test_another_image_is_named_once() -> None:
    old = make_plan()
    new = make_plan(image="pinacle/base:next")
    observed = dataclasses.replace(in_sync(old), image_id="sha256:" + "ee" * 32)
    assert diff_pod(new, observed)[2].reason == "image changed; the workspace is kept"


def test_a_container_without_field_digests_is_replaced_for_an_unnamed_reason() -> None:
    old = in_sync(make_plan())
    assert old.container is not None
    labels = {k: v for k, v in old.container.labels.items() if k != LABEL_SPEC_FIELDS}
    observed = dataclasses.replace(old, container=dataclasses.replace(old.container, labels=labels))
    change = diff_pod(make_plan(resources=ResourceSpec(memory="2g")), observed)[2]
    assert change.reason == "its spec or image changed; the workspace is kept"


def test_field_digests_do_not_reveal_env_values() -> None:
    labels = make_plan(env={"TOKEN": "s3cret-value"}).container.spec_labels(IMAGE_ID)
    assert "s3cret" not in "".join(labels.values())


def test_replaced_container_gets_router_and_services_rewritten() -> None:
    old = make_plan()
    new = make_plan(resources=ResourceSpec(memory="2g"))
    changes = actions(diff_pod(new, in_sync(old)))
    assert changes["router config"] is Action.UPDATE
    assert changes["service app (port 3000)"] is Action.CREATE


def test_new_image_id_replaces_the_container() -> None:
    plan = make_plan()
    observed = dataclasses.replace(in_sync(plan), image_id="sha256:" + "ee" * 32)
    change = diff_pod(plan, observed)[2]
    assert (change.action, change.reason) == (Action.REPLACE, "image content (rebuilt) changed; the workspace is kept")


def test_requested_host_port_other_than_the_held_one_replaces_the_container() -> None:
    plan = make_plan(host_port=31000)
    change = diff_pod(plan, in_sync(plan))[2]  # in_sync holds port 30000
    assert (change.action, change.reason) == (Action.REPLACE, "host port 31000 requested")


def test_stopped_container_is_started() -> None:
    plan = make_plan()
    change = diff_pod(plan, in_sync(plan, running=False))[2]
    assert (change.action, change.reason) == (Action.START, "it is stopped")


def test_router_config_differing_is_updated() -> None:
    plan = make_plan()
    observed = dataclasses.replace(in_sync(plan), router_sha="0" * 64)
    assert actions(diff_pod(plan, observed))["router config"] is Action.UPDATE


def test_pod_record_differing_is_rewritten_without_touching_the_router() -> None:
    plan = make_plan()
    observed = dataclasses.replace(in_sync(plan), metadata_sha=None)
    changes = [c for c in diff_pod(plan, observed) if c.action is not Action.NOOP]
    assert [(c.resource, c.action) for c in changes] == [("pod record /etc/pinacle/pod.json", Action.UPDATE)]


def test_the_pod_record_is_written_last() -> None:
    assert diff_pod(make_plan(), ObservedPod())[-1].resource == "pod record /etc/pinacle/pod.json"


def test_added_app_port_updates_router_and_adds_a_service_without_replacing() -> None:
    old = make_plan()
    new = make_plan(
        ports=(
            AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000"),
            AppPortSpec(name="docs", port=4000, command="mkdocs serve -a 127.0.0.1:4000"),
        )
    )
    changes = [c for c in diff_pod(new, in_sync(old)) if c.action is not Action.NOOP]
    assert [(c.resource, c.action) for c in changes] == [
        ("router config", Action.UPDATE),
        ("service docs (port 4000)", Action.CREATE),
        ("pod record /etc/pinacle/pod.json", Action.UPDATE),
    ]


def test_changed_app_command_updates_only_its_service() -> None:
    old = make_plan()
    new = make_plan(ports=(AppPortSpec(name="app", port=3000, command="serve --port 3000"),))
    changes = [c for c in diff_pod(new, in_sync(old)) if c.action is not Action.NOOP]
    assert [(c.resource, c.action) for c in changes] == [
        ("service app (port 3000)", Action.UPDATE),
        ("pod record /etc/pinacle/pod.json", Action.UPDATE),
    ]


def test_removed_service_is_deleted() -> None:
    old = make_plan()
    new = make_plan(services=())
    changes = diff_pod(new, in_sync(old))
    assert changes[-2] == Change("service web-terminal", Action.DELETE, "no longer declared")


def test_missing_network_alone_is_created() -> None:
    plan = make_plan()
    observed = dataclasses.replace(in_sync(plan), network=False)
    changes = [c for c in diff_pod(plan, observed) if c.action is not Action.NOOP]
    assert changes == [Change("network pinacle-demo", Action.CREATE)]  # the pod record is not stale


# --- Change.describe -----------------------------------------------------------------------------


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


# --- lowest_free_port ----------------------------------------------------------------------------


def test_lowest_free_port_is_the_bottom_of_an_empty_range() -> None:
    assert lowest_free_port((30000, 30010), set()) == 30000


def test_lowest_free_port_skips_taken_ports() -> None:
    assert lowest_free_port((30000, 30010), {30000, 30001, 30003}) == 30002


def test_lowest_free_port_includes_the_top_of_the_range() -> None:
    assert lowest_free_port((30000, 30001), {30000}) == 30001


def test_full_range_has_no_free_port() -> None:
    assert lowest_free_port((30000, 30001), {30000, 30001}) is None
