"""Which pods the edge serves, from what the host holds: pure, the host was read beforehand."""

from __future__ import annotations

from pinacle.edge.config import EdgePod
from pinacle.errors import SpecError
from pinacle.pod.desired import pod_routes
from pinacle.pod.observed import HostPods
from pinacle.pod.report import domain_of, spec_of, with_record
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
        recorded = with_record(container, record)
        try:
            spec = spec_of(recorded)
        except SpecError:
            continue
        pods.append(
            EdgePod(
                slug=slug,
                domain=domain_of(recorded),
                host_port=port,
                routes=pod_routes(spec),
                main_port=spec.main_port,
                public_ports=public_ports(spec),
            )
        )
    return pods
