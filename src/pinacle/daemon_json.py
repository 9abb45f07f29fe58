"""Docker's daemon.json as pinacle reads it: parsed strictly, and the runtimes in it that are gVisor.

No pydantic here: the reads of a host (:mod:`pinacle.readers`) parse it before the schema loads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pinacle.errors import HostError

DAEMON_JSON_PATH = "/etc/docker/daemon.json"


def parse_daemon_json(text: str | None) -> dict[str, Any]:
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HostError(
            f"{DAEMON_JSON_PATH} is not valid JSON ({exc}); fix or remove it, then re-run the deploy"
        ) from None
    if not isinstance(value, dict):
        raise HostError(f"{DAEMON_JSON_PATH} must hold a JSON object")
    return value


def gvisor_runtimes(daemon: Mapping[str, Any]) -> frozenset[str]:
    """The runtime names daemon.json registers whose binary is runsc: the only ones pods run under.

    A name is not evidence (``runsc`` could point at runc): the registered path's file name is.
    """
    registered = daemon.get("runtimes")
    if not isinstance(registered, Mapping):
        return frozenset()
    names = set()
    for name, entry in registered.items():
        path = entry.get("path") if isinstance(entry, Mapping) else None
        if isinstance(path, str) and path.rsplit("/", 1)[-1] == "runsc":
            names.add(str(name))
    return frozenset(names)


def render_daemon_json(config: Mapping[str, Any]) -> str:
    return json.dumps(config, indent=2, sort_keys=True) + "\n"
