"""pinacle.operations.edge as data: the edge's config, process and pod table."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from pinacle.edge.commands import EdgeTableState
from pinacle.edge.config import render_edge_table
from pinacle.edge.settings import EDGE_PODS_CONF, EDGE_STATE, EdgeSettings
from pinacle.facts.edge import EdgeAuthRunning, EdgeRunning, EdgeState, EdgeTable
from pinacle.facts.host import DockerServer, FileSha512, FileText
from pinacle.facts.pod import PodStates
from pinacle.operations import edge as ops
from pinacle.pod.observed import HostPods

Case = dict[str, Any]
TABLE = "# a table\n"
TABLE_SHA = hashlib.sha512(TABLE.encode()).hexdigest()
RELOAD = "/usr/local/lib/pinacle/pinacle-edge-reload"


def sha(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def table_state(
    sha512: str | None = TABLE_SHA,
    certs: frozenset[str] = frozenset(),
    secrets: frozenset[str] = frozenset(),
    running: bool = True,
) -> EdgeTableState:
    return EdgeTableState(sha512, certs, secrets, running)


CASES: list[Case] = [
    {
        "id": "an_unchanged_table_is_a_noop",
        "op": ops.edge_table,
        "args": {"table": TABLE},
        "facts": {EdgeTable: table_state()},
        "noop": "pod table is up to date",
    },
    {
        "id": "a_changed_table_is_written_tested_and_reloaded",
        "op": ops.edge_table,
        "args": {"table": "# another\n"},
        "facts": {EdgeTable: table_state()},
        "contains": [[EDGE_PODS_CONF, "nginx -t -q -c /etc/pinacle/edge/nginx.conf", "pods.conf.prev"], [RELOAD]],
    },
    {
        "id": "a_stopped_edge_is_not_reloaded",
        "op": ops.edge_table,
        "args": {"table": "# another\n"},
        "facts": {EdgeTable: table_state(running=False)},
        "contains": [[EDGE_PODS_CONF]],
    },
    {
        "id": "a_new_pod_gets_its_certificate_before_the_table",
        "op": ops.edge_table,
        "args": {"table": "# another\n", "certificates": ["pod-a.localhost", "pod-b.localhost"]},
        "facts": {EdgeTable: table_state(certs=frozenset({"pod-a.localhost"}))},
        "contains": [["pinacle-edge-tls issue pod-b.localhost"], [EDGE_PODS_CONF], [RELOAD]],
    },
    {
        "id": "a_new_pod_gets_its_secret_without_a_reload",
        "op": ops.edge_table,
        "args": {"table": TABLE, "secrets": ["a", "b"]},
        "facts": {EdgeTable: table_state(secrets=frozenset({"a"}))},
        "commands": ["/usr/local/lib/pinacle/pinacle-edge-auth ensure b"],
    },
    {
        "id": "no_edge_on_the_host_leaves_it_alone",
        "op": ops.edge_table_refreshed,
        "facts": {EdgeState: None},
        "noop": "no edge",
    },
    {
        "id": "an_edge_turned_off_leaves_it_alone",
        "op": ops.edge_table_refreshed,
        "facts": {EdgeState: EdgeSettings(enabled=False)},
        "noop": "no edge",
    },
    {
        "id": "the_refresh_renders_what_the_host_holds",
        "op": ops.edge_table_refreshed,
        "facts": {
            EdgeState: EdgeSettings(),
            DockerServer: {"version": "26"},
            PodStates: HostPods(),
            EdgeTable: table_state(sha(render_edge_table([], EdgeSettings()))),
        },
        "noop": "pod table is up to date",
    },
    {
        "id": "a_config_change_is_written_root_only_and_reloads_a_running_edge",
        "op": ops.edge_config,
        "args": {"files": {EDGE_STATE: "{}\n"}},
        "facts": {
            (FileSha512, ("path", EDGE_STATE)): "old",
            (FileSha512, ("path", EDGE_PODS_CONF)): "t",
            EdgeRunning: True,
        },
        "contains": [[EDGE_STATE, "chmod 0600", "mkdir -p -m 0700 /etc/pinacle/edge"], ["nginx -t", RELOAD]],
    },
    {
        "id": "an_unchanged_config_is_a_noop",
        "op": ops.edge_config,
        "args": {"files": {EDGE_STATE: "{}\n"}},
        "facts": {(FileSha512, ("path", EDGE_STATE)): sha("{}\n"), (FileSha512, ("path", EDGE_PODS_CONF)): "t"},
        "noop": "config is up to date",
    },
    {
        "id": "a_first_config_gets_an_empty_table",
        "op": ops.edge_config,
        "args": {"files": {EDGE_STATE: "{}\n"}},
        "facts": {
            (FileSha512, ("path", EDGE_STATE)): None,
            (FileSha512, ("path", EDGE_PODS_CONF)): None,
            EdgeRunning: False,
        },
        "contains": [[EDGE_STATE, EDGE_PODS_CONF]],
    },
    {
        "id": "a_running_edge_is_not_started_again",
        "op": ops.edge_started,
        "facts": {EdgeRunning: True},
        "noop": "is running",
    },
    {
        "id": "a_stopped_edge_is_started_detached_after_a_config_test",
        "op": ops.edge_started,
        "facts": {EdgeRunning: False},
        "contains": [["nginx -t -q", "setsid nginx -c /etc/pinacle/edge/nginx.conf", "/var/log/pinacle/edge.log"]],
    },
]

ARGV = ("/usr/local/lib/pinacle/pinacle-edge-auth", "serve")


def fingerprint(script: str = "s") -> str:
    return hashlib.sha512(f"{script} {' '.join(ARGV)}".encode()).hexdigest() + "\n"


CASES += [
    {
        "id": "a_daemon_started_from_this_script_is_a_noop",
        "op": ops.edge_auth_started,
        "args": {"argv": ARGV, "script_sha512": "s", "nginx_group": "www-data"},
        "facts": {EdgeAuthRunning: True, FileText: fingerprint()},
        "noop": "credential daemon is running",
    },
    {
        "id": "a_daemon_of_another_script_is_restarted",
        "op": ops.edge_auth_started,
        "args": {"argv": ARGV, "script_sha512": "s", "nginx_group": "www-data"},
        "facts": {EdgeAuthRunning: True, FileText: fingerprint("old")},
        "contains": [["kill"], ["setsid", "chown root:www-data /run/pinacle-edge", "chmod 0750"]],
    },
    {
        "id": "no_daemon_is_started",
        "op": ops.edge_auth_started,
        "args": {"argv": ARGV, "script_sha512": "s", "nginx_group": "nginx"},
        "facts": {EdgeAuthRunning: False, FileText: None},
        "contains": [["setsid", "chown root:nginx /run/pinacle-edge", "[ -S /run/pinacle-edge/auth.sock ]"]],
    },
]

CASES += [
    {
        "id": "turning_the_edge_off_stops_nginx_gracefully",
        "op": ops.edge_stopped,
        "facts": {EdgeRunning: True},
        "commands": ["nginx -s quit -c /etc/pinacle/edge/nginx.conf"],
    },
    {
        "id": "turning_the_edge_off_stops_the_daemon",
        "op": ops.edge_auth_stopped,
        "facts": {EdgeAuthRunning: True},
        "contains": [["kill", "/run/pinacle/edge-auth.pid"]],
    },
    {
        "id": "a_stopped_daemon_stays_stopped",
        "op": ops.edge_auth_stopped,
        "facts": {EdgeAuthRunning: False},
        "noop": "not running",
    },
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_edge_operation(case: Case, check_operation_case: Any) -> None:
    check_operation_case(case)


def test_a_table_longer_than_one_argument_is_written_from_a_staged_script(run_operation: Any) -> None:
    table = "# many pods of many ports\n" + "server { listen 80; }\n" * 10_000
    result = run_operation(ops.edge_table, {EdgeTable: table_state()}, table=table)
    staged, reload = result.commands
    assert reload == RELOAD
    assert staged.startswith("umask 077 && mkdir -p -m 0700 /var/lib/pinacle/staging && ")
    assert "sh /var/lib/pinacle/staging/" in staged
