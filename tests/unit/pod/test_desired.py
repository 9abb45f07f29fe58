"""pinacle.pod.desired: a resolved pod file compiles into the resources of the pod. Plain asserts."""

from __future__ import annotations

from typing import Any

import pytest

from pinacle.catalog import CATALOG
from pinacle.pod.desired import ServiceProgram, plan_pod, pod_routes, sha256
from pinacle.pod.names import (
    LABEL_DOMAIN,
    LABEL_NAME,
    LABEL_POD,
    LABEL_ROUTES,
    LABEL_SPEC_FIELDS,
    LABEL_SPEC_HASH,
    ROUTER_CONFIG_PATH,
)
from pinacle.pod.settings import DeploySettings
from pinacle.router import Route
from pinacle.spec import AppPortSpec, ResourceSpec
from tests.unit.pod.conftest import IMAGE_ID, MakePlan, MakeSpec

# --- names and labels ----------------------------------------------------------------------------


def test_container_and_network_are_named_for_the_slug(make_plan: MakePlan) -> None:
    plan = make_plan()
    assert plan.container.name == "pinacle-demo"
    assert plan.network == plan.container.network == "pinacle-demo"


def test_workspace_volume_is_named_for_the_slug(make_plan: MakePlan) -> None:
    plan = make_plan()
    assert plan.volume == plan.container.volume == "pinacle-demo-workspace"


def test_every_resource_label_names_the_pod(make_plan: MakePlan) -> None:
    assert make_plan().labels == {LABEL_POD: "demo"}


def test_container_labels_describe_the_pod(make_plan: MakePlan) -> None:
    assert dict(make_plan().container.labels) == {
        LABEL_POD: "demo",
        LABEL_NAME: "Demo pod",
        LABEL_DOMAIN: "localhost",
        LABEL_ROUTES: "web-terminal:7681,app:3000",
    }


def test_domain_setting_reaches_labels_and_router(make_plan: MakePlan) -> None:
    plan = make_plan(DeploySettings(domain="pods.example.com"))
    assert dict(plan.container.labels)[LABEL_DOMAIN] == "pods.example.com"
    assert "localhost-3000.pod-demo.pods.example.com" in plan.router_config


def test_publish_address_setting_reaches_the_container(make_plan: MakePlan) -> None:
    assert make_plan(DeploySettings(publish_address="0.0.0.0")).container.publish_address == "0.0.0.0"


def test_plan_keeps_the_resolved_pod_file_and_the_port_range(make_spec: MakeSpec) -> None:
    spec = make_spec()
    plan = plan_pod(spec, DeploySettings(port_range=(31000, 31010)))
    assert plan.spec == spec
    assert plan.port_range == (31000, 31010)


# --- routes and programs -------------------------------------------------------------------------


def test_routes_list_services_first_then_app_ports(make_plan: MakePlan) -> None:
    plan = make_plan(
        services=("code-server", "web-terminal"),
        ports=(AppPortSpec(name="api", port=4000), AppPortSpec(name="ui", port=5173)),
    )
    assert [(r.name, r.port) for r in plan.routes] == [
        ("code-server", 8726),
        ("web-terminal", 7681),
        ("api", 4000),
        ("ui", 5173),
    ]


def test_app_health_path_is_carried_into_its_route(make_plan: MakePlan) -> None:
    plan = make_plan(ports=(AppPortSpec(name="app", port=3000, health_path="/healthz"),))
    assert plan.routes[-1] == Route("app", 3000, "/healthz")


def test_pod_routes_are_the_routes_of_the_plan_without_its_router(make_spec: MakeSpec) -> None:
    spec = make_spec(
        services=("code-server",), ports=(AppPortSpec(name="api", port=4000, health_path="/up", command="api"),)
    )
    assert pod_routes(spec) == plan_pod(spec, DeploySettings()).routes


def test_catalog_service_becomes_a_program_with_its_start_command(make_plan: MakePlan) -> None:
    program = make_plan().programs[0]
    service = CATALOG["web-terminal"]
    assert (program.name, program.port, program.command, program.health_path) == (
        "web-terminal",
        7681,
        service.start,
        service.health_path,
    )


