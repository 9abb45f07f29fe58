"""Fleets for the placement tests: hosts built from a few numbers, pods from a few keys."""

from __future__ import annotations

from typing import Any

from pinacle.fleet.placement import FleetHost, PlacementHostData, Reservation
from pinacle.resolver import resolve_mapping
from pinacle.spec import PodSpec


def pod(slug: str = "new", cpus: float = 1.0, memory: str = "1g", **placement: Any) -> PodSpec:
    data: dict[str, Any] = {"name": slug, "slug": slug, "services": ["web-terminal"]}
    data["resources"] = {"cpus": cpus, "memory": memory}
    if placement:
        data["placement"] = placement
    return resolve_mapping(data)


def host(
    name: str,
    memory_mb: int = 8192,
    cpus: float = 4,
    *,
    pods: tuple[tuple[str, float, int], ...] = (),
    groups: tuple[str, ...] = (),
    reachable: bool = True,
    **data: Any,
) -> FleetHost:
    """A host of ``memory_mb`` and ``cpus`` holding ``pods`` (slug, cpus, memory_mb); ``data``: host data."""
    return FleetHost(
        name=name,
        cpus=cpus,
        memory_mb=memory_mb,
        groups=frozenset(groups),
        data=PlacementHostData.model_validate(data),
        reachable=reachable,
        pods=tuple(Reservation(*entry) for entry in pods),
    )
