"""choose_host: the most room by reservation, constraints, stickiness, unreachable hosts, forcing."""

from __future__ import annotations

import itertools

import pytest

from pinacle.errors import HostError
from pinacle.fleet.placement import Outcome, Verdict, choose_host, placement_host_data
from tests.unit.fleet.conftest import host, pod


def test_a_new_pod_goes_on_the_host_with_the_most_memory_left() -> None:
    fleet = [host("a", 4096), host("c", 16384), host("b", 8192)]
    decision = choose_host(pod(), fleet)
    assert (decision.host, decision.outcome) == ("c", Outcome.PLACED)


def test_room_counts_what_the_pods_there_asked_for_not_the_host_size_alone() -> None:
    busy = host("big", 16384, pods=(("p1", 1, 8192), ("p2", 1, 6144)))  # 2 GiB left
    decision = choose_host(pod(), [busy, host("small", 4096)])
    assert decision.host == "small"


def test_stopped_or_running_every_pod_on_a_host_reserves_its_ask() -> None:
    full = host("full", 4096, pods=(("stopped-one", 1, 4096),))
    decision = choose_host(pod(), [full])
    assert decision.outcome is Outcome.REFUSED
    assert decision.verdicts[0].verdict is Verdict.NO_MEMORY_ROOM


def test_the_overcommit_ratio_scales_the_hosts_size() -> None:
    reserved = (("p1", 4, 8192),)
    decision = choose_host(
        pod(), [host("plain", 8192, pods=reserved), host("over", 8192, pods=reserved, overcommit_ratio=1.5)]
    )
    assert decision.host == "over"
    assert decision.verdicts[0].memory_left_mb == 8192 * 1.5 - 8192 - 1024


def test_a_host_without_cpus_left_is_not_eligible() -> None:
    decision = choose_host(pod(cpus=2), [host("a", 65536, cpus=4, pods=(("p1", 3, 1024),)), host("b", 4096, cpus=2)])
    assert decision.host == "b"
    assert {v.host: v.verdict for v in decision.verdicts}["a"] is Verdict.NO_CPU_ROOM


def test_a_pod_that_fits_nowhere_is_refused_with_every_hosts_reason() -> None:
    decision = choose_host(pod(memory="8g"), [host("a", 4096), host("b", 2048)])
    assert (decision.host, decision.outcome) == (None, Outcome.REFUSED)
    assert "a not enough memory left; b not enough memory left" in decision.reason
    assert decision.verdicts[0].describe() == (
        "a: not enough memory left (0 of 4096 MiB reserved, the pod asks 8192); -4096 MiB and 3 CPUs left after placing"
    )


def test_a_pod_that_exactly_fills_a_host_fits() -> None:
    assert choose_host(pod(cpus=4, memory="8g"), [host("a", 8192, cpus=4)]).host == "a"


def test_a_tie_is_broken_by_host_name_whatever_the_order_of_the_inventory() -> None:
    fleet = [host("b"), host("c"), host("a")]
    chosen = {choose_host(pod(), list(order)).host for order in itertools.permutations(fleet)}
    assert chosen == {"a"}


def test_a_tie_says_so_in_the_reason() -> None:
    assert "a tie, broken by host name" in choose_host(pod(), [host("b"), host("a")]).reason


def test_equal_memory_left_is_broken_by_cpus_left() -> None:
    decision = choose_host(pod(), [host("a", 8192, cpus=2), host("b", 8192, cpus=8)])
    assert decision.host == "b"
    assert "tie" not in decision.reason


def test_placement_hosts_limit_the_choice_to_those_hosts() -> None:
    decision = choose_host(pod(hosts=["small"]), [host("big", 65536), host("small", 4096)])
    assert decision.host == "small"
    assert {v.host: v.verdict for v in decision.verdicts}["big"] is Verdict.NOT_IN_HOSTS


