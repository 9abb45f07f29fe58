"""Pods across a fleet: what placement needs to know of each host, read from the hosts themselves.

The pods a host holds (their containers, host records and networks, labelled with the pod) are
the only record of where a pod lives: there is no side database. :func:`fleet_hosts` turns one
read of every host into :class:`~pinacle.fleet.placement.FleetHost` values, and :func:`place`
asks the pure planner (:func:`~pinacle.fleet.placement.choose_host`) for each pod of a run, in
order, counting what the run has already placed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pinacle.errors import HostError
from pinacle.fleet.placement import (
    FleetHost,
    Outcome,
    PlacementDecision,
    PlacementHostData,
    Reservation,
    choose_host,
    placement_host_data,
)
from pinacle.pod.desired import PodPlan
from pinacle.pod.names import DRAINED_MARKER
from pinacle.pod.observed import HostPods
from pinacle.spec import memory_to_mb


def reservations(state: HostPods) -> tuple[Reservation, ...]:
    """What every pod on a host has asked for: its container's limits, or, for a pod whose container
    is gone (a killed run, a replacement under way), its host record's resources. A pod known only by
    its network still holds its place on that host, with nothing reserved."""
    found: dict[str, Reservation] = {}
    for slug, record in state.records.items():
        resources = record.spec.get("resources") if isinstance(record.spec, Mapping) else None
        cpus, memory = 0.0, 0
        if isinstance(resources, Mapping):
            try:
                cpus = float(resources.get("cpus", 0.0))
                memory = memory_to_mb(resources.get("memory", 0))
            except (TypeError, ValueError):
                pass  # a damaged record reserves nothing, but still holds the pod here
        found[slug] = Reservation(slug, cpus, memory)
    for slug, container in state.containers.items():
        found[slug] = Reservation(slug, container.cpus, container.memory_mb)
    for network in state.networks:
        slug = network.removeprefix("pinacle-")
        if network.startswith("pinacle-") and slug not in found:
            found[slug] = Reservation(slug, 0.0, 0)
    return tuple(found[slug] for slug in sorted(found))


def fleet_hosts(
    hosts: Iterable[Any],
    states: Mapping[str, HostPods],
    sizes: Mapping[str, tuple[float, int]],
    unreachable: Iterable[str] = (),
    data: Mapping[str, Mapping[str, Any]] | None = None,
    groups: Mapping[str, Iterable[str]] | None = None,
    drained: Iterable[str] = (),
) -> list[FleetHost]:
    """Every host of the target as placement sees it: size, groups, placement host data, pods.

    + hosts: the hosts that answered (their ``name``)
    + states, sizes: what one read of each of them found
    + unreachable: the names of inventory hosts that did not answer
    + data, groups: host name -> its pyinfra host data / group names
    + drained: hosts ``pinacle drain`` marked (as host data ``unschedulable`` does)
    """
    data = data or {}
    groups = groups or {}
    drained = set(drained)
    fleet = []
    for host in hosts:
        cpus, memory_mb = sizes[host.name]
        fleet.append(
            FleetHost(
                name=host.name,
                cpus=cpus,
                memory_mb=memory_mb,
                groups=frozenset(groups.get(host.name, ())),
                data=_with_drain(placement_host_data(host.name, data.get(host.name, {})), host.name in drained),
                pods=reservations(states[host.name]),
            )
        )
    for name in unreachable:
        fleet.append(
            FleetHost(
                name=name,
                cpus=0.0,
                memory_mb=0,
                groups=frozenset(groups.get(name, ())),
                data=placement_host_data(name, data.get(name, {})),
                reachable=False,
            )
        )
    return sorted(fleet, key=lambda h: h.name)


def _with_drain(data: PlacementHostData, drained: bool) -> PlacementHostData:
    return data.model_copy(update={"unschedulable": True}) if drained else data


def read_fleet(session: Any, images: tuple[str, ...] = ()) -> tuple[dict[str, HostPods], list[FleetHost]]:
    """One read of every host of a fleet session: (host name -> its pods, the fleet as placement sees it)."""
    from pinacle.readers.host import host_size, path_exists
    from pinacle.readers.pod import pod_states

    states = session.read_all(pod_states(images))
    sizes = session.read_all(host_size())
    drained = [name for name, marked in session.read_all(path_exists(DRAINED_MARKER)).items() if marked]
    members = fleet_hosts(
        session.hosts,
        states,
        sizes,
        session.unreachable,
        data={h.name: {key: h.data.get(key) for key in PlacementHostData.model_fields} for h in session.hosts},
        groups={h.name: h.groups for h in session.hosts},
        drained=drained,
    )
    return states, members


def place(
    plans: Sequence[PodPlan],
    fleet: Sequence[FleetHost],
    host: str | None = None,
    force: bool = False,
) -> dict[str, PlacementDecision]:
    """Slug -> where each pod of the run goes; HostError naming every pod that cannot be placed.

    Pods are placed in the order given, each counting the reservations of those placed before it,
    so one run never overfills a host that two separate runs would not.
    """
    hosts = list(fleet)
    silent = sorted(h.name for h in hosts if not h.reachable)
    decisions: dict[str, PlacementDecision] = {}
    for plan in plans:
        decision = choose_host(plan.spec, hosts, host=host, force=force)
        if decision.outcome is Outcome.PLACED and silent and not force:
            # No record off the hosts says where a pod lives: one that did not answer may hold it.
            reason = (
                f"the pod is on none of the hosts that answered, and {', '.join(silent)} did not answer: it may "
                f"hold the pod (--force to place it on {decision.host} all the same)"
            )
            decision = dataclasses.replace(decision, host=None, outcome=Outcome.REFUSED, reason=reason)
        decisions[plan.slug] = decision
        if decision.host is not None and decision.outcome is not Outcome.STAYS:
            reservation = Reservation.of(plan.spec)
            hosts = [
                dataclasses.replace(h, pods=(*h.pods, reservation)) if h.name == decision.host else h for h in hosts
            ]
    refused = [d for d in decisions.values() if d.host is None]
    if refused:
        raise HostError("\n".join(line for d in refused for line in d.describe()))
    return decisions
