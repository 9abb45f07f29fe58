"""Operations tested as data, the way pyinfra tests its own: given facts and arguments, commands.

A case is a dict:

* ``op``: the operation (decorated; its undecorated generator ``op._inner`` is what runs)
* ``args``: keyword arguments for the operation
* ``facts``: fact class -> value; or ``(fact class, (name, value), ...)`` -> value when the
  answer depends on the fact's arguments (that key answers calls whose arguments include those)
* ``commands``: the exact commands expected, in order; or
* ``contains``: one list of substrings per expected command (the count must match too)
* ``noop``: a substring of the expected ``host.noop`` message, when nothing should change
* ``raises``: ``(exception class, regex)`` when the operation must refuse
* ``executing``: ``state.is_executing`` (default True)

A fact the case does not list fails the test, so every case names everything the operation reads.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from pyinfra.context import ctx_host, ctx_state


@dataclass
class FakeState:
    is_executing: bool = True


@dataclass
class FakeHost:
    """Just what operations touch on a pyinfra Host: facts, no-ops, data and state."""

    facts: Mapping[Any, Any]
    data: dict[str, Any] = field(default_factory=dict)
    state: FakeState = field(default_factory=FakeState)
    noops: list[str] = field(default_factory=list)
    fact_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def get_fact(self, fact: type, *args: Any, **kwargs: Any) -> Any:
        assert not args, f"{fact.__name__} asked with positional arguments {args}"
        self.fact_calls.append((fact.__name__, kwargs))
        for key, value in self.facts.items():
            if key is fact:
                return value
            keyed = isinstance(key, tuple) and key[0] is fact
            if keyed and all(kwargs.get(name) == wanted for name, wanted in key[1:]):
                return value
        raise AssertionError(f"case gives no fact {fact.__name__} for {kwargs}")

    def noop(self, description: str) -> None:
        self.noops.append(description)


@dataclass
class OpResult:
    commands: list[str]
    noops: list[str]
    fact_calls: list[tuple[str, dict[str, Any]]]


def command_text(command: object) -> str:
    """A yielded command as the shell would get it (pyinfra command objects unmasked)."""
    if isinstance(command, str):
        return command
    raw = getattr(command, "get_raw_value", None)
    return raw() if callable(raw) else str(command)


def run_op(op: Any, facts: Mapping[Any, Any], executing: bool = True, **kwargs: Any) -> OpResult:
    """Run ``op``'s generator against a fake host and collect what it yields."""
    fake = FakeHost(copy.deepcopy(dict(facts)), state=FakeState(is_executing=executing))
    with ctx_host.use(fake), ctx_state.use(fake.state):
        commands = [command_text(c) for c in op._inner(**kwargs)]
    return OpResult(commands, fake.noops, fake.fact_calls)


def check_case(case: Mapping[str, Any]) -> OpResult | None:
    """Run one case and assert what it expects; returns the result for further asserts."""
    run = case["op"], case.get("facts", {}), case.get("executing", True)
    if "raises" in case:
        error, pattern = case["raises"]
        with pytest.raises(error, match=pattern):
            run_op(*run, **case.get("args", {}))
        return None
    result = run_op(*run, **case.get("args", {}))
    if "commands" in case:
        assert result.commands == case["commands"]
    if "contains" in case:
        assert len(result.commands) == len(case["contains"]), result.commands
        for command, parts in zip(result.commands, case["contains"], strict=True):
            missing = [p for p in parts if p not in command]
            assert not missing, f"{missing} not in {command!r}"
    if "absent" in case:
        for part in case["absent"]:
            assert all(part not in c for c in result.commands), f"{part!r} should not appear"
    if case.get("noop"):
        assert any(case["noop"] in n for n in result.noops), result.noops
        if "commands" not in case and "contains" not in case:
            assert result.commands == []
    return result


@pytest.fixture
def run_operation() -> Callable[..., OpResult]:
    return run_op


@pytest.fixture
def check_operation_case() -> Callable[[Mapping[str, Any]], OpResult | None]:
    return check_case
