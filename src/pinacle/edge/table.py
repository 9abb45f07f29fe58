"""Which pods the edge serves, from what the host holds: pure, the host was read beforehand."""

from __future__ import annotations

from pinacle.edge.config import EdgePod
from pinacle.errors import SpecError
from pinacle.pod.observed import HostPods
from pinacle.pod.report import plan_from_container, with_record
from pinacle.pod.visibility import public_ports


def edge_pods(state: HostPods) -> list[EdgePod]:
    """The pods the edge routes to: running, under gVisor, on a host port, with an intact host record.

    Public ports (``visibility: public`` in the pod file, kept in its host record) need no
    credential. A stopped pod is left out (the edge answers its names like any unknown name, with nothing of
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
