"""What the edge of one host looks like: its ports, TLS, how requests are authenticated, its files.

Pure (no pyinfra). The host deploy validates these from host data (``edge_*`` keys of
:class:`pinacle.hostspec.HostSettings`) and writes them to ``EDGE_STATE`` on the host, root-only;
every later rollout and day-2 command reads them back from there (the host's own state, whatever
inventory the command was given), to render the pod table and to print edge URLs.
"""

from __future__ import annotations

import ipaddress
import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

EDGE_DIR = "/etc/pinacle/edge"
EDGE_CONF = f"{EDGE_DIR}/nginx.conf"
EDGE_PODS_CONF = f"{EDGE_DIR}/pods.conf"
# The fleet table: the names of pods other hosts of a fleet hold, forwarded to their edges
# (pinacle.edge.fleet); the CA certificates the forwarding hop verifies those edges against.
EDGE_FLEET_CONF = f"{EDGE_DIR}/fleet.conf"
EDGE_FLEET_TRUST = f"{EDGE_DIR}/fleet-ca.pem"
# Where a hop to an edge with an operator's certificate looks for the CAs that signed it.
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
EDGE_STATE = f"{EDGE_DIR}/edge.json"
EDGE_TLS_DIR = f"{EDGE_DIR}/tls"
# The local CA (edge_tls without an operator certificate): made once, kept across deploys.
EDGE_CA_CERT = f"{EDGE_TLS_DIR}/ca.crt"
EDGE_POD_CERT_DIR = f"{EDGE_TLS_DIR}/pods"
EDGE_PID = "/run/pinacle/edge.pid"
EDGE_STATE_DIR = "/var/lib/pinacle/edge"
# Not in /run/pinacle (root 0700, kept so by the pod scripts): nginx's workers must reach it.
EDGE_SOCKET_DIR = "/run/pinacle-edge"
EDGE_AUTH_SOCKET = f"{EDGE_SOCKET_DIR}/auth.sock"
EDGE_AUTH_SCRIPT = "/usr/local/lib/pinacle/pinacle-edge-auth"
EDGE_AUTH_PID = "/run/pinacle/edge-auth.pid"
# The SHA-512 of the script the running daemon was started from: a new script restarts it.
EDGE_AUTH_STARTED = "/run/pinacle/edge-auth.sha512"
EDGE_TLS_SCRIPT = "/usr/local/lib/pinacle/pinacle-edge-tls"
# Reloads the edge and returns once the new config serves (a bare `nginx -s reload` returns before).
EDGE_RELOAD_SCRIPT = "/usr/local/lib/pinacle/pinacle-edge-reload"
# Old workers keep serving open WebSockets (terminals, editors) this long after a reload.
WORKER_SHUTDOWN_TIMEOUT = "24h"

# Host names and URLs that reach an nginx config: the whole value in a strict grammar, no quotes,
# spaces, semicolons, braces or ``$``.
AUTH_URL_PATTERN = r"^https?://[A-Za-z0-9.-]{1,200}(:[0-9]{1,5})?(/[A-Za-z0-9._~/%-]{0,200})?$"
FILE_PATTERN = r"^/[A-Za-z0-9._/-]{1,200}$"
# Where the other edges of a fleet reach this one: an IPv4 address or a DNS name, lowercase.
ADDRESS_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"


class EdgeSettings(BaseModel):
    """One host's edge (host data ``edge_*``; see the README's edge section).

    + enabled: nginx runs on this host in front of every pod; pods' own ports stay on loopback
    + http_port / https_port: where it listens (80/443 give URLs without a port)
    + tls: serve HTTPS (HTTP then only redirects); with ``tls_cert``/``tls_key`` (files the operator
      put on the host, root-only) those, otherwise certificates of a local CA made on the host
    + forward_auth_url: an operator's auth service (oauth2-proxy's ``/oauth2/auth`` shape) that
      replaces pinacle's own per-pod credential check; ``forward_auth_signin``: where a 401 sends
      the browser (302 with ``?rd=`` the URL it asked for)
    + address: where the other edges of a fleet reach this one (default: the host's SSH hostname);
      each host's edge forwards the names of the pods its peers hold to theirs (pinacle.edge.fleet)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    http_port: int = Field(default=80, ge=1, le=65535)
    https_port: int = Field(default=443, ge=1, le=65535)
    tls: bool = False
    tls_cert: str | None = Field(default=None, pattern=FILE_PATTERN)
    tls_key: str | None = Field(default=None, pattern=FILE_PATTERN)
    forward_auth_url: str | None = Field(default=None, pattern=AUTH_URL_PATTERN)
    forward_auth_signin: str | None = Field(default=None, pattern=AUTH_URL_PATTERN)
    address: str | None = Field(default=None, max_length=200, pattern=ADDRESS_PATTERN)

    @model_validator(mode="after")
    def _cert_with_key(self) -> EdgeSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("edge_tls_cert and edge_tls_key go together: name both files, or neither")
        if self.tls_cert is not None and not self.tls:
            raise ValueError("edge_tls_cert is set but edge_tls is off: set edge_tls = True to serve it")
        if self.forward_auth_signin is not None and self.forward_auth_url is None:
            raise ValueError("edge_forward_auth_signin needs edge_forward_auth_url")
        return self

    @property
    def local_ca(self) -> bool:
        """TLS from the host's own CA: one certificate per pod, issued when the pod appears."""
        return self.tls and self.tls_cert is None

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def port_suffix(self) -> str:
        """``:PORT`` of the scheme's port in a URL, or nothing on 80 (HTTP) / 443 (HTTPS)."""
        port, default = (self.https_port, 443) if self.tls else (self.http_port, 80)
        return "" if port == default else f":{port}"

    def publish_problem(self, address: str) -> str:
        """Why pods may not be published on ``address`` beside this edge ("" if they may)."""
        if not self.enabled or ipaddress.ip_address(address).is_loopback:
            return ""
        return (
            f"its router would be published on {address}, past the host's edge: with the edge on, pods "
            "publish on loopback only (unset PINACLE_PUBLISH_ADDRESS, or set host data edge_enabled = False)"
        )

    @property
    def port(self) -> int:
        """The port a browser (or another edge of the fleet) reaches this edge on."""
        return self.https_port if self.tls else self.http_port

    def url(self, host_name: str) -> str:
        return f"{self.scheme}://{host_name}{self.port_suffix}/"

    def to_json(self) -> str:
        return json.dumps(self.model_dump(), sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> EdgeSettings | None:
        """The settings the host deploy recorded, or None when the file is not one of ours."""
        try:
            return cls.model_validate_json(text)
        except ValidationError:
            return None