def test_placement_groups_limit_the_choice_to_hosts_in_one_of_them() -> None:
    fleet = [host("big", 65536, groups=("cpu_pool",)), host("gpu", 4096, groups=("gpu_pool", "eu"))]
    assert choose_host(pod(groups=["gpu_pool", "other"]), fleet).host == "gpu"


def test_placement_labels_must_all_be_on_the_host() -> None:
    fleet = [
        host("big", 65536, host_labels={"zone": "eu-1"}),
        host("right", 4096, host_labels={"zone": "eu-1", "disk": "ssd"}),
    ]
    decision = choose_host(pod(labels={"zone": "eu-1", "disk": "ssd"}), fleet)
    assert decision.host == "right"
    big = next(v for v in decision.verdicts if v.host == "big")
    assert (big.verdict, big.detail) == (Verdict.MISSING_LABELS, "disk=ssd")


def test_an_unreachable_host_is_skipped_and_reported() -> None:
    decision = choose_host(pod(), [host("down", 65536, reachable=False), host("up", 4096)])
    assert decision.host == "up"
    assert {v.host: v.verdict for v in decision.verdicts}["down"] is Verdict.UNREACHABLE


def test_a_drained_host_takes_no_new_pod() -> None:
    decision = choose_host(pod(), [host("drained", 65536, unschedulable=True), host("open", 4096)])
    assert decision.host == "open"
    assert {v.host: v.verdict for v in decision.verdicts}["drained"] is Verdict.UNSCHEDULABLE


def test_a_placed_pod_stays_though_another_host_has_more_room() -> None:
    fleet = [host("small", 4096, pods=(("web", 1, 1024),)), host("big", 65536)]
    decision = choose_host(pod("web"), fleet)
    assert (decision.host, decision.outcome) == ("small", Outcome.STAYS)


def test_a_placed_pod_stays_though_its_placement_no_longer_matches() -> None:
    fleet = [host("old", pods=(("web", 1, 1024),)), host("new", groups=("gpu_pool",))]
    assert choose_host(pod("web", groups=["gpu_pool"]), fleet).host == "old"


def test_a_placed_pod_stays_on_a_drained_host_until_it_is_moved() -> None:
    fleet = [host("drained", unschedulable=True, pods=(("web", 1, 1024),)), host("open")]
    assert choose_host(pod("web"), fleet).outcome is Outcome.STAYS


def test_a_placed_pod_does_not_count_its_own_reservation_twice() -> None:
    fleet = [host("exact", 1024, cpus=1, pods=(("web", 1, 1024),))]
    decision = choose_host(pod("web"), fleet)
    assert decision.verdicts[0].verdict is Verdict.ELIGIBLE


def test_a_pod_on_an_unreachable_host_is_not_placed_elsewhere() -> None:
    fleet = [host("down", reachable=False, pods=(("web", 1, 1024),)), host("up")]
    decision = choose_host(pod("web"), fleet)
    assert (decision.host, decision.outcome) == (None, Outcome.REFUSED)
    assert "down, which did not answer" in decision.reason and "--force" in decision.reason


def test_force_places_a_pod_of_an_unreachable_host_elsewhere() -> None:
    fleet = [host("down", 65536, reachable=False, pods=(("web", 1, 1024),)), host("up", 4096), host("up2", 2048)]
    decision = choose_host(pod("web"), fleet, force=True)
    assert (decision.host, decision.outcome) == ("up", Outcome.FORCED)
    assert "forced off down" in decision.reason


def test_force_changes_nothing_for_a_pod_whose_host_answers() -> None:
    fleet = [host("small", 4096, pods=(("web", 1, 1024),)), host("big", 65536)]
    assert choose_host(pod("web"), fleet, force=True).host == "small"


def test_a_named_host_is_chosen_over_the_one_with_more_room() -> None:
    decision = choose_host(pod(), [host("big", 65536), host("small", 4096)], host="small")
    assert (decision.host, decision.outcome) == ("small", Outcome.FORCED)


