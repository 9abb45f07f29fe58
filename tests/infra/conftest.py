"""testinfra checks: run against any host, e.g. ``pytest tests/infra --hosts=ssh://pod-host-1``.

The runtime name and probe image can be changed with PINACLE_RUNTIME / PINACLE_PROBE_IMAGE.
"""

from __future__ import annotations

import os

import pytest

from pinacle.readers.host import PROBE_IMAGE


@pytest.fixture(scope="session")
def runtime_name() -> str:
    return os.environ.get("PINACLE_RUNTIME", "runsc")


@pytest.fixture(scope="session")
def probe_image() -> str:
    return os.environ.get("PINACLE_PROBE_IMAGE", PROBE_IMAGE)