def test_app_with_a_command_is_supervised(make_plan: MakePlan) -> None:
    program = make_plan().programs[1]
    assert (program.name, program.port, program.command) == ("app", 3000, "python3 -m http.server 3000")


def test_app_without_a_command_is_routed_but_not_supervised(make_plan: MakePlan) -> None:
    plan = make_plan(ports=(AppPortSpec(name="app", port=3000),))
    assert [p.name for p in plan.programs] == ["web-terminal"]
    assert ("app", 3000) in [(r.name, r.port) for r in plan.routes]


def test_services_run_as_the_pods_unprivileged_user_in_the_workspace(make_plan: MakePlan) -> None:
    conf = make_plan().programs[0].supervisor_conf()
    assert "\nuser=dev\n" in conf
    assert "\ndirectory=/workspace\n" in conf
    assert 'environment=HOME="/home/dev",USER="dev",LOGNAME="dev",SHELL="/bin/bash"\n' in conf


def test_router_config_routes_every_declared_port(make_plan: MakePlan) -> None:
    config = make_plan().router_config
    assert '"localhost-7681.pod-demo.localhost" 7681;' in config
    assert '"localhost-3000.pod-demo.localhost" 3000;' in config


def test_main_port_is_the_first_app_port(make_plan: MakePlan) -> None:
    assert make_plan().main_port == 3000


def test_container_gets_resources_runtime_and_sorted_env(make_plan: MakePlan) -> None:
    plan = make_plan(resources=ResourceSpec(cpus=1.5, memory="2g"), env={"B": "2", "A": "1"}, runtime="gvisor")
    container = plan.container
    assert (container.cpus, container.memory_mb, container.runtime) == (1.5, 2048, "gvisor")
    assert container.env == (("A", "1"), ("B", "2"))


def test_urls_use_the_pod_host_names_and_the_published_port(make_plan: MakePlan) -> None:
    assert make_plan().urls(30001) == {
        "web-terminal": "http://localhost-7681.pod-demo.localhost:30001/",
        "app": "http://localhost-3000.pod-demo.localhost:30001/",
    }


# --- config_files and config_shas ----------------------------------------------------------------


def test_config_files_are_the_router_and_one_file_per_program(make_plan: MakePlan) -> None:
    plan = make_plan()
    assert plan.config_files == {
        ROUTER_CONFIG_PATH: plan.router_config,
        "/etc/pinacle/supervisor/web-terminal.conf": plan.programs[0].supervisor_conf(),
        "/etc/pinacle/supervisor/app.conf": plan.programs[1].supervisor_conf(),
    }


def test_config_files_of_a_pod_without_programs_are_the_router_alone(make_plan: MakePlan) -> None:
    plan = make_plan(services=(), ports=(AppPortSpec(name="app", port=3000),))
    assert list(plan.config_files) == [ROUTER_CONFIG_PATH]


def test_config_shas_are_the_sha256_of_each_file(make_plan: MakePlan) -> None:
    plan = make_plan()
    assert plan.config_shas == {path: sha256(text) for path, text in plan.config_files.items()}
    assert sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_config_shas_change_only_for_the_file_that_changed(make_plan: MakePlan) -> None:
    before = make_plan().config_shas
    after = make_plan(ports=(AppPortSpec(name="app", port=3000, command="serve"),)).config_shas
    assert [path for path in before if before[path] != after[path]] == ["/etc/pinacle/supervisor/app.conf"]


# --- ContainerSpec: config hash, spec labels, changed fields -------------------------------------


def test_config_hash_is_stable_across_plans(make_plan: MakePlan) -> None:
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
        {"name": "Renamed pod"},
    ],
    ids=["memory", "cpus", "env", "image", "runtime", "host_port", "name"],
)
def test_config_hash_changes_with_what_docker_create_is_given(make_plan: MakePlan, overrides: dict[str, Any]) -> None:
    before = make_plan().container.config_hash(IMAGE_ID)
    assert make_plan(**overrides).container.config_hash(IMAGE_ID) != before


