"""A pod's credential at the host's edge: the commands that manage it and the login URL they print.

Pure: pod names in, argv and checked output out. The commands are the host script
``pinacle-edge-auth`` (``src/pinacle/host_scripts/``), run as root on the pod's host; it keeps each
pod's secret root-only on the host, so a secret only ever travels on that command's standard output.
Every argument is a checked slug, a checked URL or a number, and goes into an argv (never a shell).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from pinacle.errors import HostError, UsageError

EDGE_AUTH_SCRIPT = "/usr/local/lib/pinacle/pinacle-edge-auth"
# The script's own state (its --state default): secrets/SLUG is a pod's secret, root-only.
EDGE_SECRETS_DIR = "/var/lib/pinacle/edge/secrets"
LOGIN_PATH = "/__pinacle/login"
LOGIN_TTL_DEFAULT = 120
LOGIN_TTL_MAX = 24 * 3600
# The script's own grammar of what it prints: a secret, or a login URL on the base it was given.
_SECRET = re.compile(r"[0-9a-f]{64}\n?\Z", re.ASCII)
_SCRIPT_PATH = re.compile(r"/[A-Za-z0-9._/-]{1,200}\Z", re.ASCII)
_TOKEN = r"v1\.[1-9][0-9]{0,11}\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}"


def edge_auth_script(environ: Mapping[str, str] = os.environ) -> str:
    """Where the script is on pod hosts: ``$PINACLE_EDGE_AUTH_SCRIPT`` names another copy (the
    integration tests install one in a temporary prefix)."""
    script = environ.get("PINACLE_EDGE_AUTH_SCRIPT") or EDGE_AUTH_SCRIPT
    if not _SCRIPT_PATH.match(script):
        raise UsageError("PINACLE_EDGE_AUTH_SCRIPT must be an absolute path of letters, digits and ._/-")
    return script


def edge_secret_path(slug: str) -> str:
    """Where the host keeps pod ``slug``'s secret (a move carries that file to the pod's new host)."""
    return f"{EDGE_SECRETS_DIR}/{slug}"


def pod_host_name(slug: str, domain: str, port: int | None = None) -> str:
    """The edge host name of a pod's port, or of the pod itself (its main port) without one."""
    return f"pod-{slug}.{domain}" if port is None else f"localhost-{port}.pod-{slug}.{domain}"


def service_port(slug: str, routes: list[tuple[str, int]], service: str | None) -> int | None:
    """The in-pod port of ``service`` among the pod's routes (None: the pod's main name)."""
    if service is None:
        return None
    for name, port in routes:
        if name == service:
            return port
    known = ", ".join(name for name, _port in routes) or "none"
    raise UsageError(f"pod {slug} has no service {service!r}; its services: {known}")


def check_ttl(ttl: int) -> int:
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= LOGIN_TTL_MAX:
        raise UsageError(f"a login link lives 1..{LOGIN_TTL_MAX} seconds (got {ttl!r})")
    return ttl


def token_argv(slug: str, rotate: bool, script: str) -> list[str]:
    return [script, "token", slug, *(["--rotate"] if rotate else [])]


def login_url_argv(slug: str, base_url: str, ttl: int, script: str) -> list[str]:
    return [script, "login-url", slug, base_url, "--ttl", str(check_ttl(ttl))]


def forget_argv(slug: str, script: str) -> list[str]:
    """Delete the pod's secret; nothing at all on a host without the script (no edge ever installed)."""
    return ["sh", "-c", 'if [ -e "$0" ]; then exec "$0" forget "$1"; fi', script, slug]


def parse_secret(host_name: str, output: str) -> str:
    if not _SECRET.match(output):
        raise HostError(f"{host_name}: pinacle-edge-auth printed something other than a secret")
    return output.strip()


def parse_login_url(host_name: str, base_url: str, output: str) -> str:
    url = output.strip()
    if not re.fullmatch(rf"{re.escape(base_url)}{LOGIN_PATH}\?t={_TOKEN}", url, re.ASCII):
        raise HostError(f"{host_name}: pinacle-edge-auth printed something other than a login URL")
    return url


def command_failure(host_name: str, script: str, code: int, stderr: str) -> HostError:
    """The error of a failed pinacle-edge-auth run (its stderr never holds a secret)."""
    if code == 127 or "No such file" in stderr or "not found" in stderr:
        return HostError(f"{host_name}: {script} is missing; run the host deploy (deploys/vm.py) to install the edge")
    last = stderr.strip().splitlines()[-1:] or [f"exit code {code}"]
    return HostError(f"{host_name}: {script} failed: {last[0][:300]}")
