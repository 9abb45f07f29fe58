"""A pod's credential at its host's edge: print or rotate its secret, make a one-time login link.
(The edge's pod-table operation makes the secret; ``delete --purge`` forgets it, see
:func:`pinacle.app.pods.forget_edge_secrets`.)

Each runs ``pinacle-edge-auth`` on the pod's host through :func:`pinacle.executor.run_captured`, the
way ``exec`` runs ``docker exec``: the secret only ever travels on that command's standard output,
never in an argv, a label or a log.
"""

from __future__ import annotations

from typing import Any

from pinacle import executor
from pinacle.app.pods import pods
from pinacle.errors import HostError, PodNotFound, TargetError
from pinacle.pod import access
from pinacle.pod.names import LABEL_ROUTES
from pinacle.pod.observed import ContainerRecord
from pinacle.pod.report import domain_of, parse_routes, spec_of
from pinacle.pod.visibility import public_ports
from pinacle.readers.edge import edge_state
from pinacle.records import LoginLink, PodToken


def _the_pod(session: executor.Session, slug: str) -> tuple[Any, ContainerRecord]:
    found = pods(session, slug)
    if not found:
        raise PodNotFound(f"no pod {slug} on {session.target}; see `pinacle list`")
    if len(found) > 1:
        raise TargetError(f"pod {slug} is on several hosts of {session.target}; name one host")
    return found[0]


def run_edge_auth(host: Any, argv: list[str]) -> str:
    """Run a ``pinacle-edge-auth`` command on ``host``; its standard output, or HostError."""
    code, out, err = executor.run_captured(host, argv)
    if code != 0:
        raise access.command_failure(host.name, argv[0], code, err)
    return out


def pod_token(session: executor.Session, slug: str, rotate: bool = False) -> PodToken:
    """The pod's secret (``pinacle token``); with ``rotate`` a new one first, which logs out every
    browser and voids every login link of the pod at once. Made if the pod has none yet."""
    host, _record = _the_pod(session, slug)
    output = run_edge_auth(host, access.token_argv(slug, rotate, access.edge_auth_script()))
    return PodToken(host.name, slug, access.parse_secret(host.name, output), rotated=rotate)


def login_link(
    session: executor.Session, slug: str, service: str | None = None, ttl: int = access.LOGIN_TTL_DEFAULT
) -> LoginLink:
    """A one-time login URL for the edge host name of ``service`` (or of the pod's main port); the
    plain URL when that name is public."""
    access.check_ttl(ttl)
    host, record = _the_pod(session, slug)
    port = access.service_port(slug, parse_routes(record.labels.get(LABEL_ROUTES, "")), service)
    domain = domain_of(record)
    edge = session.read(host, edge_state())  # what the host deploy recorded, whatever the inventory says
    if edge is None or not edge.enabled:
        raise HostError(f"{host.name}: the host has no edge (host data edge_enabled), so pod URLs take no login")
    base = edge.url(access.pod_host_name(slug, domain, port)).rstrip("/")
    spec = spec_of(record)
    if (spec.main_port if port is None else port) in public_ports(spec):
        # A public name is served without a login, /__pinacle/login included: a token sent there
        # would reach the pod's service (and its logs) unused, still good for every private name.
        return LoginLink(host.name, slug, service, f"{base}/", None)
    output = run_edge_auth(host, access.login_url_argv(slug, base, ttl, access.edge_auth_script()))
    return LoginLink(host.name, slug, service, access.parse_login_url(host.name, base, output), ttl)
