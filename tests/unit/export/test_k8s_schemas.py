"""The rendered objects validate against Kubernetes' published OpenAPI schemas, offline.

``kubernetes-validate`` ships the schemas of every Kubernetes release it supports; ``strict``
refuses any field the schema does not know. Nothing here talks to a cluster: the objects were
never applied to one (see the README's Kubernetes section).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from pinacle.export.k8s import KubernetesOptions, Manifest, render_kubernetes_objects
from pinacle.resolver import resolve, template_names
from tests.unit.conftest import REPO
from tests.unit.export.conftest import by_kind, pod_spec

# The oldest and the newest release whose schemas the pinned validator ships (and the README names).
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")
POD_FILES = sorted((REPO / "pods").glob("*.yaml"))
ALL_OPTIONS = KubernetesOptions(
    namespace="team-a",
    domain="pods.example.com",
    ingress_class="nginx",
    storage_class="fast-ssd",
    workspace_size="20Gi",
    with_runtime_class=True,
)


def validate(objects: list[Manifest], version: str) -> None:
    for manifest in objects:
        kubernetes_validate.validate(manifest, version, strict=True)


def test_the_example_pod_files_are_all_covered() -> None:
    assert {path.name for path in POD_FILES} >= {"example.yaml", "python-api.yaml", "workstation.yaml"}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("options", [KubernetesOptions(), ALL_OPTIONS], ids=["defaults", "every-option"])
@pytest.mark.parametrize("pod_file", POD_FILES, ids=[path.name for path in POD_FILES])
def test_every_example_pod_file_validates(pod_file: Path, options: KubernetesOptions, version: str) -> None:
    validate(render_kubernetes_objects(resolve(pod_file), options), version)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("template", template_names())
def test_every_pod_template_validates(template: str, version: str) -> None:
    validate(render_kubernetes_objects(resolve(template), ALL_OPTIONS), version)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_a_pod_with_env_and_no_supervised_program_validates(version: str) -> None:
    spec = pod_spec(services=None, ports=[{"name": "app", "port": 3000}], env={"A": "b"})
    validate(render_kubernetes_objects(spec, ALL_OPTIONS), version)


def test_validation_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the validator tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    validate(render_kubernetes_objects(pod_spec(env={"A": "b"}), ALL_OPTIONS), KUBERNETES_VERSIONS[-1])


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [("StatefulSet", "replicas", "one"), ("StatefulSet", "replicaz", 1), ("Ingress", "rules", {"host": "x"})],
)
def test_the_validator_refuses_a_broken_object(kind: str, field: str, value: Any) -> None:
    """Proof that the checks above can fail: one wrong or unknown field is refused."""
    manifest = by_kind(render_kubernetes_objects(pod_spec(), KubernetesOptions()))[kind]
    broken = {**manifest, "spec": {**manifest["spec"], field: value}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)
