"""The arithmetic behind ``pinacle doctor``: pure functions, no pyinfra import.

The checks themselves (which facts to read, what to tell the user) are in :mod:`pinacle.app.doctor`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Docker's built-in pools when daemon.json sets none: 172.17-31.0.0/16 and 192.168.0.0/16 in /20s.
DOCKER_DEFAULT_POOLS: tuple[tuple[str, int], ...] = (("172.17.0.0/12", 16), ("192.168.0.0/16", 20))


def snapshot_visibility(daemon: Mapping[str, Any], runtime: str) -> tuple[str, str] | None:
    """``(level, message)`` on whether snapshots see a pod's root filesystem writes; None if unknown.

    Read from daemon.json: runsc keeps rootfs writes in a sandbox-internal overlay unless it runs
    with ``--overlay2=none`` (the overlay is runsc's default since 2023; gVisor issue 11559).
    """
    registered = (daemon.get("runtimes") or {}).get(runtime)
    if not isinstance(registered, dict):
        return None
    overlay = [a for a in registered.get("runtimeArgs") or [] if str(a).startswith("--overlay2")]
    if overlay == ["--overlay2=none"]:
        return "ok", f"{runtime} runs with --overlay2=none: snapshots see root filesystem writes"
    shown = overlay[-1] if overlay else "no --overlay2 flag (the release default keeps an overlay)"
    return "warn", f"{runtime} runs with {shown}: snapshots keep /workspace but miss root filesystem writes"


def pool_capacity(pools: Sequence[Mapping[str, Any]] | None) -> int:
    """How many networks ``default-address-pools`` can hand out (Docker's defaults when unset)."""
    entries = [(str(p.get("base")), int(p.get("size", 0))) for p in pools] if pools else list(DOCKER_DEFAULT_POOLS)
    total = 0
    for base, size in entries:
        try:
            network = ipaddress.ip_network(base, strict=False)
        except ValueError:
            continue
        if size >= network.prefixlen:
            total += 2 ** (size - network.prefixlen)
    return total


def level(used: int, capacity: int, warn_ratio: float = 0.8) -> str:
    """``ok``, ``warn`` (at least ``warn_ratio`` used) or ``fail`` (nothing left)."""
    if capacity <= 0 or used >= capacity:
        return "fail"
    return "warn" if used >= capacity * warn_ratio else "ok"


def ports_in_range(taken: Iterable[int], port_range: tuple[int, int]) -> int:
    low, high = port_range
    return sum(1 for p in set(taken) if low <= p <= high)
