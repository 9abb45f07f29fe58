"""What counts as a healthy answer from a pod's service."""

from __future__ import annotations


def healthy(status: int) -> bool:
    """Anything a server answered on its own (not the router's 404/421/502) counts as alive."""
    return 200 <= status < 500 and status not in (404, 421)
