"""A fleet's edges in front of each other's pods: a pod's URLs answer at every host of its fleet.

Each host's edge serves its own pods (``pods.conf``) and forwards the names of the pods its peers
hold to the holder's edge (``fleet.conf``, this module). The forwarding hop authenticates nothing:
the holder's edge checks the credential as it does for a browser that reached it directly, so a
pod's secret, its login links and its cookies stay where the pod is (``pinacle move`` carries the
secret along). DNS may point a pod's names at any host of the fleet, and a move changes nothing
a user types.

Pure: the hosts were read beforehand (:func:`pinacle.app.fleet_routes.sync_fleet_routes`).
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pinacle.edge.commands import RELOAD_EDGE, replace_table_command, sha512
from pinacle.edge.config import HOST_LAYOUT, EdgeLayout, EdgePod
from pinacle.edge.settings import EDGE_FLEET_CONF, EDGE_FLEET_TRUST, EDGE_TLS_SCRIPT, SYSTEM_CA_BUNDLE, EdgeSettings
from pinacle.operations._shell import write_file_command
from pinacle.router import nginx_template

EMPTY_FLEET_TABLE = "# pinacle edge fleet table: no pod of another host.\n"


@dataclass(frozen=True)
class FleetEdge:
    """The edge of one fleet host as its peers reach it."""

    host: str  # the inventory's name of the host
    address: str  # host data edge_address, else its SSH hostname
    edge: EdgeSettings
    ca_certificate: str | None = None  # its local CA's certificate (PEM): what a hop to it verifies against

    @property
    def upstream(self) -> str:
        """The nginx upstream of this edge: named by a digest, since inventory names are free text."""
        return "pinacle-fleet-" + hashlib.sha256(self.host.encode()).hexdigest()[:16]

    @property
    def verifiable(self) -> bool:
        """Whether a hop can check this edge's certificate: not if it runs a local CA whose
        certificate could not be read (its pods then answer at its own edge only)."""
        return not self.edge.local_ca or self.ca_certificate is not None

    @property
    def trusted_certificates(self) -> str:
        """The file a hop to this edge verifies its certificate against: the fleet's CAs, or the
        system's for an operator's certificate."""
        return EDGE_FLEET_TRUST if self.edge.local_ca else SYSTEM_CA_BUNDLE


@dataclass(frozen=True)
class RemotePod:
    """A pod another host's edge serves, and that edge."""

    pod: EdgePod
    holder: FleetEdge


@dataclass(frozen=True)
class FleetTableState:
    """The fleet table on a host: its SHA-512 and its trust file's (None: absent), the certificates
    its local CA issued, whether its edge runs, its local CA's certificate (read
    ``pinacle.readers.edge.fleet_table``)."""

    sha512: str | None
    trust_sha512: str | None
    certificates: frozenset[str]
    running: bool
    ca_certificate: str | None = None


def remote_pods(host: str, edges: Mapping[str, FleetEdge], served: Mapping[str, Sequence[EdgePod]]) -> list[RemotePod]:
    """The pods ``host``'s edge forwards: those the other fleet edges serve (``served``: host name ->
    what its edge serves), less those it serves itself. A slug two hosts serve (a copy a killed move
    left running) goes to the first host by name, on every host alike."""
    own = {pod.slug for pod in served.get(host, ())}
    chosen: dict[str, RemotePod] = {}
    for holder in sorted(served):
        if holder == host or holder not in edges or not edges[holder].verifiable:
            continue
        for pod in served[holder]:
            if pod.slug not in own and pod.slug not in chosen:
                chosen[pod.slug] = RemotePod(pod, edges[holder])
    return [chosen[slug] for slug in sorted(chosen)]


def fleet_trust(remote: Iterable[RemotePod]) -> str:
    """The CA certificates a host's hops verify against: those of the holders of ``remote`` that run a
    local CA, by host name. Only the holders': a peer that holds no pod may not have made its CA yet,
    and would change every trust file once it had."""
    holders = {r.holder.host: r.holder for r in remote}
    return "".join(holders[h].ca_certificate or "" for h in sorted(holders) if holders[h].edge.local_ca)


def render_fleet_table(remote: Sequence[RemotePod], edge: EdgeSettings, layout: EdgeLayout = HOST_LAYOUT) -> str:
    """``fleet.conf``: a server for every host name of every pod in ``remote``, forwarding to its holder."""
    holders = sorted({r.holder.host: r.holder for r in remote}.values(), key=lambda h: h.host)
    return nginx_template("edge-fleet.conf.j2").render(
        remote=sorted(remote, key=lambda r: r.pod.slug), holders=holders, edge=edge, cert_dir=layout.cert_dir
    )


def fleet_table_commands(
    table: str, trust: str, current: FleetTableState, certificates: Sequence[str] = ()
) -> list[str]:
    """Issue missing certificates, write a changed trust file and table (the table rolled back if nginx
    refuses it), reload a running edge; only for what differs, [] when nothing does."""
    missing = sorted(set(certificates) - current.certificates)
    commands = [f"{shlex.quote(EDGE_TLS_SCRIPT)} issue {shlex.quote(name)}" for name in missing]
    new_trust = bool(trust) and current.trust_sha512 != sha512(trust)
    if new_trust:
        commands.append(write_file_command(EDGE_FLEET_TRUST, trust, mode="0600"))
    rewrite = current.sha512 != sha512(table)
    if rewrite:
        commands.append(replace_table_command(EDGE_FLEET_CONF, table, "fleet table"))
    if current.running and (rewrite or new_trust or missing):
        commands.append(RELOAD_EDGE)
    return commands
