"""Where and how pods are published on a target: the same for every pod on it.

The environment is input like a pod file, and it is checked as strictly: every value must match
its whole grammar (ASCII only, no trailing newline), and an error names the variable it came
from and describes a bad value without repeating long or unprintable ones.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pinacle.errors import SpecError
from pinacle.router import valid_domain

DOMAIN_MAX_LENGTH = 190
"""``localhost-65535.pod-{42-character slug}.`` takes 63 of a host name's 253 characters."""

_PORT_RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})\Z", re.ASCII)
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}\Z", re.ASCII)
_SHOWN_MAX = 40

DOMAIN_VAR = "PINACLE_DOMAIN"
PORT_RANGE_VAR = "PINACLE_PORT_RANGE"
PUBLISH_ADDRESS_VAR = "PINACLE_PUBLISH_ADDRESS"


def _shown(value: str) -> str:
    """``value`` quoted if short and printable ASCII, else described by its length."""
    if len(value) <= _SHOWN_MAX and value.isascii() and value.isprintable():
        return repr(value)
    return f"a value of {len(value)} characters" + (" with a line break" if "\n" in value or "\r" in value else "")


def _valid_ipv4(address: str) -> bool:
    if not _IPV4.fullmatch(address):
        return False
    try:
        ipaddress.IPv4Address(address)
    except ValueError:
        return False
    return True


def _port_range_problem(port_range: tuple[int, int]) -> str | None:
    low, high = port_range
    if not 1024 <= low <= high <= 65535:
        return f"port range {low}-{high} must lie within 1024-65535, low to high"
    return None


def _domain_problem(domain: str) -> str | None:
    if len(domain) > DOMAIN_MAX_LENGTH or not valid_domain(domain):
        return (
            f"domain {_shown(domain)} is not a valid host name suffix: lowercase letters, digits, "
            f"'-' and '.', at most {DOMAIN_MAX_LENGTH} characters (e.g. pinacle.dev)"
        )
    return None


def _publish_address_problem(address: str) -> str | None:
    if not _valid_ipv4(address):
        return f"publish address {_shown(address)} must be an IPv4 address like 127.0.0.1"
    return None


@dataclass(frozen=True)
class DeploySettings:
    """Where and how pods are published; the same for every pod on a target."""

    domain: str = "localhost"
    port_range: tuple[int, int] = (30000, 40000)
    publish_address: str = "127.0.0.1"

    def __post_init__(self) -> None:
        for problem in (
            _port_range_problem(self.port_range),
            _domain_problem(self.domain),
            _publish_address_problem(self.publish_address),
        ):
            if problem:
                raise SpecError(problem)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DeploySettings:
        """``PINACLE_DOMAIN``, ``PINACLE_PORT_RANGE`` (``30000-40000``), ``PINACLE_PUBLISH_ADDRESS``.

        An unset variable (or an empty ``PINACLE_PORT_RANGE``) takes the default; a SpecError
        names the variable that is bad.
        """
        port_range = cls.port_range
        if raw := environ.get(PORT_RANGE_VAR):
            match = _PORT_RANGE.fullmatch(raw)
            if not match:
                raise SpecError(f"{PORT_RANGE_VAR} must look like 30000-40000, got {_shown(raw)}")
            port_range = (int(match[1]), int(match[2]))
        domain = environ.get(DOMAIN_VAR, cls.domain)
        address = environ.get(PUBLISH_ADDRESS_VAR, cls.publish_address)
        for variable, problem in (
            (PORT_RANGE_VAR, _port_range_problem(port_range)),
            (DOMAIN_VAR, _domain_problem(domain)),
            (PUBLISH_ADDRESS_VAR, _publish_address_problem(address)),
        ):
            if problem:
                raise SpecError(f"{variable}: {problem}")
        return cls(domain=domain, port_range=port_range, publish_address=address)