def test_config_hash_changes_with_the_image_id(make_plan: MakePlan) -> None:
    container = make_plan().container
    assert container.config_hash(IMAGE_ID) != container.config_hash("sha256:" + "cd" * 32)


def test_config_hash_changes_with_the_publish_address(make_plan: MakePlan) -> None:
    before = make_plan().container.config_hash(IMAGE_ID)
    assert make_plan(DeploySettings(publish_address="0.0.0.0")).container.config_hash(IMAGE_ID) != before


@pytest.mark.parametrize(
    "ports",
    [
        (AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000", health_path="/up"),),
        (AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000 -b ::"),),
        (
            AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000"),
            AppPortSpec(name="docs", port=4000),
        ),
    ],
    ids=["health_path", "app_command", "added_route"],
)
def test_config_hash_ignores_what_is_applied_live(make_plan: MakePlan, ports: tuple[AppPortSpec, ...]) -> None:
    before = make_plan().container.config_hash(IMAGE_ID)
    assert make_plan(ports=ports).container.config_hash(IMAGE_ID) == before


def test_spec_labels_carry_the_config_hash(make_plan: MakePlan) -> None:
    container = make_plan().container
    assert container.spec_labels(IMAGE_ID)[LABEL_SPEC_HASH] == container.config_hash(IMAGE_ID)


def test_spec_fields_label_has_a_short_digest_per_field(make_plan: MakePlan) -> None:
    fields = make_plan().container.spec_labels(IMAGE_ID)[LABEL_SPEC_FIELDS].split(",")
    names = [item.split(":", 1)[0] for item in fields]
    assert names == sorted(names)
    assert "memory_mb" in names and "image_id" in names
    assert all(len(item.split(":", 1)[1]) == 8 for item in fields)


def test_field_digests_do_not_reveal_env_values(make_plan: MakePlan) -> None:
    labels = make_plan(env={"TOKEN": "s3cret-value"}).container.spec_labels(IMAGE_ID)
    assert "s3cret" not in "".join(labels.values())


def test_changed_fields_use_the_pod_file_names(make_plan: MakePlan) -> None:
    recorded = make_plan().container.spec_labels(IMAGE_ID)[LABEL_SPEC_FIELDS]
    new = make_plan(resources=ResourceSpec(cpus=2, memory="2g"), env={"GREETING": "bye"}).container
    assert new.changed_fields(IMAGE_ID, recorded) == ["env", "resources.cpus", "resources.memory"]


def test_changed_fields_name_another_image_once(make_plan: MakePlan) -> None:
    recorded = make_plan().container.spec_labels(IMAGE_ID)[LABEL_SPEC_FIELDS]
    new = make_plan(image="pinacle/base:next").container
    assert new.changed_fields("sha256:" + "ee" * 32, recorded) == ["image"]


def test_changed_fields_name_a_rebuilt_image(make_plan: MakePlan) -> None:
    container = make_plan().container
    recorded = container.spec_labels(IMAGE_ID)[LABEL_SPEC_FIELDS]
    assert container.changed_fields("sha256:" + "ee" * 32, recorded) == ["image content (rebuilt)"]


def test_changed_fields_without_a_recorded_label_are_unknown(make_plan: MakePlan) -> None:
    assert make_plan().container.changed_fields(IMAGE_ID, None) == []


# --- ServiceProgram.supervisor_conf --------------------------------------------------------------


def test_supervisor_conf_doubles_percent_signs() -> None:
    program = ServiceProgram("app", 3000, "date +%s; printf '100%%'", "/")
    assert "command=date +%%s; printf '100%%%%'\n" in program.supervisor_conf()


def test_supervisor_conf_declares_the_program_and_its_log() -> None:
    conf = ServiceProgram("app", 3000, "serve", "/").supervisor_conf()
    assert "[program:app]\n" in conf
    assert "stdout_logfile=/var/log/pinacle/app.log\n" in conf


def test_supervisor_conf_lives_in_the_supervisor_include_dir() -> None:
    assert ServiceProgram("app", 3000, "serve", "/").conf_path == "/etc/pinacle/supervisor/app.conf"
