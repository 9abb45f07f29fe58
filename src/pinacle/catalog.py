"""The service catalog: what a pod can ask for by name in ``services:``.

Each entry says which port the service listens on inside the pod, the foreground command the
pod's supervisor runs (as the pod's unprivileged user), and where its health check points. It is a
table, not code paths, so adding a service is a data change (STYLE rule 3).

Nothing is installed when a pod starts: a service's software is part of the pod image, and every
image pinacle builds says which catalog services it carries in its ``pinacle.services`` label
(see ``docker/``). A pod that lists a service its image lacks is refused before its container is
created, with the name of an image that has it. Every entry here is started, and driven in a real
browser through the pod's router, by the test suite.

Every command here is a fixed string. Nothing a user writes in ``pod.yaml`` is ever spliced
into them, so they need no quoting by the operations that run them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pinacle.errors import SpecError

# ttyd's own client options: "Leave site?" prompts would block closing a tab for nothing, since a
# terminal's shell keeps running in the pod whether or not a browser shows it.
IMAGE_SERVICES_LABEL = "pinacle.services"
"""Image label: the comma-separated catalog services a pod image carries."""

_TTYD = "ttyd --interface 127.0.0.1 --writable --client-option disableLeaveAlert=true"


@dataclass(frozen=True)
class ServiceDefinition:
    """One service a pod can run, described as data.

    + name: the catalog key users write in ``services:``
    + port: the port it listens on inside the pod (routed by the pod's Nginx)
    + description: one line for listings and the README
    + start: the foreground command line the pod's supervisor keeps running
    + health_path: HTTP path the health check requests through the router
    + image: an image pinacle builds that carries this service
    """

    name: str
    port: int
    description: str
    start: str
    health_path: str = "/"
    image: str = "pinacle/workstation:latest"


_ENTRIES = (
    ServiceDefinition(
        name="web-terminal",
        port=7681,
        description="A real terminal in the browser (ttyd: xterm.js over a pty), a login bash in /workspace",
        start=f"{_TTYD} --port 7681 bash -l",
        image="pinacle/base:latest",
    ),
    ServiceDefinition(
        name="code-server",
        port=8726,
        description="VS Code in the browser (code-server), opened on /workspace",
        # No --trusted-origins: the router passes the browser's host:port as X-Forwarded-Host,
        # which is exactly the origin code-server then accepts for its WebSockets.
        start=(
            "code-server --bind-addr 127.0.0.1:8726 --auth none --disable-telemetry "
            "--disable-update-check --disable-workspace-trust /workspace"
        ),
        health_path="/healthz",
    ),
    ServiceDefinition(
        name="claude-code",
        port=2528,
        description="Claude Code in a terminal (ttyd + tmux: the session survives a closed tab)",
        # A shell takes over when claude exits (no account yet, no network), so the page keeps
        # what claude said instead of reconnecting in a loop; `claude` starts it again.
        start=f'{_TTYD} --port 2528 tmux new -As claude "claude; exec bash -l"',
    ),
    ServiceDefinition(
        name="vibe-kanban",
        port=5262,
        description="Vibe Kanban, a board for coding agents",
        start="env PORT=5262 HOST=127.0.0.1 vibe-kanban",
        health_path="/api/health",
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


def parse_image_services(labels: Mapping[str, str] | None) -> frozenset[str] | None:
    """The services an image's labels say it carries; None for an image pinacle did not build."""
    if labels is None or IMAGE_SERVICES_LABEL not in labels:
        return None
    return frozenset(name.strip() for name in labels[IMAGE_SERVICES_LABEL].split(",") if name.strip())


def missing_from_image(services: tuple[str, ...] | list[str], image: str, provided: frozenset[str] | None) -> str:
    """Why an image cannot run ``services`` (empty when it can).

    + services: the catalog services a pod lists
    + image: the pod's image, for the message
    + provided: the image's ``pinacle.services`` label, None when it has no such label
    """
    if provided is None:
        return (
            f"image {image} is not a pinacle pod image (it has no {IMAGE_SERVICES_LABEL} label); "
            "build one with docker/build-image.sh base (or workstation)"
        )
    missing = [name for name in services if name not in provided]
    if not missing:
        return ""
    offered = ", ".join(sorted(provided)) or "none"
    hints = sorted({CATALOG[name].image for name in missing if name in CATALOG})
    return (
        f"image {image} does not carry service(s) {', '.join(missing)} (it has: {offered}); "
        f"use image: {' or '.join(hints)}"
    )
