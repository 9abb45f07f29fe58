"""The rollout's pure decisions: which pods a failed run made from nothing (and may remove)."""

from __future__ import annotations

import dataclasses

from pinacle.app.rollout import new_pods
from pinacle.pod.diff import diff_pod
from pinacle.pod.observed import ObservedPod
from tests.unit.pod.conftest import IMAGE_ID, InSync, MakePlan


def test_a_pod_created_from_nothing_is_new_with_its_volume(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), ObservedPod(image_id=IMAGE_ID), {})
    assert new_pods({"@local": [(diff, IMAGE_ID)]}) == {"@local": {"demo": True}}


def test_a_kept_workspace_is_not_this_runs_to_remove(make_plan: MakePlan) -> None:
    diff = diff_pod(make_plan(), ObservedPod(image_id=IMAGE_ID, volume=True), {})
    assert new_pods({"@local": [(diff, IMAGE_ID)]}) == {"@local": {"demo": False}}


def test_a_pod_whose_network_existed_is_not_new(make_plan: MakePlan, in_sync: InSync) -> None:
    plan = make_plan()
    observed = dataclasses.replace(in_sync(plan), container=None)
    assert new_pods({"@local": [(diff_pod(plan, observed, {}), IMAGE_ID)]}) == {"@local": {}}
