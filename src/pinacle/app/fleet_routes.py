"""Every edge of a fleet in step with where the pods are: each host's fleet table (``fleet.conf``,
:mod:`pinacle.edge.fleet`) forwards the names of the pods its peers hold to the holder's edge.

:func:`sync_fleet_routes` ends every command that changes what a fleet's hosts serve (a rollout,
``stop``, ``start``, ``delete``, ``restore``, ``move``, ``drain``). It reads every host, renders
every table, and changes only the hosts whose table differs. It is its own repair: run again, it
converges whatever a killed run left.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.progress import Progress, silent

if TYPE_CHECKING:
    from pinacle.edge.fleet import FleetEdge, FleetTableState
    from pinacle.edge.settings import EdgeSettings


# Every command on a fleet ends here: a single host (and @local) must not pay for loading the
# edge's templates, so what only a fleet needs is imported when a fleet is there.
def edge_address(host: Any, edge: EdgeSettings) -> str | None:
    """Where the fleet's other edges reach ``host``'s: host data ``edge_address``, else its SSH
    hostname, else its inventory name; None when that is no address an nginx config may name."""
    from pinacle.edge.settings import ADDRESS_PATTERN

    data = getattr(host, "data", None)
    address = edge.address or (data.get("ssh_hostname") if data is not None else None) or host.name
    address = str(address).lower()
    return address if len(address) <= 200 and re.fullmatch(ADDRESS_PATTERN, address) else None


def fleet_edges(
    hosts: list[Any], edges: dict[str, EdgeSettings | None], tables: dict[str, FleetTableState]
) -> dict[str, FleetEdge]:
    """Host name -> its edge as peers reach it, for every host with its edge on; HostError for one
    whose address cannot be named (set host data edge_address)."""
    from pinacle.edge.fleet import FleetEdge
    from pinacle.errors import HostError

    members = {}
    for host in hosts:
        edge = edges.get(host.name)
        if edge is None or not edge.enabled:
            continue
        address = edge_address(host, edge)
        if address is None:
            raise HostError(
                f"{host.name}: the fleet's other edges cannot be told where its edge is: set host data "
                "edge_address (an IPv4 address or DNS name)"
            )
        ca = tables[host.name].ca_certificate if edge.local_ca else None
        members[host.name] = FleetEdge(host.name, address, edge, ca)
    return members


def sync_fleet_routes(session: executor.Session, progress: Progress | None = None) -> dict[str, int]:
    """Bring every fleet edge's table to the pods its peers serve now; host name -> commands run
    there (none: nothing differed). Nothing on one host, or where fewer than two edges run.

    With a host that did not answer nothing changes: no one can say which pods it serves, and a
    table without them would take their names off every other edge.
    """
    step = progress or silent()
    if not session.fleet or session.local:
        return {}
    from pinacle.edge.fleet import fleet_table_commands, fleet_trust, remote_pods, render_fleet_table
    from pinacle.edge.table import edge_pods
    from pinacle.readers.edge import edge_state, fleet_table
    from pinacle.readers.pod import pod_states

    edges = session.read_all(edge_state())
    if sum(1 for e in edges.values() if e is not None and e.enabled) < 2:
        return {}
    if session.unreachable:
        silent_hosts = ", ".join(sorted(session.unreachable))
        step("routes", f"the fleet's edge tables are left as they are: {silent_hosts} did not answer")
        return {}
    tables = session.read_all(fleet_table())
    members = fleet_edges(session.hosts, edges, tables)
    states = session.read_all(pod_states())
    served = {name: edge_pods(states[name]) for name in members}
    changed: dict[str, int] = {}
    for host in session.hosts:
        member = members.get(host.name)
        if member is None:
            continue
        remote = remote_pods(host.name, members, served)
        certificates = [r.pod.cookie_domain for r in remote] if member.edge.local_ca else []
        table = render_fleet_table(remote, member.edge)
        commands = fleet_table_commands(table, fleet_trust(remote), tables[host.name], certificates)
        if not commands:
            continue
        step("routes", f"forwarding {len(remote)} pod(s) of other hosts at {host.name}'s edge", host=host.name)
        _run_script(host, "set -e\n" + "\n".join(commands) + "\n")
        changed[host.name] = len(commands)
    return changed


def sync_routes(target: str, progress: Progress | None = None) -> dict[str, int]:
    """``pinacle routes``: :func:`sync_fleet_routes` on its own, for when the edges changed (the host
    deploy turned them on, or a new host joined) and no pod has since."""
    with executor.session(target) as session:
        return sync_fleet_routes(session, progress)


def _run_script(host: Any, script: str) -> None:
    from pinacle.errors import HostError
    from pinacle.operations._shell import fits_inline

    argv, stdin = (["sh", "-c", script], None) if fits_inline(script) else (["sh", "-s"], script.encode())
    code, _out, err = executor.run_captured(host, argv, stdin=stdin)
    if code != 0:
        detail = " ".join(err.split()[-40:]) or f"exit status {code}"
        raise HostError(f"{host.name}: the edge's fleet table was not changed: {detail}")
