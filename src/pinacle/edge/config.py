"""Render the edge's nginx files: its main config and snippets (host deploy) and the pod table.

Pure: the inputs are the host's edge settings and its pods' records; the templates' filters
refuse any value outside its grammar, as in the in-pod router.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pinacle.edge.settings import (
    EDGE_AUTH_SOCKET,
    EDGE_DIR,
    EDGE_PID,
    EDGE_POD_CERT_DIR,
    WORKER_SHUTDOWN_TIMEOUT,
    EdgeSettings,
)
from pinacle.pod.names import LOG_DIR
from pinacle.router import Route, nginx_template

# The nginx worker user of each package manager's nginx package.
NGINX_USERS = {"apt": "www-data", "apk": "nginx"}
SNIPPETS = ("private.conf", "public.conf")


@dataclass(frozen=True)
class EdgeLayout:
    """Where an edge instance keeps its files; the host's own by default (tests run a second one)."""

    config_dir: str = EDGE_DIR
    cert_dir: str = EDGE_POD_CERT_DIR
    pid: str = EDGE_PID
    log_dir: str = LOG_DIR
    auth_socket: str = EDGE_AUTH_SOCKET


HOST_LAYOUT = EdgeLayout()


@dataclass(frozen=True)
class EdgeName:
    """One host name of a pod at the edge: which service it shows, and whether it asks for a credential."""

    host_name: str
    service: str
    public: bool


@dataclass(frozen=True)
class EdgePod:
    """What the edge needs of one running pod: its slug, domain, router host port and routes."""

    slug: str
    domain: str
    host_port: int
    routes: tuple[Route, ...]
    main_port: int
    public_ports: frozenset[int] = frozenset()

    @property
    def cookie_domain(self) -> str:
        """``pod-SLUG.DOMAIN``: the pod's main name, the cookie's domain, its certificate's name."""
        return f"pod-{self.slug}.{self.domain}"

    @property
    def names(self) -> tuple[EdgeName, ...]:
        main = next(r for r in self.routes if r.port == self.main_port)
        return (
            EdgeName(self.cookie_domain, main.name, self.main_port in self.public_ports),
            *(EdgeName(r.host_name(self.slug, self.domain), r.name, r.port in self.public_ports) for r in self.routes),
        )


def render_edge_conf(edge: EdgeSettings, package_manager: str, layout: EdgeLayout = HOST_LAYOUT) -> dict[str, str]:
    """File path -> text of the edge's main config and its snippets (the host deploy writes them)."""
    files = {
        f"{layout.config_dir}/nginx.conf": nginx_template("edge-nginx.conf.j2").render(
            edge=edge,
            user=NGINX_USERS[package_manager],
            pid=layout.pid,
            log_dir=layout.log_dir,
            worker_shutdown_timeout=WORKER_SHUTDOWN_TIMEOUT,
            auth_socket=layout.auth_socket,
            pods_conf=f"{layout.config_dir}/pods.conf",
            config_dir=layout.config_dir,
        )
    }
    for snippet in SNIPPETS:
        files[f"{layout.config_dir}/{snippet}"] = nginx_template(f"edge-{snippet}.j2").render(edge=edge)
    return files


def render_edge_table(pods: Iterable[EdgePod], edge: EdgeSettings, layout: EdgeLayout = HOST_LAYOUT) -> str:
    """``pods.conf``: a server for every host name of every pod given, in a stable order."""
    ordered = sorted(pods, key=lambda pod: pod.slug)
    return nginx_template("edge-pods.conf.j2").render(
        pods=ordered, edge=edge, cert_dir=layout.cert_dir, snippet_dir=layout.config_dir
    )


def edge_urls(edge: EdgeSettings, slug: str, domain: str, routes: Iterable[Route]) -> Mapping[str, str]:
    """Service name -> the URL a user opens through the edge (no port on 80/443)."""
    return {r.name: edge.url(r.host_name(slug, domain)) for r in routes}
