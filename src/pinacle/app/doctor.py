"""``pinacle doctor``: check each host of a target and say what to fix; nothing is changed.

The arithmetic (pool capacity, port range, snapshot visibility) is pure, in
:mod:`pinacle.doctor_checks`; this module reads the facts and words the checks.
"""

from __future__ import annotations

from typing import Any

from pinacle import executor
from pinacle.app.pods import health_statuses, pods_of
from pinacle.daemon_json import DAEMON_JSON_PATH, parse_daemon_json
from pinacle.doctor_checks import level, pool_capacity, ports_in_range, snapshot_visibility
from pinacle.edge.health import edge_health
from pinacle.errors import HostError
from pinacle.hostspec import HostSettings, probe_failure_line, runtime_failure_hint
from pinacle.pod.health import healthy
from pinacle.pod.names import EGRESS_SCRIPT, network_name, volume_name
from pinacle.pod.observed import ContainerRecord, HostPods
from pinacle.pod.settings import DeploySettings
from pinacle.readers import Read
from pinacle.readers.edge import edge_auth_running, edge_state, edge_table
from pinacle.readers.host import (
    PROBE_DIR,
    PROBE_IMAGE,
    docker_image_id,
    docker_server,
    egress_rules,
    file_text,
    network_usage,
    runsc_version,
    runtime_probe,
)
from pinacle.readers.pod import pod_states
from pinacle.readers.snapshot import snapshot_states
from pinacle.records import DoctorCheck, HostReport
from pinacle.snapshots import IN_PROGRESS, HostSnapshots


def _check(name: str, status: str, message: str, fix: str = "") -> DoctorCheck:
    return DoctorCheck(name, status, message, fix)


def doctor(
    session: executor.Session,
    image: str = "pinacle/base:latest",
    runtime: str = "runsc",
    settings: DeploySettings | None = None,
) -> list[HostReport]:
    """Check each host: one report of checks per host (``ok``, ``warn`` or ``fail`` each).

    ``status`` is ``ok``, ``warn`` or ``fail``. Nothing on the host is changed (the runtime probe
    starts and removes a throwaway container).
    """
    settings = settings or DeploySettings.from_env()
    report = []
    # On @local every read the checks make runs at once: the runtime probe alone (a sandbox
    # started, 0.7 s) took as long as all the others one after another.
    with executor.reading_ahead(session.target, *_host_reads(image, runtime)):
        for host in session.hosts:
            checks = _doctor_host(session, host, image, runtime, settings)
            report.append(HostReport(host.name, tuple(checks)))
    return report


def _host_reads(image: str, runtime: str) -> tuple[Read[Any], ...]:
    """The reads of :func:`_doctor_host` that depend on no other read's answer."""
    return (
        docker_server(),
        file_text(DAEMON_JSON_PATH),
        docker_image_id(PROBE_IMAGE),
        runtime_probe(runtime, PROBE_IMAGE, PROBE_DIR),
        network_usage(),
        egress_rules(EGRESS_SCRIPT),
        pod_states(),
        docker_image_id(image),
        edge_state(),
        edge_table(),
        edge_auth_running(),
        snapshot_states(),
    )


def _doctor_host(
    session: executor.Session, host: Any, image: str, runtime: str, settings: DeploySettings
) -> list[DoctorCheck]:
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
    if daemon_error is None:  # unreadable daemon.json: its pools are unknown, not absent
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

    checks.append(_egress_check(session.read(host, egress_rules(EGRESS_SCRIPT))))

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

    edge = session.read(host, edge_state())
    checks.append(
        _check(
            "edge", *edge_health(edge, session.read(host, edge_table()), session.read(host, edge_auth_running()), pods)
        )
    )

    found = pods_of(pods)
    statuses = health_statuses(host, found)
    for record in found:
        checks.append(_pod_check(record, statuses.get(record.slug), pods.problem(record)))
    checks += _snapshot_checks(session.read(host, snapshot_states()), pods)
    return checks


def _snapshot_checks(found: HostSnapshots, pods: HostPods) -> list[DoctorCheck]:
    """Warn about what interrupted snapshots and restores left, with the command that removes it."""
    checks = []
    for snap in found.snapshots:
        if not snap.leftovers or snap.state == IN_PROGRESS:
            continue
        what = "incomplete (an interrupted `pinacle snapshot`)" if not snap.complete else "complete, with leftovers"
        checks.append(
            _check(
                f"snapshot {snap.name}",
                "warn",
                f"{what}: {', '.join(snap.leftovers)}",
                f"`pinacle snapshot delete {snap.name}`"
                + (" or take it again" if not snap.complete else "")
                + ", or `pinacle snapshot prune` for every snapshot's leftovers",
            )
        )
    for slug, marker in sorted(found.restores.items()):
        built = slug in pods.containers or network_name(slug) in pods.networks or volume_name(slug) in pods.volumes
        if built:
            what = f"pod {slug} is an unfinished restore of snapshot {marker.snapshot}" + (
                "" if slug in pods.records else " (it has no host record)"
            )
        elif marker.host_port is not None:  # killed between removing the pod it replaces and building
            what = (
                f"an interrupted restore of snapshot {marker.snapshot} as pod {slug} keeps host port {marker.host_port}"
            )
        else:
            continue  # nothing built and no port kept: the next restore of that slug overwrites it
        checks.append(
            _check(
                f"restore {slug}",
                "warn",
                what,
                f"finish it: `pinacle restore {marker.snapshot} --as {slug}`; or `pinacle delete {slug} --purge`",
            )
        )
    return checks


def _egress_check(state: str) -> DoctorCheck:
    """Are the egress rules the last host deploy applied still in place (a reboot without a boot
    unit, or an iptables flush, removes them)?"""
    if state == "in-place":
        return _check("egress", "ok", "pods cannot reach the host, link-local addresses or other pods")
    fix = "re-run the host deploy (pyinfra inventory/... deploys/vm.py); it applies them"
    if state == "no-script":
        return _check("egress", "warn", f"{EGRESS_SCRIPT} is not installed: pods may reach the host's services", fix)
    return _check("egress", "fail", "the pod egress rules are not in place: pods can reach the host's services", fix)


def _runtime_check(
    session: executor.Session, host: Any, runtime: str, runtimes: list[str], daemon: dict[str, Any]
) -> DoctorCheck:
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


def _pod_check(record: ContainerRecord, found: dict[str, int] | None, problem: str = "") -> DoctorCheck:
    name = f"pod {record.slug}"
    if problem:
        return _check(name, "fail", problem, f"re-run pinacle-deploy for the pod, or `pinacle delete {record.slug}`")
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
