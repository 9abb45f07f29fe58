"""Host ports: which ones are taken, and the one a pod gets. The only place a port is chosen.

A pod keeps the port it holds (its container's ``pinacle.port`` label, else its host record, so an
interrupted replacement does not move it); a pinned ``host_port`` is used as given; otherwise the
lowest port in the target's range that no pod holds and nothing on the host listens on. The host
script ``pinacle-pod-create`` only *claims* the chosen port under a host-wide lock and refuses
(exit 75) when a concurrent deploy claimed it first; the rollout then reads the host again and
chooses anew.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# /proc/net/tcp's state column: 0A is LISTEN.
_LISTEN = "0A"
# What pinacle-pod-create says (exit 75, EX_TEMPFAIL) when a concurrent deploy claimed the port.
CLAIM_LOST_MESSAGE = "was claimed by pod"


def listening_ports(proc_net_tcp_lines: Iterable[str]) -> set[int]:
    """Local ports in LISTEN state, from the lines of ``/proc/net/tcp`` and ``/proc/net/tcp6``."""
    ports: set[int] = set()
    for line in proc_net_tcp_lines:
        fields = line.split()
        if len(fields) > 3 and fields[3] == _LISTEN and ":" in fields[1]:
            try:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
            except ValueError:
                continue
    return ports


def lowest_free_port(port_range: tuple[int, int], taken: Iterable[int]) -> int | None:
    """The lowest port in range that is not taken; None when the range is full."""
    low, high = port_range
    used = set(taken)
    return next((p for p in range(low, high + 1) if p not in used), None)


def choose_port(
    slug: str,
    port_range: tuple[int, int],
    taken: Mapping[int, str],
    pinned: int | None = None,
    held: int | None = None,
) -> int | None:
    """The host port pod ``slug`` gets: pinned, else the one it holds, else the lowest free one."""
    if pinned is not None:
        return pinned
    if held is not None and taken.get(held, slug) == slug:
        return held
    return lowest_free_port(port_range, (p for p, owner in taken.items() if owner != slug))
