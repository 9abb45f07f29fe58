"""Connect to every host of a target, and say why each one that cannot be reached was not.

pyinfra's ``connect_all`` logs a host it cannot reach and carries on with the others (or raises a
bare "No hosts remaining!" when none is left). pinacle keeps pyinfra's way of going on with the
hosts that answered (a fleet places new pods on those), but never silently: the session keeps each
unreachable host with pyinfra's reason, and the commands report them (``pinacle list`` lists the
others and exits 3). A target none of whose hosts answers is a TargetError naming each.
"""

from __future__ import annotations

from typing import Any

from pyinfra.api import State
from pyinfra.api.connect import connect_all
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import BaseStateCallback

from pinacle.errors import TargetError


class _ConnectErrors(BaseStateCallback):
    """Why each host could not be connected (pyinfra's own ConnectError text)."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}

    def host_connect_error(self, state: State, host: Any, error: Exception) -> None:  # type: ignore[override]
        self.reasons[host.name] = str(error.args[0]) if error.args else type(error).__name__


def connect_hosts(state: State, target: str) -> tuple[list[Any], dict[str, str]]:
    """Connect every host of ``state``'s inventory: (the hosts that answered, host name -> why each
    other one did not); a TargetError naming them all when none answered."""
    errors = _ConnectErrors()
    state.add_callback_handler(errors)
    try:
        connect_all(state)
    except PyinfraError:
        pass  # none connected: each is named below
    finally:
        state.callback_handlers.remove(errors)
    unreachable = {
        host.name: errors.reasons.get(host.name, "not connected") for host in state.inventory if not host.connected
    }
    hosts = list(state.inventory.get_active_hosts())
    if not hosts:
        named = "; ".join(f"{name}: {why}" for name, why in unreachable.items())
        raise TargetError(f"cannot reach any of the {len(unreachable)} host(s) of {target}: {named}")
    return hosts, unreachable
