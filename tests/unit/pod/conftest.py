"""Fixtures for the pure pod modules: a demo pod file, its plan, and a host that shows it applied."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pinacle.pod.desired import PodPlan, plan_pod
from pinacle.pod.names import LABEL_PORT
from pinacle.pod.observed import ContainerRecord, ObservedPod, PodRecord
from pinacle.pod.settings import DeploySettings
from pinacle.spec import AppPortSpec, PodSpec

IMAGE_ID = "sha256:" + "ab" * 32
HELD_PORT = 30000

MakeSpec = Callable[..., PodSpec]
MakePlan = Callable[..., PodPlan]
InSync = Callable[..., ObservedPod]


def demo_spec(**overrides: Any) -> PodSpec:
    fields: dict[str, Any] = {
        "name": "Demo pod",
        "slug": "demo",
        "services": ("web-terminal",),
        "ports": (AppPortSpec(name="app", port=3000, command="python3 -m http.server 3000"),),
        "env": {"GREETING": "hello"},
    }
    return PodSpec(**{**fields, **overrides})


def applied_record(plan: PodPlan, host_port: int | None = HELD_PORT, image_id: str = IMAGE_ID) -> PodRecord:
    """The host record the last rollout of ``plan`` wrote."""
    return PodRecord(
        slug=plan.slug,
        spec=plan.spec.model_dump(mode="json"),
        domain=plan.domain,
        spec_hash=plan.container.config_hash(image_id),
        config=plan.config_shas,
        host_port=host_port,
    )


def applied(plan: PodPlan, running: bool = True, record: PodRecord | None = None) -> ObservedPod:
    """What the host shows once ``plan`` was applied (container on HELD_PORT, record matching)."""
    labels = {**dict(plan.container.labels), **plan.container.spec_labels(IMAGE_ID), LABEL_PORT: str(HELD_PORT)}
    status = "running" if running else "exited"
    return ObservedPod(
        network=True,
        volume=True,
        container=ContainerRecord(plan.container.name, "c0ffee", status, runtime=plan.container.runtime, labels=labels),
        image_id=IMAGE_ID,
        image_services=frozenset(plan.spec.services),
        record=applied_record(plan) if record is None else record,
    )


@pytest.fixture
def make_spec() -> MakeSpec:
    """The demo pod file (web-terminal and an app on 3000), with fields overridden."""
    return demo_spec


@pytest.fixture
def make_plan() -> MakePlan:
    """The plan of the demo pod file with fields overridden, under ``settings`` (default settings)."""

    def make(settings: DeploySettings | None = None, **overrides: Any) -> PodPlan:
        return plan_pod(demo_spec(**overrides), settings or DeploySettings())

    return make


@pytest.fixture
def in_sync() -> InSync:
    """``applied``: the observed state of a host where a plan was rolled out."""
    return applied
