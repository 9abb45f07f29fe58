"""Every example in the API's docstrings runs, against a real pod, in the order of one story: a doc
example that no test runs is a stale example. The fleet's methods (FLEET_STORY) run theirs against the
test fleet, in tests/integration/fleet/test_fleet_api.py."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Iterator

import pytest
from tests.integration.api.conftest import remove_snapshot
from tests.integration.conftest import remove_pod_resources

import pinacle
from pinacle import PodManager, PodSpec

# The order the method examples run in: each may use what an earlier one made.
STORY = [
    "plan",
    "export_kubernetes",
    "create",
    "apply",
    "list_pods",
    "status",
    "logs",
    "exec",
    "doctor",
    "stop",
    "start",
    "pod_token",
    "login_url",
    "snapshot",
    "list_snapshots",
    "prune_snapshots",
    "restore",
    "delete",
    "delete_snapshot",
]
# The methods whose examples need a fleet of hosts, left out of STORY on purpose: a pod moves
# between hosts, and @local is one. tests/integration/fleet/test_fleet_api.py runs their examples, in
# this order, against the three-host test fleet (inventory/fleet-test.py) and checks their effect there.
FLEET_STORY = ["move", "drain", "undrain"]
SLUGS = ["api-example", "api-example-copy"]  # every pod the examples make


def examples(obj: object) -> list[str]:
    """The ``.. code:: python`` blocks of ``obj``'s docstring, dedented."""
    doc = inspect.getdoc(obj) or ""
    blocks = []
    for part in doc.split(".. code:: python")[1:]:
        lines = []
        for line in part.splitlines()[1:]:
            if line.strip() and not line.startswith("    "):
                break
            lines.append(line)
        blocks.append(textwrap.dedent("\n".join(lines)).strip())
    return blocks


def public_methods() -> list[str]:
    return [name for name, _ in inspect.getmembers(PodManager, inspect.isfunction) if not name.startswith("_")]


@pytest.fixture
def clean_story() -> Iterator[None]:
    yield
    for slug in SLUGS:
        remove_pod_resources(slug)
    remove_snapshot("api-example-v1")


def test_every_public_method_has_an_example_in_the_story() -> None:
    assert not set(STORY) & set(FLEET_STORY)
    assert sorted(STORY + FLEET_STORY) == sorted(public_methods())
    assert all(examples(getattr(PodManager, name)) for name in STORY + FLEET_STORY)


def test_the_module_example_runs(clean_story: None) -> None:
    (example,) = examples(pinacle.api)
    exec(example, {})  # it creates pod api-example and deletes it again
    assert "api-example" not in [p.slug for p in PodManager("@local").list_pods(health=False)]


def test_the_class_and_method_examples_run_in_story_order(clean_story: None) -> None:
    namespace: dict[str, object] = {
        "PodManager": PodManager,
        "pods": PodManager("@local"),
        "spec": PodSpec(name="API example", slug="api-example", services=["web-terminal"]),
    }
    for block in examples(PodManager):
        exec(block, namespace)
    for name in STORY:
        for block in examples(getattr(PodManager, name)):
            try:
                exec(block, namespace)
            except Exception as exc:
                raise AssertionError(f"the example of PodManager.{name} failed:\n{block}") from exc
