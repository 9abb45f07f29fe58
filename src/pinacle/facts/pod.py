"""Facts about the pods on a host: pyinfra's view of the reads in :mod:`pinacle.readers.pod`.

Each fact's command and parser are the reader's, so pyinfra hosts and ``@local`` (read without
pyinfra, see :mod:`pinacle.executor`) are read by the same code.
"""

from __future__ import annotations

from pyinfra.api import FactBase

from pinacle.pod.observed import ContainerRecord, HostPods
from pinacle.readers import pod as readers
from pinacle.readers.pod import (  # noqa: F401 (re-exported: this module's names before the readers existed)
    CONTAINER_FORMAT,
    IMAGE_FORMAT,
    parse_container,
    parse_pod_states,
    pod_states_command,
    route_status_command,
    statuses_for,
)


class PodStates(FactBase[HostPods]):
    """Every pod on the host in one round trip: containers, networks, volumes, records, ports.

    + images: image references whose ID and services to read as well (the pods' images)
    """

    def command(self, images: tuple[str, ...] = ()) -> str:
        return readers.pod_states_command(images)

    def process(self, output: list[str]) -> HostPods:
        return readers.parse_pod_states(output)

    @staticmethod
    def default() -> HostPods:
        return HostPods()


class PodContainer(FactBase[ContainerRecord | None]):
    """The pod's container (by name), with its state and labels; None when Docker has no such one."""

    def command(self, container: str) -> str:
        return readers.pod_container_command(container)

    def process(self, output: list[str]) -> ContainerRecord | None:
        return readers.parse_pod_container(output)


class PodObjects(FactBase[dict[str, list[str]]]):
    """Every container, network and volume labelled as belonging to a pod (for delete and checks)."""

    def command(self, slug: str) -> str:
        return readers.pod_objects_command(slug)

    def process(self, output: list[str]) -> dict[str, list[str]]:
        return readers.parse_pod_objects(output)

    @staticmethod
    def default() -> dict[str, list[str]]:
        return readers.no_pod_objects()


class RouteStatus(FactBase[dict[str, int]]):
    """HTTP status of each URL (through the pods' published ports and routers); 0: no answer.

    + urls: the URLs to request, e.g. ``http://localhost-7681.pod-x.localhost:30000/``
    """

    def command(self, urls: tuple[str, ...]) -> str:
        return readers.route_status_command(urls)

    def process(self, output: list[str]) -> dict[str, int]:
        return readers.parse_route_status(output)

    @staticmethod
    def default() -> dict[str, int]:
        return {}
