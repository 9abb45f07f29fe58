"""Where and how pods are published on a target: the same for every pod on it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from pinacle.errors import SpecError
from pinacle.router import valid_domain


@dataclass(frozen=True)
class DeploySettings:
    """Where and how pods are published; the same for every pod on a target."""

    domain: str = "localhost"
    port_range: tuple[int, int] = (30000, 40000)
    publish_address: str = "127.0.0.1"

    def __post_init__(self) -> None:
        low, high = self.port_range
        if not 1024 <= low <= high <= 65535:
            raise SpecError(f"port range {low}-{high} must lie within 1024-65535, low to high")
        if not valid_domain(self.domain):
            raise SpecError(f"domain {self.domain!r} is not a valid host name suffix")
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", self.publish_address):
            raise SpecError(f"publish address {self.publish_address!r} must be an IPv4 address")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DeploySettings:
        """``PINACLE_DOMAIN``, ``PINACLE_PORT_RANGE`` (``30000-40000``), ``PINACLE_PUBLISH_ADDRESS``."""
        port_range = cls.port_range
        if raw := environ.get("PINACLE_PORT_RANGE"):
            match = re.fullmatch(r"(\d+)-(\d+)", raw)
            if not match:
                raise SpecError(f"PINACLE_PORT_RANGE must look like 30000-40000, got {raw!r}")
            port_range = (int(match[1]), int(match[2]))
        return cls(
            domain=environ.get("PINACLE_DOMAIN", cls.domain),
            port_range=port_range,
            publish_address=environ.get("PINACLE_PUBLISH_ADDRESS", cls.publish_address),
        )
