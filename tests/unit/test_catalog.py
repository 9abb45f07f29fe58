"""The service catalog is data: these tests pin its contents and keep its commands sane."""

from __future__ import annotations

import dataclasses
import re
import subprocess

import pytest

from pinacle.catalog import (
    CATALOG,
    IMAGE_SERVICES_LABEL,
    get_service,
    missing_from_image,
    parse_image_services,
)
from pinacle.errors import SpecError

ALL = sorted(CATALOG)


def test_catalog_lists_the_four_services_on_their_ports() -> None:
    assert {name: service.port for name, service in CATALOG.items()} == {
        "web-terminal": 7681,
        "code-server": 8726,
        "vibe-kanban": 5262,
        "claude-code": 2528,
    }


def test_each_entry_is_keyed_by_its_own_name() -> None:
    assert all(service.name == name for name, service in CATALOG.items())


@pytest.mark.parametrize("name", ALL)
def test_every_start_command_is_valid_shell(name: str) -> None:
    result = subprocess.run(["sh", "-n", "-c", CATALOG[name].start], capture_output=True, text=True)
    assert result.returncode == 0, f"{name}: {result.stderr}"


@pytest.mark.parametrize("name", ALL)
def test_every_service_starts_on_its_own_port(name: str) -> None:
    service = CATALOG[name]
    assert re.search(rf"(^|[ :=]){service.port}( |$)", service.start), service.start


@pytest.mark.parametrize("name", ALL)
def test_every_service_listens_on_loopback_only(name: str) -> None:
    # The pod's router is the only way in; a service on 0.0.0.0 would bypass its host-name
    # and Origin checks for anything on the pod's network.
    assert "127.0.0.1" in CATALOG[name].start


@pytest.mark.parametrize("name", ALL)
def test_every_health_path_is_absolute(name: str) -> None:
    assert CATALOG[name].health_path.startswith("/")


def test_no_service_claims_the_router_port_or_another_services_port() -> None:
    ports = [service.port for service in CATALOG.values()]
    assert 80 not in ports
    assert len(set(ports)) == len(ports)


def test_terminals_are_writable_ttyd_sessions() -> None:
    for name, command in (("web-terminal", "bash -l"), ("claude-code", 'tmux new -As claude "claude; exec bash -l"')):
        argv = get_service(name).start
        assert argv.startswith("ttyd ") and "--writable" in argv, name
        assert argv.endswith(command), name


def test_code_server_trusts_no_extra_origins_and_needs_no_login_of_its_own() -> None:
    start = get_service("code-server").start
    assert "--trusted-origins" not in start
    assert "--auth none" in start and start.endswith(" /workspace")


def test_every_service_names_an_image_that_carries_it() -> None:
    assert {name: service.image for name, service in CATALOG.items()} == {
        "web-terminal": "pinacle/base:latest",
        "code-server": "pinacle/workstation:latest",
        "vibe-kanban": "pinacle/workstation:latest",
        "claude-code": "pinacle/workstation:latest",
    }


def test_unknown_service_error_lists_the_known_ones() -> None:
    with pytest.raises(SpecError, match="unknown service 'jupyter'; known: web-terminal, "):
        get_service("jupyter")


def test_entries_cannot_be_modified() -> None:
    service = get_service("web-terminal")
    with pytest.raises(dataclasses.FrozenInstanceError):
        service.port = 1  # type: ignore[misc]


def test_catalog_itself_cannot_be_modified() -> None:
    with pytest.raises(TypeError):
        CATALOG["evil"] = get_service("web-terminal")  # type: ignore[index]


# --- which image carries which service ------------------------------------------------------------


def test_image_services_are_read_from_the_image_label() -> None:
    labels = {IMAGE_SERVICES_LABEL: "web-terminal, code-server,", "other": "x"}
    assert parse_image_services(labels) == frozenset({"web-terminal", "code-server"})


def test_an_image_without_the_label_is_not_a_pinacle_image() -> None:
    assert parse_image_services({"org.opencontainers.image.title": "debian"}) is None
    assert parse_image_services(None) is None


def test_an_image_with_every_listed_service_has_nothing_missing() -> None:
    assert missing_from_image(["web-terminal"], "pinacle/base:latest", frozenset({"web-terminal"})) == ""


def test_a_missing_service_names_the_image_to_use() -> None:
    message = missing_from_image(
        ["web-terminal", "code-server", "vibe-kanban"], "pinacle/base:latest", frozenset({"web-terminal"})
    )
    assert message == (
        "image pinacle/base:latest does not carry service(s) code-server, vibe-kanban (it has: web-terminal); "
        "use image: pinacle/workstation:latest"
    )


def test_a_foreign_image_is_refused_with_how_to_build_a_pod_image() -> None:
    message = missing_from_image(["web-terminal"], "debian:bookworm", None)
    assert "debian:bookworm is not a pinacle pod image" in message
    assert "docker/build-image.sh base (or workstation)" in message
