"""pinacle: provision gVisor pod hosts and roll out sandboxed development pods with pyinfra."""

from __future__ import annotations

__version__ = "0.1.0"
