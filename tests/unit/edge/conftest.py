"""Fixtures for the edge's pure modules: pods as the edge sees them, and a host holding them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pinacle.edge.config import EdgePod
from pinacle.pod.desired import plan_pod
from pinacle.pod.names import LABEL_PORT
from pinacle.pod.observed import ContainerRecord, HostPods, PodRecord
from pinacle.pod.settings import DeploySettings
from pinacle.router import Route
from pinacle.spec import AppPortSpec, PodSpec

MakeEdgePod = Callable[..., EdgePod]
MakeHost = Callable[..., HostPods]


@pytest.fixture
def edge_pod() -> MakeEdgePod:
    def make(slug: str = "demo", public: frozenset[int] = frozenset(), **overrides: Any) -> EdgePod:
        fields: dict[str, Any] = {
            "slug": slug,
            "domain": "localhost",
            "host_port": 30001,
            "routes": (Route("web-terminal", 7681), Route("app", 3000)),
            "main_port": 7681,
            "public_ports": public,
        }
        return EdgePod(**{**fields, **overrides})

    return make


def pod_spec(slug: str, public_app: bool = False) -> PodSpec:
    return PodSpec(
        name=f"pod {slug}",
        slug=slug,
        services=("web-terminal",),
        ports=(
            AppPortSpec(
                name="app",
                port=3000,
                command="python3 -m http.server 3000",
                visibility="public" if public_app else "private",
            ),
        ),
    )


@pytest.fixture
def host_with() -> MakeHost:
    """A host read back: ``pods`` is slug -> dict(running=, record=, runtime=, public_app=)."""

    def make(**pods: dict[str, Any]) -> HostPods:
        containers, records = {}, {}
        for index, (slug, options) in enumerate(sorted(pods.items())):
            slug = slug.replace("_", "-")
            plan = plan_pod(pod_spec(slug, options.get("public_app", False)), DeploySettings())
            labels = {**dict(plan.container.labels), LABEL_PORT: str(30001 + index)}
            containers[slug] = ContainerRecord(
                plan.container.name,
                f"id{index}",
                "running" if options.get("running", True) else "exited",
                runtime=options.get("runtime", "runsc"),
                labels=labels,
            )
            if options.get("record", True):
                records[slug] = PodRecord(
                    slug=slug,
                    spec=plan.spec.model_dump(mode="json"),
                    domain=plan.domain,
                    spec_hash="x",
                    config={},
                    host_port=30001 + index,
                )
        return HostPods(containers=containers, records=records, gvisor_runtimes=frozenset({"runsc"}))

    return make
