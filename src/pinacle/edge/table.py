"""Which pods the edge serves, from what the host holds: pure, the host was read beforehand."""

from __future__ import annotations

from collections.abc import Callable

from pinacle.edge.config import EdgePod
from pinacle.errors import SpecError
from pinacle.pod.observed import HostPods
from pinacle.pod.report import plan_from_container, with_record
from pinacle.spec import PodSpec


def no_public_ports(spec: PodSpec) -> frozenset[int]:
    return frozenset()


def edge_pods(state: HostPods, public_ports: Callable[[PodSpec], frozenset[int]] = no_public_ports) -> list[EdgePod]:
    """The pods the edge routes to: running, under gVisor, on a host port, with an intact host record.

    A stopped pod is left out (the edge answers its names like any unknown name, with nothing of
    the pod); so is one the host record of which is missing or damaged, since only that record,
    which no tenant can write, says what the pod serves.
    """
    pods = []
    for slug, container in sorted(state.containers.items()):
        record = state.records.get(slug)
        port = container.host_port
        if not container.running or port is None or record is None or not state.sandboxed(container):
            continue
        try:
            plan = plan_from_container(with_record(container, record))
        except SpecError:
            continue
        pods.append(
            EdgePod(
                slug=slug,
                domain=plan.domain,
                host_port=port,
                routes=plan.routes,
                main_port=plan.main_port,
                public_ports=public_ports(plan.spec),
            )
        )
    return pods
