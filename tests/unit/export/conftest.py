"""Fixtures of the Kubernetes export tests: rendered pods, looked up by kind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pinacle.export.k8s import KubernetesOptions, Manifest, render_kubernetes_objects
from pinacle.resolver import resolve_mapping
from pinacle.spec import PodSpec

Render = Callable[..., dict[str, Manifest]]

POD: dict[str, Any] = {
    "name": "Example pod",
    "slug": "example",
    "services": ["web-terminal"],
    "ports": [{"name": "app", "port": 3000, "command": "python3 -m http.server 3000", "health_path": "/up"}],
    "resources": {"cpus": 0.5, "memory": "512m"},
}


def pod_spec(**changes: Any) -> PodSpec:
    """The example pod, with top-level keys replaced (or removed, given None)."""
    data = {**POD, **changes}
    return resolve_mapping({key: value for key, value in data.items() if value is not None})


def by_kind(objects: list[Manifest]) -> dict[str, Manifest]:
    kinds = [o["kind"] for o in objects]
    assert len(set(kinds)) == len(kinds), kinds
    return {o["kind"]: o for o in objects}


@pytest.fixture
def render() -> Render:
    """Render the example pod (top-level keys changed by ``pod=``) with ``KubernetesOptions(**options)``."""

    def _render(pod: dict[str, Any] | None = None, **options: Any) -> dict[str, Manifest]:
        return by_kind(render_kubernetes_objects(pod_spec(**(pod or {})), KubernetesOptions(**options)))

    return _render


def pod_template(objects: dict[str, Manifest]) -> Manifest:
    template: Manifest = objects["StatefulSet"]["spec"]["template"]
    return template


def container(objects: dict[str, Manifest]) -> Manifest:
    (only,) = pod_template(objects)["spec"]["containers"]
    result: Manifest = only
    return result