def test_a_named_host_overrides_constraints_and_says_which() -> None:
    decision = choose_host(pod(groups=["gpu_pool"]), [host("plain")], host="plain")
    assert decision.host == "plain"
    assert "in none of placement.groups: gpu_pool" in decision.reason


def test_an_unknown_named_host_is_refused_listing_the_fleet() -> None:
    decision = choose_host(pod(), [host("b"), host("a")], host="c")
    assert (decision.host, decision.reason) == (None, "no host c in the fleet (hosts: a, b)")


def test_an_unreachable_named_host_is_refused() -> None:
    decision = choose_host(pod(), [host("down", reachable=False), host("up")], host="down")
    assert (decision.host, decision.outcome) == (None, Outcome.REFUSED)


def test_naming_another_host_for_a_placed_pod_is_refused_as_a_move() -> None:
    decision = choose_host(pod("web"), [host("old", pods=(("web", 1, 1024),)), host("new")], host="new")
    assert (decision.host, decision.outcome) == (None, Outcome.REFUSED)
    assert "pinacle move" in decision.reason


def test_naming_the_host_a_placed_pod_is_on_keeps_it_there() -> None:
    decision = choose_host(pod("web"), [host("old", pods=(("web", 1, 1024),)), host("new")], host="old")
    assert (decision.host, decision.outcome) == ("old", Outcome.STAYS)


def test_naming_another_host_with_force_re_places_a_pod_of_an_unreachable_host() -> None:
    fleet = [host("down", reachable=False, pods=(("web", 1, 1024),)), host("a"), host("b")]
    decision = choose_host(pod("web"), fleet, host="b", force=True)
    assert (decision.host, decision.outcome) == ("b", Outcome.FORCED)


def test_a_pod_on_two_hosts_is_refused_naming_both() -> None:
    fleet = [host("a", pods=(("web", 1, 1024),)), host("b", pods=(("web", 1, 1024),))]
    decision = choose_host(pod("web"), fleet)
    assert (decision.host, decision.outcome) == (None, Outcome.REFUSED)
    assert "several hosts (a, b)" in decision.reason


def test_an_empty_fleet_is_refused() -> None:
    assert choose_host(pod(), []).reason == "no host can take the pod: the fleet has no hosts"


def test_the_same_host_twice_is_an_error() -> None:
    with pytest.raises(HostError, match="the same host twice"):
        choose_host(pod(), [host("a"), host("a")])


def test_verdicts_list_every_host_best_first() -> None:
    fleet = [host("down", reachable=False), host("a", 4096), host("b", 8192)]
    assert [v.host for v in choose_host(pod(), fleet).verdicts] == ["b", "a", "down"]


def test_the_dry_run_description_gives_the_decision_then_every_host() -> None:
    lines = choose_host(pod(), [host("a", 4096), host("down", reachable=False)]).describe()
    assert lines == [
        "pod new: placed on a: the most room: 3072 MiB and 3 CPUs left after placing",
        "  a: eligible; 3072 MiB and 3 CPUs left after placing",
        "  down: unreachable",
    ]


def test_placement_host_data_reads_its_keys_and_ignores_the_host_deploys() -> None:
    data = placement_host_data("a", {"host_labels": {"zone": "eu-1"}, "overcommit_ratio": 2, "runsc_source": "x"})
    assert (data.host_labels, data.overcommit_ratio, data.unschedulable) == ({"zone": "eu-1"}, 2.0, False)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"overcommit_ratio": 0}, "overcommit_ratio"),
        ({"overcommit_ratio": 100}, "overcommit_ratio"),
        ({"overcommit_ratio": float("nan")}, "overcommit_ratio"),
        ({"unschedulable": "yes"}, "unschedulable"),
        ({"host_labels": {"Zone": "eu"}}, "host_labels.Zone"),
        ({"host_labels": {"zone": "eu 1"}}, "host_labels.zone"),
    ],
)
def test_bad_placement_host_data_is_a_host_error_naming_host_and_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(HostError, match=f"invalid placement host data of pods-1:\n  {key}"):
        placement_host_data("pods-1", data)
