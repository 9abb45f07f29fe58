"""``pinacle doctor``: check each host of a target and say what to fix; nothing is changed.

The arithmetic (pool capacity, port range, snapshot visibility) is pure, in
:mod:`pinacle.doctor_checks`; this module reads the facts and words the checks.
"""

from __future__ import annotations

from typing import Any

from pinacle import executor
from pinacle.app.pods import health_statuses, pods_of
from pinacle.doctor_checks import level, pool_capacity, ports_in_range, snapshot_visibility
from pinacle.errors import HostError
from pinacle.hostspec import (
    DAEMON_JSON_PATH,
    PROBE_DIR,
    PROBE_IMAGE,
    HostSettings,
    parse_daemon_json,
    probe_failure_line,
    runtime_failure_hint,
)
from pinacle.pod.health import healthy
from pinacle.pod.observed import ContainerRecord
from pinacle.pod.settings import DeploySettings
from pinacle.readers.host import docker_image_id, docker_server, file_text, network_usage, runsc_version, runtime_probe


def _check(name: str, status: str, message: str, fix: str = "") -> dict[str, str]:
    return {"name": name, "status": status, "message": message, "fix": fix}


def doctor(
    session: executor.Session,
    image: str = "pinacle/base:latest",
    runtime: str = "runsc",
    settings: DeploySettings | None = None,
) -> list[dict[str, Any]]:
    """Check each host; ``[{"host": name, "checks": [{"name", "status", "message", "fix"}]}]``.

    ``status`` is ``ok``, ``warn`` or ``fail``. Nothing on the host is changed (the runtime probe
    starts and removes a throwaway container).
    """
    settings = settings or DeploySettings.from_env()
    report = []
    for host in session.hosts:
        checks = _doctor_host(session, host, image, runtime, settings)
        report.append({"host": host.name, "checks": checks})
    return report


def _doctor_host(
    session: executor.Session, host: Any, image: str, runtime: str, settings: DeploySettings
) -> list[dict[str, str]]:
    server = session.read(host, docker_server())
    if server is None:
        return [
            _check(
                "docker",
                "fail",
                "Docker is not running (or `docker info` is refused)",
                "start dockerd (`service docker start`, `rc-service docker start`, or the host "
                "deploy: pyinfra inventory/... deploys/vm.py)",
            )
        ]
    checks = [_check("docker", "ok", f"Docker {server['version']} is running")]

    try:
        daemon = parse_daemon_json(session.read(host, file_text(DAEMON_JSON_PATH)))
        daemon_error = None
    except HostError as exc:
        daemon, daemon_error = {}, exc
    checks.append(_runtime_check(session, host, runtime, list(server.get("runtimes") or []), daemon))
    if daemon_error is not None:
        checks.append(_check("daemon.json", "fail", str(daemon_error), "fix the JSON, then reload dockerd"))
    pools = daemon.get("default-address-pools")
    if visibility := snapshot_visibility(daemon, runtime):
        state, message = visibility
        fix = "" if state == "ok" else "keep host data runsc_rootfs_overlay false (the default), re-run the host deploy"
        checks.append(_check("snapshots", state, message, fix))
    capacity = pool_capacity(pools)
    usage = session.read(host, network_usage())
    used = usage.get("bridge", 0)
    state = level(used, capacity)
    checks.append(
        _check(
            "address-pools",
            state,
            f"{used} of {capacity} pool subnets used ({usage.get('pinacle', 0)} by pods)"
            + ("" if pools else "; daemon.json sets no default-address-pools"),
            ""
            if state == "ok"
            else "delete unused pods/networks (`docker network prune`) or give dockerd larger "
            "default-address-pools (host data docker_address_pools) and restart it",
        )
    )

    pods = executor.observe_pods(host)  # one read of the host for the port count and every pod check
    low, high = settings.port_range
    taken = ports_in_range(pods.taken_ports(), settings.port_range)
    size = high - low + 1
    state = level(taken, size, 0.9)
    checks.append(
        _check(
            "ports",
            state,
            f"{taken} of {size} host ports in {low}-{high} taken",
            "" if state == "ok" else "delete pods or widen PINACLE_PORT_RANGE",
        )
    )

    if session.read(host, docker_image_id(image)):
        checks.append(_check("base-image", "ok", f"image {image} is present"))
    else:
        checks.append(
            _check(
                "base-image",
                "fail",
                f"image {image} is not on this host",
                "build it: docker/build-base-image.sh (works offline)",
            )
        )

    found = pods_of(pods)
    statuses = health_statuses(host, found)
    for record in found:
        checks.append(_pod_check(record, statuses.get(record.slug)))
    return checks


def _runtime_check(
    session: executor.Session, host: Any, runtime: str, runtimes: list[str], daemon: dict[str, Any]
) -> dict[str, str]:
    """Is ``runtime`` registered, does it start a gVisor sandbox, does coreutils' ls work in it."""
    if runtime not in runtimes:
        return _check(
            "runtime",
            "fail",
            f"Docker has no runtime {runtime!r} (it has: {', '.join(runtimes)})",
            runtime_failure_hint("unknown or invalid runtime name", HostSettings()),
        )
    registered = daemon.get("runtimes")
    entry = registered.get(runtime) if isinstance(registered, dict) else None
    path = entry.get("path") if isinstance(entry, dict) else None
    version = session.read(host, runsc_version(path)) if isinstance(path, str) else None
    binary = f"runsc {version or 'version unknown'}" + (f", {path}" if isinstance(path, str) else "")
    if not session.read(host, docker_image_id(PROBE_IMAGE)):
        return _check(
            "runtime",
            "warn",
            f"runtime {runtime} ({binary}) is registered; not probed ({PROBE_IMAGE} is missing)",
            "run the host deploy to build the probe image",
        )
    probe = session.read(host, runtime_probe(runtime, PROBE_IMAGE, PROBE_DIR))
    if probe["ok"]:
        return _check("runtime", "ok", f"{runtime} ({binary}) starts gVisor sandboxes; coreutils' ls works in them")
    output = str(probe["output"])
    return _check(
        "runtime",
        "fail",
        f"{runtime} ({binary}) failed the probe container: {probe_failure_line(output)}",
        runtime_failure_hint(output, HostSettings()),
    )


def _pod_check(record: ContainerRecord, found: dict[str, int] | None) -> dict[str, str]:
    name = f"pod {record.slug}"
    if record.state == "stopped":
        return _check(name, "ok", "stopped (by `pinacle stop`)")
    if not record.running:
        return _check(
            name,
            "fail",
            f"container is {record.state} (restarts: {record.restart_count})",
            f"see `pinacle logs {record.slug}`; `pinacle start {record.slug}` or re-deploy it",
        )
    statuses = found or {}
    bad = {n: s for n, s in statuses.items() if not healthy(s)}
    if bad or not statuses:
        detail = ", ".join(f"{n} HTTP {s:03d}" for n, s in sorted(bad.items())) or "no routes"
        return _check(
            name,
            "fail",
            f"unhealthy services: {detail}",
            f"see `pinacle logs {record.slug} SERVICE`; re-run pinacle-deploy for the pod",
        )
    return _check(name, "ok", f"running, {len(statuses)} service(s) healthy")
