"""The Kubernetes objects of a pod: what each says, and that it says what a Docker pod has."""

from __future__ import annotations

import pytest
import yaml

from pinacle.errors import SpecError, UsageError
from pinacle.export.k8s import (
    POD_CAPABILITIES,
    KubernetesOptions,
    config_hash,
    cpu_quantity,
    render_kubernetes_objects,
    to_yaml,
)
from pinacle.pod.desired import plan_pod
from pinacle.pod.names import LABEL_POD, WORKSPACE
from pinacle.pod.settings import DeploySettings
from tests.unit.export.conftest import POD, Render, container, pod_spec, pod_template

# The longest slug a pod file may have (42 characters).
LONGEST_SLUG = "a" * 42


def test_objects_come_in_apply_order(render: Render) -> None:
    assert list(render()) == ["ConfigMap", "Service", "StatefulSet", "Ingress"]


def test_the_runtime_class_is_rendered_only_when_asked_for_and_first(render: Render) -> None:
    objects = render(with_runtime_class=True)
    assert next(iter(objects)) == "RuntimeClass"
    assert objects["RuntimeClass"]["metadata"]["name"] == "gvisor"
    assert "RuntimeClass" not in render()


def test_the_runtime_class_handler_is_the_pods_gvisor_runtime(render: Render) -> None:
    assert render(with_runtime_class=True)["RuntimeClass"]["handler"] == "runsc"
    assert render(pod={"runtime": "runsc-kvm"}, with_runtime_class=True)["RuntimeClass"]["handler"] == "runsc-kvm"


def test_the_pod_runs_in_the_gvisor_runtime_class(render: Render) -> None:
    assert pod_template(render())["spec"]["runtimeClassName"] == "gvisor"
    assert pod_template(render(runtime_class="sandboxed"))["spec"]["runtimeClassName"] == "sandboxed"


def test_the_stateful_set_has_exactly_one_replica(render: Render) -> None:
    assert render()["StatefulSet"]["spec"]["replicas"] == 1


def test_the_container_runs_the_pods_image(render: Render) -> None:
    assert container(render(pod={"image": "registry.example:5000/team/pod:1.2"}))["image"] == (
        "registry.example:5000/team/pod:1.2"
    )


