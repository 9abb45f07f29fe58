"""Docker's daemon.json: strict parsing, and which registered runtimes are gVisor."""

from __future__ import annotations

import pytest

from pinacle.daemon_json import gvisor_runtimes, parse_daemon_json
from pinacle.errors import HostError

# --- parse_daemon_json ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "  \n"])
def test_absent_or_empty_daemon_json_is_an_empty_config(text: str | None) -> None:
    assert parse_daemon_json(text) == {}


def test_daemon_json_object_is_parsed() -> None:
    assert parse_daemon_json('{"debug": true}\n') == {"debug": True}


def test_invalid_daemon_json_says_to_fix_or_remove_it() -> None:
    with pytest.raises(HostError, match=r"daemon.json is not valid JSON.*fix or remove it"):
        parse_daemon_json("{debug: true")


@pytest.mark.parametrize("text", ["[]", '"runsc"', "3"])
def test_daemon_json_that_is_not_an_object_is_refused(text: str) -> None:
    with pytest.raises(HostError, match="must hold a JSON object"):
        parse_daemon_json(text)


def test_gvisor_runtimes_are_the_names_whose_path_is_runsc() -> None:
    daemon = {
        "runtimes": {
            "runsc": {"path": "/usr/bin/runsc", "runtimeArgs": ["--network=host"]},
            "runsc-debug": {"path": "/opt/gvisor/runsc"},
            "runsc-impostor": {"path": "/usr/bin/runc"},
            "broken": "runsc",
        }
    }
    assert gvisor_runtimes(daemon) == frozenset({"runsc", "runsc-debug"})
    assert gvisor_runtimes({}) == gvisor_runtimes({"runtimes": []}) == frozenset()
