"""Connect to every host of a target, or fail naming each one that cannot be reached.

pyinfra's ``connect_all`` logs a host it cannot reach and carries on with the others (or raises a
bare "No hosts remaining!" when none is left): a ``pinacle list`` over a fleet with one host down
would then print the other hosts' pods as if they were all, and a single unreachable host would
end in a traceback. A command that cannot see every host of its target says so instead.
"""

from __future__ import annotations

from typing import Any

from pyinfra.api import State
from pyinfra.api.connect import connect_all, disconnect_all
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.state import BaseStateCallback

from pinacle.errors import TargetError


class _ConnectErrors(BaseStateCallback):
    """Why each host could not be connected (pyinfra's own ConnectError text)."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}

    def host_connect_error(self, state: State, host: Any, error: Exception) -> None:  # type: ignore[override]
        self.reasons[host.name] = str(error.args[0]) if error.args else type(error).__name__


def connect_hosts(state: State, target: str) -> list[Any]:
    """Connect every host of ``state``'s inventory; a TargetError naming the unreachable ones."""
    errors = _ConnectErrors()
    state.add_callback_handler(errors)
    try:
        connect_all(state)
    except PyinfraError:
        pass  # none connected: each is named below
    finally:
        state.callback_handlers.remove(errors)
    unreachable = [host for host in state.inventory if not host.connected]
    if unreachable:
        disconnect_all(state)
        named = "; ".join(f"{host.name}: {errors.reasons.get(host.name, 'not connected')}" for host in unreachable)
        raise TargetError(f"cannot reach {len(unreachable)} of {len(state.inventory)} host(s) of {target}: {named}")
    return list(state.inventory.get_active_hosts())
