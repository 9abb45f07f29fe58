"""The service catalog: what a pod can ask for by name in ``services:``.

Each entry says how to install the service with each package manager a pod image may have,
how to tell whether it is already installed, the foreground command the pod's supervisor runs,
which port it listens on and where its health check points. It is a table, not code paths, so
adding a service or a package manager is a data change (STYLE rule 3).

Every command here is a fixed string. Nothing a user writes in ``pod.yaml`` is ever spliced
into them, so they need no quoting by the operations that run them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pinacle.errors import SpecError

PACKAGE_MANAGERS: tuple[str, ...] = ("apk", "apt")
"""Package managers every catalog entry knows how to install with."""

_APT_INSTALL = "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
_NODE_APK = "apk add --no-cache nodejs npm"
_NODE_APT = f"{_APT_INSTALL} nodejs npm"


def _web_terminal_start(port: int, command: str) -> str:
    """Prefer the base image's ``pinacle-webterm``; fall back to ``ttyd`` (Alpine images).

    Debian bookworm does not package ttyd, so the pinacle base image ships its own small
    websockets terminal. The choice is made at start time inside the pod, where the facts are.
    """
    webterm = f"pinacle-webterm --port {port}"
    if command != "bash":
        webterm += f" --command {command}"
    return (
        "sh -c 'if command -v pinacle-webterm >/dev/null 2>&1; "
        f"then exec {webterm}; else exec ttyd -p {port} -W {command}; fi'"
    )


_HAS_WEB_TERMINAL = "(command -v pinacle-webterm >/dev/null 2>&1 || command -v ttyd >/dev/null 2>&1)"


@dataclass(frozen=True)
class ServiceDefinition:
    """One service a pod can run, described as data.

    + name: the catalog key users write in ``services:``
    + port: the port it listens on inside the pod (routed by the pod's Nginx)
    + description: one line for ``pinacle`` listings
    + install: package manager (``apk``/``apt``) -> shell snippet that installs it
    + installed_check: shell test, exit status 0 when the service is already installed
    + start: the foreground command line the pod's supervisor keeps running
    + health_path: HTTP path the health check requests through the router
    + runs_here: whether it was seen serving on this project's CI machine
    + limitation: what stops it from running everywhere, empty when nothing does
    """

    name: str
    port: int
    description: str
    install: Mapping[str, str] = field(hash=False)
    installed_check: str
    start: str
    health_path: str = "/"
    runs_here: bool = True
    limitation: str = ""

    def install_for(self, package_manager: str) -> str:
        """The install snippet for ``package_manager``, or a SpecError naming the known ones."""
        try:
            return self.install[package_manager]
        except KeyError:
            known = ", ".join(sorted(self.install))
            raise SpecError(
                f"service {self.name!r} has no install recipe for package manager {package_manager!r}; known: {known}"
            ) from None


def _entry(
    *,
    name: str,
    port: int,
    description: str,
    apk: str,
    apt: str,
    installed_check: str,
    start: str,
    runs_here: bool,
    limitation: str = "",
) -> ServiceDefinition:
    """Build a catalog row whose ``install`` table cannot be mutated after import."""
    return ServiceDefinition(
        name=name,
        port=port,
        description=description,
        install=MappingProxyType({"apk": apk, "apt": apt}),
        installed_check=installed_check,
        start=start,
        runs_here=runs_here,
        limitation=limitation,
    )


_ENTRIES = (
    _entry(
        name="web-terminal",
        port=7681,
        description="A shell in the browser (pinacle-webterm, or ttyd on Alpine images)",
        apk="apk add --no-cache ttyd",
        apt=f"{_APT_INSTALL} ttyd",
        installed_check=_HAS_WEB_TERMINAL,
        start=_web_terminal_start(7681, "bash"),
        runs_here=True,
        limitation=(
            "Debian bookworm does not package ttyd; the pinacle base image ships "
            "pinacle-webterm instead, so the apt recipe only runs on images with neither."
        ),
    ),
    _entry(
        name="code-server",
        port=8726,
        description="VS Code in the browser, opened on /workspace",
        apk=f"{_NODE_APK} && npm install -g code-server",
        apt=f"{_NODE_APT} && npm install -g code-server",
        installed_check="command -v code-server >/dev/null 2>&1",
        start="code-server --bind-addr 127.0.0.1:8726 --auth none /workspace",
        runs_here=False,
        limitation=("Needs Node 20+ and builds native modules at install time; tested as far as its catalog commands."),
    ),
    _entry(
        name="vibe-kanban",
        port=5262,
        description="Vibe Kanban, a board for coding agents",
        apk=f"{_NODE_APK} && npm install -g vibe-kanban",
        apt=f"{_NODE_APT} && npm install -g vibe-kanban",
        installed_check="command -v vibe-kanban >/dev/null 2>&1",
        start="env PORT=5262 HOST=127.0.0.1 vibe-kanban",
        runs_here=False,
        limitation="Downloads its binary from the vendor at first start.",
    ),
    _entry(
        name="claude-code",
        port=2528,
        description="Claude Code served in a web terminal",
        apk=f"{_NODE_APK} ttyd && npm install -g @anthropic-ai/claude-code",
        apt=(
            f"{_NODE_APT} && npm install -g @anthropic-ai/claude-code && "
            f"{{ command -v pinacle-webterm >/dev/null 2>&1 || {_APT_INSTALL} ttyd; }}"
        ),
        installed_check=f"command -v claude >/dev/null 2>&1 && {_HAS_WEB_TERMINAL}",
        start=_web_terminal_start(2528, "claude"),
        runs_here=False,
        limitation="Needs an Anthropic account; the terminal page itself is reachable.",
    ),
)

CATALOG: Mapping[str, ServiceDefinition] = MappingProxyType({s.name: s for s in _ENTRIES})
"""Every service a pod may list in ``services:``, by name."""


def get_service(name: str) -> ServiceDefinition:
    """The catalog entry called ``name``; a SpecError listing the known names otherwise."""
    try:
        return CATALOG[name]
    except KeyError:
        raise SpecError(f"unknown service {name!r}; known: {', '.join(CATALOG)}") from None
