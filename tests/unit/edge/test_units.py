"""The edge's boot units: what systemd and OpenRC are told to run."""

from __future__ import annotations

import pytest

from pinacle.edge.units import edge_auth_argv, edge_auth_boot_unit, edge_boot_unit


def test_without_an_init_there_is_no_unit() -> None:
    assert edge_boot_unit("none") is None
    assert edge_auth_boot_unit("none", "www-data") is None


def test_systemd_runs_pinacles_own_nginx_instance() -> None:
    path, text = edge_boot_unit("systemd")  # type: ignore[misc]
    assert path == "/etc/systemd/system/pinacle-edge.service"
    assert "ExecStart=/usr/sbin/nginx -c /etc/pinacle/edge/nginx.conf" in text
    assert "ExecStartPre=/usr/sbin/nginx -t -q -c /etc/pinacle/edge/nginx.conf" in text
    assert "ExecReload=/usr/sbin/nginx -s reload -c /etc/pinacle/edge/nginx.conf" in text
    assert "PIDFile=/run/pinacle/edge.pid" in text


def test_openrc_runs_pinacles_own_nginx_instance() -> None:
    path, text = edge_boot_unit("openrc")  # type: ignore[misc]
    assert path == "/etc/init.d/pinacle-edge"
    assert text.startswith("#!/sbin/openrc-run\n")
    assert 'command_args="-c /etc/pinacle/edge/nginx.conf"' in text


@pytest.mark.parametrize("init", ["systemd", "openrc"])
def test_the_daemon_unit_gives_nginxs_group_its_socket(init: str) -> None:
    _path, text = edge_auth_boot_unit(init, "nginx")  # type: ignore[misc]
    assert "--socket /run/pinacle-edge/auth.sock" in text
    assert "--socket-group nginx" in text
    assert "root:nginx" in text


def test_the_daemon_socket_is_for_nginxs_group_only() -> None:
    argv = edge_auth_argv("www-data")
    assert argv[argv.index("--socket-mode") + 1] == "0660"
    assert argv[argv.index("--socket-group") + 1] == "www-data"
