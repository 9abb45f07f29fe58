"""The service catalog is data: these tests pin its contents and keep its commands sane."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from pinacle.catalog import CATALOG, PACKAGE_MANAGERS, get_service
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
def test_every_service_installs_with_apk_and_apt(name: str) -> None:
    service = CATALOG[name]
    assert set(service.install) == set(PACKAGE_MANAGERS)
    assert all(service.install_for(manager) for manager in PACKAGE_MANAGERS)


@pytest.mark.parametrize("name", ALL)
def test_every_command_is_valid_shell(name: str) -> None:
    service = CATALOG[name]
    for command in (*service.install.values(), service.installed_check, service.start):
        result = subprocess.run(["sh", "-n", "-c", command], capture_output=True, text=True)
        assert result.returncode == 0, f"{name}: {command!r}: {result.stderr}"


@pytest.mark.parametrize("name", ALL)
def test_every_service_starts_on_its_own_port(name: str) -> None:
    service = CATALOG[name]
    assert str(service.port) in service.start


@pytest.mark.parametrize("name", ALL)
def test_every_health_path_is_absolute(name: str) -> None:
    assert CATALOG[name].health_path.startswith("/")


def test_no_service_claims_the_router_port_or_another_services_port() -> None:
    ports = [service.port for service in CATALOG.values()]
    assert 80 not in ports
    assert len(set(ports)) == len(ports)


def test_web_terminal_prefers_pinacle_webterm_and_falls_back_to_ttyd() -> None:
    service = get_service("web-terminal")
    assert "exec pinacle-webterm --port 7681" in service.start
    assert "exec ttyd -p 7681 -W bash" in service.start
    assert service.install["apk"] == "apk add --no-cache ttyd"
    assert "pinacle-webterm" in service.installed_check
    assert "ttyd" in service.installed_check


def test_claude_code_is_a_web_terminal_running_claude() -> None:
    service = get_service("claude-code")
    assert "pinacle-webterm --port 2528 --command claude" in service.start
    assert "ttyd -p 2528 -W claude" in service.start
    assert "npm install -g @anthropic-ai/claude-code" in service.install["apt"]


def test_code_server_binds_loopback_without_auth_on_the_workspace() -> None:
    service = get_service("code-server")
    assert service.start == "code-server --bind-addr 127.0.0.1:8726 --auth none /workspace"


def test_vibe_kanban_gets_its_port_and_host_from_the_environment() -> None:
    assert get_service("vibe-kanban").start == "env PORT=5262 HOST=127.0.0.1 vibe-kanban"


def test_only_the_web_terminal_is_known_to_run_here() -> None:
    assert [name for name in ALL if CATALOG[name].runs_here] == ["web-terminal"]


@pytest.mark.parametrize("name", ALL)
def test_services_that_do_not_run_here_say_why(name: str) -> None:
    service = CATALOG[name]
    assert service.runs_here or service.limitation


def test_unknown_service_error_lists_the_known_ones() -> None:
    with pytest.raises(SpecError, match="unknown service 'jupyter'; known: web-terminal, "):
        get_service("jupyter")


def test_unknown_package_manager_error_lists_the_known_ones() -> None:
    with pytest.raises(SpecError, match="no install recipe for package manager 'dnf'; known: apk"):
        get_service("code-server").install_for("dnf")


def test_entries_cannot_be_modified() -> None:
    service = get_service("web-terminal")
    with pytest.raises(dataclasses.FrozenInstanceError):
        service.port = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        service.install["apk"] = "rm -rf /"  # type: ignore[index]


def test_catalog_itself_cannot_be_modified() -> None:
    with pytest.raises(TypeError):
        CATALOG["evil"] = get_service("web-terminal")  # type: ignore[index]


def test_entries_are_hashable_despite_their_install_table() -> None:
    assert len({get_service("web-terminal"), get_service("web-terminal")}) == 1
