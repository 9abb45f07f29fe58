"""The Python API's fleet methods: the docstring examples of ``PodManager.move``, ``drain`` and
``undrain`` (FLEET_STORY of tests/integration/api/test_api_docstring_examples.py, whose story runs on
@local, where nothing can move) run as written against the test fleet, in that order, and what each
did is checked on the hosts over SSH: the pod on its new host and on no other, its workspace file
with it, the drained marker, and placement again after ``undrain``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from tests.integration.api.test_api_docstring_examples import FLEET_STORY, examples
from tests.integration.conftest import REPO
from tests.integration.fleet.conftest import INVENTORY, Fleet, FleetHost, pinacle
from tests.integration.fleet.test_fleet_pods import remove_by_label, remove_move_snapshots

from pinacle import HostError, PodManager, PodSpec, PodStatus
from pinacle.pod.names import DRAINED_MARKER

pytestmark = pytest.mark.integration

SLUG = "apimove-example"  # the pod the examples name
SPEC = PodSpec.model_validate(
    {"name": "API move example", "slug": SLUG, "services": ["web-terminal"], "resources": {"memory": "256m"}}
)
PINNED = "apimove-pinned"  # only ever planned, never rolled out
NOTE = "/workspace/note.txt"
MOVED_FROM, MOVED_TO = "fleet-host1", "fleet-host2"  # as in the move example; drain empties MOVED_TO


@dataclass
class Story:
    fleet: Fleet
    note: str  # what the pod's workspace file holds
    namespace: dict[str, object]  # the examples' globals: each may use what an earlier one made
    ran: list[str] = field(default_factory=list)

    def host(self, name: str) -> FleetHost:
        (host,) = [h for h in self.fleet.hosts if h.name == name]
        return host

    def run(self, name: str) -> None:
        """The examples of ``PodManager.name``, as they are written."""
        for block in examples(getattr(PodManager, name)):
            try:
                exec(block, self.namespace)
            except Exception as exc:
                raise AssertionError(f"the example of PodManager.{name} failed:\n{block}") from exc
        self.ran.append(name)


def holders(fleet: Fleet, what: str) -> list[str]:
    """The hosts whose engine lists a ``what`` (ps -a, volume ls) labelled with the pod."""
    return [h.name for h in fleet.hosts if h.ssh(f"docker {what} -q --filter label=pinacle.pod={SLUG}").stdout.split()]


def workspace_note(host: FleetHost) -> str:
    """The pod's workspace file, read on ``host`` through its engine, not through pinacle."""
    return host.ssh(f"docker exec -u dev $(docker ps -q --filter label=pinacle.pod={SLUG}) cat {NOTE}").stdout


def drained(host: FleetHost) -> bool:
    return host.ssh(f"test -e {DRAINED_MARKER}", check=False).returncode == 0


def remove_everything(fleet: Fleet) -> None:
    """The pod, its move snapshots and MOVED_TO's drained marker, by label and path on every host."""
    pinacle("delete", SLUG, "--purge", check=False)
    for host in fleet.hosts:
        remove_by_label(host, SLUG)
        remove_move_snapshots(host, SLUG)
        if host.name == MOVED_TO:
            host.ssh(f"rm -f {DRAINED_MARKER}", check=False)


@pytest.fixture(scope="module")
def story(fleet: Fleet) -> Iterator[Story]:
    """Pod SLUG on MOVED_FROM with a file in its workspace; the examples run in the repository (their
    inventory path is relative) with no fleet selection from the environment."""
    assert [h.name for h in fleet.hosts if drained(h)] == [], "a fleet host is drained before the test"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        for name in ("PINACLE_INVENTORY", "PINACLE_FLEET_HOSTS"):
            patch.delenv(name, raising=False)
        remove_everything(fleet)  # what a killed earlier run may have left (the slug is fixed)
        try:
            manager = PodManager(str(INVENTORY))
            (rollout,) = manager.apply(SPEC, host=MOVED_FROM)
            assert rollout.host == MOVED_FROM
            note = f"written on {MOVED_FROM}: {uuid.uuid4().hex}\n"
            assert manager.exec(SLUG, ["sh", "-c", f"cat > {NOTE}"], stdin=note).ok
            yield Story(fleet, note, {"PodManager": PodManager})
        finally:
            remove_everything(fleet)


def test_the_move_example_carries_the_pod_and_its_workspace(story: Story) -> None:
    assert workspace_note(story.host(MOVED_FROM)) == story.note
    story.run("move")
    moved = story.namespace["moved"]
    assert isinstance(moved, PodStatus)
    assert (moved.host, moved.slug, moved.state, moved.healthy) == (MOVED_TO, SLUG, "running", True)
    assert holders(story.fleet, "ps -a") == [MOVED_TO]  # gone from the host it left
    assert holders(story.fleet, "volume ls") == [MOVED_TO]  # with its workspace volume
    assert workspace_note(story.host(MOVED_TO)) == story.note


def test_the_drain_example_empties_the_host_and_marks_it(story: Story) -> None:
    story.run("drain")
    assert drained(story.host(MOVED_TO))
    pods = story.namespace["drained"]
    assert isinstance(pods, list)
    (ours,) = [p for p in pods if isinstance(p, PodStatus) and p.slug == SLUG]
    assert ours.host != MOVED_TO and ours.healthy
    assert holders(story.fleet, "ps -a") == holders(story.fleet, "volume ls") == [ours.host]
    assert workspace_note(story.host(ours.host)) == story.note
    pinned = {"name": "pinned", "slug": PINNED, "services": ["web-terminal"], "placement": {"hosts": [MOVED_TO]}}
    with pytest.raises(HostError, match=f"{MOVED_TO}: unschedulable"):
        PodManager(str(INVENTORY)).plan(pinned)


def test_the_undrain_example_lets_the_host_take_pods_again(story: Story) -> None:
    story.run("undrain")
    assert not drained(story.host(MOVED_TO))
    pinned = {"name": "pinned", "slug": PINNED, "services": ["web-terminal"], "placement": {"hosts": [MOVED_TO]}}
    (plan,) = PodManager(str(INVENTORY)).plan(pinned)
    assert plan.host == MOVED_TO, plan.placement
    assert len(holders(story.fleet, "ps -a")) == 1  # undrain moves nothing back


def test_every_fleet_example_ran_in_story_order(story: Story) -> None:
    assert story.ran == FLEET_STORY
