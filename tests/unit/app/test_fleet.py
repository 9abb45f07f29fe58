"""A fleet as placement sees it, from one read of each host; a run's pods placed one after another."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pinacle.app.fleet import fleet_hosts, place, reservations
from pinacle.errors import HostError
from pinacle.fleet.placement import FleetHost, Outcome, Reservation
from pinacle.pod.observed import ContainerRecord, HostPods, PodRecord
from tests.unit.pod.conftest import MakePlan


def container(slug: str, cpus: float, memory_mb: int) -> ContainerRecord:
    return ContainerRecord(f"pinacle-{slug}", "c0ffee", "running", cpus=cpus, memory_mb=memory_mb)


def record(slug: str, resources: object) -> PodRecord:
    return PodRecord(slug=slug, spec={"resources": resources}, domain="localhost", spec_hash="x", config={})


def test_a_containers_limits_are_its_reservation() -> None:
    state = HostPods(containers={"a": container("a", 1.5, 2048)})
    assert reservations(state) == (Reservation("a", 1.5, 2048),)


def test_a_pod_whose_container_is_gone_reserves_what_its_record_asked() -> None:
    state = HostPods(records={"b": record("b", {"cpus": 2, "memory": "1g"})})
    assert reservations(state) == (Reservation("b", 2.0, 1024),)


def test_a_damaged_record_reserves_nothing_but_still_holds_the_pod() -> None:
    state = HostPods(records={"c": record("c", {"cpus": "many", "memory": []})})
    assert reservations(state) == (Reservation("c", 0.0, 0),)


def test_a_pod_known_only_by_its_network_holds_its_place() -> None:
    state = HostPods(networks=frozenset({"pinacle-d", "bridge-of-someone-else"}))
    assert reservations(state) == (Reservation("d", 0.0, 0),)


def test_fleet_hosts_carry_size_groups_host_data_and_pods() -> None:
    hosts = [SimpleNamespace(name="h1")]
    [h1, h2] = fleet_hosts(
        hosts,
        {"h1": HostPods(containers={"a": container("a", 1, 512)})},
        {"h1": (4.0, 8192)},
        unreachable=["h2"],
        data={"h1": {"host_labels": {"zone": "a"}, "overcommit_ratio": 2.0}},
        groups={"h1": ["eu"]},
    )
    assert (h1.name, h1.cpus, h1.memory_mb, h1.groups, h1.reachable) == ("h1", 4.0, 8192, frozenset({"eu"}), True)
    assert (dict(h1.data.host_labels), h1.data.overcommit_ratio, h1.pods) == (
        {"zone": "a"},
        2.0,
        (Reservation("a", 1, 512),),
    )
    assert (h2.name, h2.reachable) == ("h2", False)


def test_bad_placement_host_data_names_the_host() -> None:
    with pytest.raises(HostError, match="invalid placement host data of h1"):
        fleet_hosts(
            [SimpleNamespace(name="h1")], {"h1": HostPods()}, {"h1": (2.0, 4096)}, data={"h1": {"overcommit_ratio": -1}}
        )


def test_pods_of_one_run_count_those_placed_before_them(make_plan: MakePlan) -> None:
    fleet = [FleetHost("h1", cpus=2, memory_mb=1024), FleetHost("h2", cpus=2, memory_mb=1024)]
    first = make_plan(slug="one", resources={"cpus": 1, "memory": "768m"})
    second = make_plan(slug="two", resources={"cpus": 1, "memory": "768m"})
    decisions = place([first, second], fleet)
    assert (decisions["one"].host, decisions["two"].host) == ("h1", "h2")


def test_a_pod_that_fits_nowhere_fails_the_run_naming_it(make_plan: MakePlan) -> None:
    fleet = [FleetHost("h1", cpus=1, memory_mb=512)]
    with pytest.raises(HostError, match="pod big: refused: no host can take the pod"):
        place([make_plan(slug="big", resources={"cpus": 1, "memory": "1g"})], fleet)


def test_a_held_pod_stays_and_reserves_nothing_more(make_plan: MakePlan) -> None:
    fleet = [
        FleetHost("h1", cpus=2, memory_mb=1024, pods=(Reservation("demo", 1, 1024),)),
        FleetHost("h2", cpus=8, memory_mb=8192),
    ]
    decisions = place([make_plan(), make_plan(slug="next", resources={"cpus": 1, "memory": "512m"})], fleet)
    assert decisions["demo"].outcome is Outcome.STAYS
    assert (decisions["demo"].host, decisions["next"].host) == ("h1", "h2")


def test_with_a_host_silent_a_new_pod_is_refused_unless_forced(make_plan: MakePlan) -> None:
    fleet = [FleetHost("h1", cpus=2, memory_mb=4096), FleetHost("h2", cpus=0, memory_mb=0, reachable=False)]
    with pytest.raises(HostError, match="h2 did not answer: it may hold the pod"):
        place([make_plan()], fleet)
    assert place([make_plan()], fleet, force=True)["demo"].host == "h1"