def test_requests_equal_limits_from_the_pods_resources(render: Render) -> None:
    resources = container(render())["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "500m", "memory": "512Mi"}


@pytest.mark.parametrize(
    ("cpus", "quantity"), [(1.0, "1"), (2.0, "2"), (0.5, "500m"), (1.25, "1250m"), (0.1, "100m"), (0.0001, "1m")]
)
def test_cpus_become_a_cpu_quantity_rounded_up_to_a_millicore(cpus: float, quantity: str) -> None:
    assert cpu_quantity(cpus) == quantity


def test_every_file_the_docker_rollout_copies_in_is_mounted_at_the_same_path(render: Render) -> None:
    """The image's entrypoint finds the router and the services where it finds them under Docker."""
    objects = render()
    volumes = {v["name"]: v for v in pod_template(objects)["spec"]["volumes"]}
    data = objects["ConfigMap"]["data"]
    mounted: dict[str, str] = {}
    for mount in container(objects)["volumeMounts"]:
        config_map = volumes.get(mount["name"], {}).get("configMap")
        if config_map:
            assert config_map["name"] == objects["ConfigMap"]["metadata"]["name"]
            for item in config_map["items"]:
                mounted[f"{mount['mountPath']}/{item['path']}"] = data[item["key"]]
    assert mounted == plan_pod(pod_spec(), DeploySettings()).config_files


def test_the_router_config_is_rendered_for_the_domain(render: Render) -> None:
    router = render(domain="dev.example.com")["ConfigMap"]["data"]["router-pod.conf"]
    assert '"pod-example.dev.example.com" 3000;' in router


def test_config_mounts_are_read_only(render: Render) -> None:
    mounts = [m for m in container(render())["volumeMounts"] if m["name"] != "workspace"]
    assert mounts and all(m["readOnly"] for m in mounts)


def test_a_pod_without_supervised_programs_mounts_no_services_directory(render: Render) -> None:
    """A configMap volume without items would project every key, the router's too, as *.conf."""
    objects = render(pod={"services": None, "ports": [{"name": "app", "port": 3000}]})
    assert [v["name"] for v in pod_template(objects)["spec"]["volumes"]] == ["router"]
    assert [m["name"] for m in container(objects)["volumeMounts"]] == ["workspace", "router"]


def test_the_workspace_claim_is_mounted_where_the_docker_volume_is(render: Render) -> None:
    objects = render()
    (claim,) = objects["StatefulSet"]["spec"]["volumeClaimTemplates"]
    mount = next(m for m in container(objects)["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    assert mount["mountPath"] == WORKSPACE == "/workspace"


def test_the_workspace_claim_has_the_size_and_storage_class_asked_for(render: Render) -> None:
    (claim,) = render(workspace_size="25Gi", storage_class="fast-ssd")["StatefulSet"]["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["resources"]["requests"]["storage"] == "25Gi"
    assert claim["spec"]["storageClassName"] == "fast-ssd"


def test_without_a_storage_class_the_claim_takes_the_clusters_default(render: Render) -> None:
    (claim,) = render()["StatefulSet"]["spec"]["volumeClaimTemplates"]
    assert "storageClassName" not in claim["spec"]


def test_the_workspace_claim_outlives_the_stateful_set(render: Render) -> None:
    policy = render()["StatefulSet"]["spec"]["persistentVolumeClaimRetentionPolicy"]
    assert policy == {"whenDeleted": "Retain", "whenScaled": "Retain"}


def test_the_workspace_is_writable_by_the_pods_user_group(render: Render) -> None:
    assert pod_template(render())["spec"]["securityContext"]["fsGroup"] == 1000


def test_env_goes_into_a_secret_read_by_the_container(render: Render) -> None:
    objects = render(pod={"env": {"API_TOKEN": "s3cret", "APP_ENV": "dev"}})
    assert objects["Secret"]["stringData"] == {"API_TOKEN": "s3cret", "APP_ENV": "dev"}
    assert container(objects)["envFrom"] == [{"secretRef": {"name": objects["Secret"]["metadata"]["name"]}}]


def test_env_values_are_not_in_the_stateful_set(render: Render) -> None:
    objects = render(pod={"env": {"API_TOKEN": "s3cret"}})
    assert "s3cret" not in yaml.safe_dump(objects["StatefulSet"])


def test_a_pod_without_env_has_no_secret(render: Render) -> None:
    objects = render()
    assert "Secret" not in objects
    assert "envFrom" not in container(objects)


def test_the_service_selects_the_pod_and_targets_its_router(render: Render) -> None:
    objects = render()
    service = objects["Service"]["spec"]
    assert service["selector"] == objects["StatefulSet"]["spec"]["selector"]["matchLabels"] == {LABEL_POD: "example"}
    assert service["ports"] == [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]
    assert container(objects)["ports"] == [{"name": "http", "containerPort": 80, "protocol": "TCP"}]


def test_the_stateful_set_is_governed_by_the_service(render: Render) -> None:
    objects = render()
    assert objects["StatefulSet"]["spec"]["serviceName"] == objects["Service"]["metadata"]["name"]


def test_the_ingress_answers_the_pods_host_names(render: Render) -> None:
    rules = render(domain="pods.example.com")["Ingress"]["spec"]["rules"]
    assert [rule["host"] for rule in rules] == [
        "pod-example.pods.example.com",
        "localhost-7681.pod-example.pods.example.com",
        "localhost-3000.pod-example.pods.example.com",
    ]


def test_every_ingress_rule_goes_to_the_router_service(render: Render) -> None:
    objects = render()
    backends = [path["backend"] for rule in objects["Ingress"]["spec"]["rules"] for path in rule["http"]["paths"]]
    expected = {"service": {"name": objects["Service"]["metadata"]["name"], "port": {"name": "http"}}}
    assert backends and all(backend == expected for backend in backends)


def test_the_ingress_class_is_set_only_when_given(render: Render) -> None:
    assert render(ingress_class="nginx")["Ingress"]["spec"]["ingressClassName"] == "nginx"
    assert "ingressClassName" not in render()["Ingress"]["spec"]


def test_every_object_carries_the_pod_slug_label(render: Render) -> None:
    objects = render(pod={"env": {"A": "b"}}, with_runtime_class=True)
    for kind, manifest in objects.items():
        if kind != "RuntimeClass":  # cluster-level, shared by every pod
            assert manifest["metadata"]["labels"][LABEL_POD] == "example", kind
    assert pod_template(objects)["metadata"]["labels"][LABEL_POD] == "example"


def test_the_namespace_is_set_on_every_namespaced_object(render: Render) -> None:
    objects = render(pod={"env": {"A": "b"}}, namespace="team-a", with_runtime_class=True)
    for kind, manifest in objects.items():
        assert manifest["metadata"].get("namespace") == (None if kind == "RuntimeClass" else "team-a"), kind


def test_without_a_namespace_no_object_names_one(render: Render) -> None:
    assert all("namespace" not in manifest["metadata"] for manifest in render().values())


def test_the_pods_name_is_an_annotation_not_a_label(render: Render) -> None:
    objects = render(pod={"name": "Ünïcode & spaces: fine"})
    assert pod_template(objects)["metadata"]["annotations"]["pinacle.name"] == "Ünïcode & spaces: fine"
    assert "Ünïcode & spaces: fine" not in objects["StatefulSet"]["metadata"]["labels"].values()


def test_the_container_drops_every_capability_but_the_images_five(render: Render) -> None:
    context = container(render())["securityContext"]
    assert context["capabilities"] == {"drop": ["ALL"], "add": list(POD_CAPABILITIES)}
    assert set(POD_CAPABILITIES) == {"CHOWN", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID"}


def test_the_container_cannot_gain_privileges(render: Render) -> None:
    context = container(render())["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["privileged"] is False


def test_the_pod_uses_the_runtime_default_seccomp_profile_and_no_api_token(render: Render) -> None:
    spec = pod_template(render())["spec"]
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    assert spec["enableServiceLinks"] is False


def test_readiness_is_the_router_listening(render: Render) -> None:
    assert container(render())["readinessProbe"]["tcpSocket"] == {"port": "http"}


def test_a_changed_service_command_changes_the_config_hash(render: Render) -> None:
    before = pod_template(render())["metadata"]["annotations"]["pinacle.config-hash"]
    ports = [{**POD["ports"][0], "command": "python3 -m http.server 3000 --bind 127.0.0.1"}]
    after = pod_template(render(pod={"ports": ports}))["metadata"]["annotations"]["pinacle.config-hash"]
    assert before != after


def test_a_changed_env_value_changes_the_config_hash() -> None:
    first = plan_pod(pod_spec(env={"TOKEN": "one"}), DeploySettings())
    second = plan_pod(pod_spec(env={"TOKEN": "two"}), DeploySettings())
    assert config_hash(first) != config_hash(second)


def test_the_same_pod_renders_the_same_objects_twice(render: Render) -> None:
    assert render(pod={"env": {"A": "b"}}) == render(pod={"env": {"A": "b"}})


def test_the_longest_slug_gives_names_within_kubernetes_limits(render: Render) -> None:
    objects = render(pod={"slug": LONGEST_SLUG, "env": {"A": "b"}})
    for manifest in objects.values():
        assert len(manifest["metadata"]["name"]) <= 63
    # The controller names the pod NAME-0 and labels it controller-revision-hash=NAME-<10 characters>.
    assert len(objects["StatefulSet"]["metadata"]["name"]) + len("-") + 10 <= 63
    for rule in objects["Ingress"]["spec"]["rules"]:
        assert all(len(label) <= 63 for label in rule["host"].split("."))


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"namespace": "Team_A"}, "namespace 'Team_A' must be a DNS label"),
        ({"namespace": "a" * 64}, "must be a DNS label"),
        ({"ingress_class": "nginx class"}, "ingress class 'nginx class' must be a DNS subdomain"),
        ({"storage_class": "-fast"}, "storage class '-fast' must be a DNS subdomain"),
        ({"runtime_class": "gVisor"}, "runtime class 'gVisor' must be a DNS subdomain"),
        ({"workspace_size": "10GB"}, "workspace size '10GB' must be a positive quantity"),
        ({"workspace_size": "0Gi"}, "must be a positive quantity"),
        ({"workspace_size": "10Gi\n"}, "must be a positive quantity"),
    ],
)
def test_a_bad_option_is_a_usage_error_naming_it(options: dict[str, str], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        KubernetesOptions(**options)


def test_a_bad_domain_is_refused_as_pinacle_domain_is() -> None:
    with pytest.raises(SpecError, match="domain 'not a domain' is not a valid host name suffix"):
        KubernetesOptions(domain="not a domain")


def test_the_yaml_stream_loads_back_to_the_same_objects() -> None:
    objects = render_kubernetes_objects(pod_spec(env={"A": "b"}), KubernetesOptions())
    assert list(yaml.safe_load_all(to_yaml(objects, header="a header"))) == objects


def test_the_yaml_stream_spells_every_object_out_without_aliases() -> None:
    text = to_yaml(render_kubernetes_objects(pod_spec(), KubernetesOptions()))
    assert "&id" not in text and "*id" not in text


def test_the_yaml_stream_shows_config_files_as_literal_blocks() -> None:
    text = to_yaml(render_kubernetes_objects(pod_spec(), KubernetesOptions()))
    assert "  router-pod.conf: |\n" in text


def test_the_yaml_header_is_a_comment() -> None:
    text = to_yaml(render_kubernetes_objects(pod_spec(), KubernetesOptions()), header="line one\nline two")
    assert text.startswith("# line one\n# line two\n---\n")
