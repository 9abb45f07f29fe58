"""Connecting a target: the hosts that answer, each other one with its reason; an error when none does.

The unreachable host is an SSH host on a loopback port nothing listens on (refused at once);
``@local`` is a host that connects.
"""

from __future__ import annotations

import pytest
from pyinfra.api import Config, Inventory, State

from pinacle.connect import connect_hosts
from pinacle.errors import TargetError
from tests.ports import free_port


def closed_port() -> int:
    return free_port()  # closed again: connections to it are refused


def state_of(*hosts: str | tuple[str, dict[str, object]]) -> State:
    state = State(check_for_changes=False)
    state.init(Inventory((list(hosts), {})), Config(CONNECT_TIMEOUT=2))
    return state


def down_host(name: str) -> tuple[str, dict[str, object]]:
    return (name, {"ssh_hostname": "127.0.0.1", "ssh_port": closed_port(), "ssh_user": "root"})


def test_reachable_hosts_are_returned_connected() -> None:
    hosts, unreachable = connect_hosts(state_of("@local"), "@local")
    assert [(h.name, h.connected) for h in hosts] == [("@local", True)]
    assert unreachable == {}


def test_an_unreachable_host_among_several_is_named_with_its_reason() -> None:
    hosts, unreachable = connect_hosts(state_of("@local", down_host("down-host")), "fleet.py")
    assert [h.name for h in hosts] == ["@local"]
    assert list(unreachable) == ["down-host"]
    assert "127.0.0.1" in unreachable["down-host"]


def test_a_target_with_no_reachable_host_names_every_host() -> None:
    with pytest.raises(TargetError, match=r"any of the 2 host\(s\) of t\.py: down-a: .*; down-b: ") as raised:
        connect_hosts(state_of(down_host("down-a"), down_host("down-b")), "t.py")
    assert "No hosts remaining" not in str(raised.value)
