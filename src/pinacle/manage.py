"""Library behind the ``pinacle`` day-2 commands; each function works on a connected Session.

Reads go through facts (``pinacle.facts.lifecycle``), changes through ``@deploy`` functions
(``pinacle.deploys.lifecycle``); the CLI only formats what these return.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pinacle import executor
from pinacle.app.rollout import CLAIM_ATTEMPTS
from pinacle.deploys import lifecycle as deploys
from pinacle.doctor_checks import level, pool_capacity, ports_in_range, snapshot_visibility
from pinacle.errors import (
    ConflictError,
    HostError,
    PodNotFound,
    PortClaimLost,
    SnapshotNotFound,
    TargetError,
)
from pinacle.facts.host import DockerImageId, DockerServer, FileText, RunscVersion, RuntimeProbe
from pinacle.facts.lifecycle import (
    ImageEnv,
    NetworkUsage,
    PathExists,
    ProgramCommands,
    Snapshots,
)
from pinacle.facts.pod import PodObjects
from pinacle.hostspec import (
    DAEMON_JSON_PATH,
    PROBE_IMAGE,
    HostSettings,
    parse_daemon_json,
    probe_failure_line,
    runtime_failure_hint,
)
from pinacle.pod.desired import PodPlan, plan_pod
from pinacle.pod.diff import PodDiff, diff_pod
from pinacle.pod.health import healthy
from pinacle.pod.observed import ContainerRecord, ObservedPod
from pinacle.pod.report import plan_from_container, pod_record, spec_from_data, with_record
from pinacle.pod.settings import DeploySettings
from pinacle.snapshots import (
    LABEL_SNAPSHOT_SPEC,
    SnapshotRecord,
    check_snapshot_name,
    default_snapshot_name,
    snapshot_archive,
    snapshot_spec_data,
)

Step = Callable[[str], None]


def _quiet(_message: str) -> None:
    return None


def _require_pod(session: executor.Session, slug: str, doing: str = "see `pinacle list`") -> None:
    if not pods(session, slug):
        raise PodNotFound(f"no pod {slug} on {session.target}; {doing}")


def _require_docker(session: executor.Session) -> None:
    for host in session.hosts:
        if not executor.docker_is_up(host):
            raise HostError(f"{host.name}: Docker is not running; see `pinacle doctor`")


def pods(session: executor.Session, slug: str | None = None) -> list[tuple[Any, ContainerRecord]]:
    """(host, container) for every pod on the target, or for pod ``slug``; one read per host."""
    _require_docker(session)
    return [(host, record) for host in session.hosts for record in _host_pods(host, slug)]


def _host_pods(host: Any, slug: str | None = None) -> list[ContainerRecord]:
    """The pod containers on one host, each with what its host record says (routes, pod file)."""
    state = executor.observe_pods(host)
    return [
        with_record(container, state.records.get(name))
        for name, container in sorted(state.containers.items())
        if slug is None or name == slug
    ]


def _statuses(host: Any, records: list[ContainerRecord]) -> dict[str, dict[str, int] | None]:
    """slug -> route name -> HTTP status, for every running pod of ``records``: one parallel request."""
    urls: dict[tuple[str, str], str] = {}
    for record in records:
        if record.running and record.host_port is not None:
            for name, url in executor.health_urls(plan_from_container(record), record.host_port).items():
                urls[(record.slug, name)] = url
    answered = executor.route_statuses(host, {f"{s}\0{n}": url for (s, n), url in urls.items()}) if urls else {}
    statuses: dict[str, dict[str, int] | None] = {r.slug: None for r in records}
    for key, status in answered.items():
        pod, _, name = key.partition("\0")
        found = statuses.get(pod) or {}
        found[name] = status
        statuses[pod] = found
    return statuses


def _records(session: executor.Session, slug: str | None = None, health: bool = True) -> list[dict[str, Any]]:
    results = []
    for host in session.hosts:
        found = _host_pods(host, slug)
        statuses = _statuses(host, found) if health else {}
        results += [pod_record(r, host.name, statuses.get(r.slug)) for r in found]
    return results


def list_pods(session: executor.Session, health: bool = True) -> list[dict[str, Any]]:
    """Every pod, in the shape of :func:`pinacle.pod.report.pod_record`."""
    _require_docker(session)
    return _records(session, health=health)


def pod_status(session: executor.Session, slug: str) -> list[dict[str, Any]]:
    """One pod (one record per host holding it); PodNotFound when no host does."""
    _require_pod(session, slug)
    return _records(session, slug)


def stop(session: executor.Session, slug: str) -> int:
    _require_pod(session, slug)
    return session.apply(deploys.stop_pod, slug=slug).change_count


def start(session: executor.Session, slug: str, timeout: float = 180.0, step: Step = _quiet) -> list[dict[str, Any]]:
    """Start a stopped pod on its port and wait until its services answer; its records."""
    _require_pod(session, slug)
    session.apply(deploys.start_pod, slug=slug)
    records = []
    for host, record in pods(session, slug):
        if record.host_port is None:
            raise HostError(f"{host.name}: pod {slug} holds no host port")
        step(f"waiting for services of {slug} on {host.name}")
        plan = plan_from_container(record)
        statuses = executor.wait_until_healthy(host, plan, record.host_port, timeout, step)
        records.append(pod_record(record, host.name, statuses))
    return records


def delete(session: executor.Session, slug: str, purge: bool = False) -> bool:
    """Remove the pod's container and network (and volume with ``purge``); False if none existed."""
    _require_docker(session)
    existed = False
    for host in session.hosts:
        objects = session.fact(host, PodObjects, slug=slug)
        existed = existed or bool(objects["container"] or objects["network"])
        existed = existed or bool(purge and objects["volume"])
    if not existed:
        return False
    session.apply(deploys.delete_pod, slug=slug, purge=purge)
    return True


# --- snapshots ----------------------------------------------------------------------------------


def snapshots(session: executor.Session) -> list[tuple[Any, SnapshotRecord]]:
    _require_docker(session)
    return [(h, s) for h in session.hosts for s in session.fact(h, Snapshots)]


def find_snapshot(session: executor.Session, name: str) -> list[tuple[Any, SnapshotRecord]]:
    wanted = name.split(":")[-1].split("/")[-1] if "/" in name else name
    return [(h, s) for h, s in snapshots(session) if wanted in (s.name, s.image)]


def snapshot(session: executor.Session, slug: str, name: str | None = None) -> list[dict[str, Any]]:
    """Snapshot pod ``slug`` as ``name`` (default ``<slug>-<UTC time>``); the new records."""
    name = check_snapshot_name(name or default_snapshot_name(slug))
    _require_pod(session, slug, "nothing to snapshot")
    found = pods(session, slug)
    if find_snapshot(session, name):
        raise ConflictError(f"snapshot {name} already exists; pick another name or delete it")
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if len(found) > 1:
        raise TargetError(f"pod {slug} is on several hosts; snapshot it with -i HOST")
    for host, record in found:
        commands: dict[str, str] = {}
        image_env: list[str] = []
        if record.spec_data is None:  # pod.json unreadable: rebuild the pod file from what Docker shows
            commands = session.fact(host, ProgramCommands, container=record.name) if record.running else {}
            image_env = session.fact(host, ImageEnv, image=record.image)
        data = snapshot_spec_data(record, commands, image_env)
        labels = {**record.labels, LABEL_SNAPSHOT_SPEC: json.dumps(data, sort_keys=True)}
        session.apply(
            deploys.snapshot_pod,
            slug=slug,
            snapshot=name,
            runtime=record.runtime or "runsc",
            labels=labels,
            created=created,
        )
    return [s.to_json() | {"host": h.name} for h, s in find_snapshot(session, name)]


def _restore_once(session: executor.Session, plan: PodPlan, archive: str, replace: bool) -> None:
    diffs: dict[str, tuple[PodDiff, str | None]] = {}
    for host in session.hosts:
        state = executor.observe_pods(host, (plan.container.image,))
        image_id, services = state.images.get(plan.container.image, (None, None))
        # Against a host without the pod: a replacement removes it first, in the same deploy.
        diff = diff_pod(plan, ObservedPod(image_id=image_id, image_services=services), state.taken_ports())
        if diff.problem:
            raise HostError(f"{host.name}: pod {plan.slug}: {diff.problem}")
        diffs[host.name] = (diff, image_id)
    session.apply(deploys.restore_pod, diffs=diffs, archive=archive, replace=replace)


def delete_snapshot(session: executor.Session, name: str) -> bool:
    found = find_snapshot(session, name)
    orphan = any(session.fact(h, PathExists, path=snapshot_archive(name)) for h in session.hosts)
    if not found and not orphan:
        return False
    image = found[0][1].image if found else None
    users = [r.slug for _h, r in pods(session) if image and r.image == image]
    if users:
        raise ConflictError(f"snapshot {name} is the image of pod(s) {', '.join(users)}; delete them first")
    session.apply(deploys.delete_snapshot, snapshot=found[0][1].name if found else name, image=image)
    return True


def restore(
    session: executor.Session,
    name: str,
    new_slug: str | None = None,
    timeout: float = 180.0,
    step: Step = _quiet,
    replace: bool = False,
) -> list[dict[str, Any]]:
    """Create pod ``new_slug`` (default: the snapshot's source) from snapshot ``name``.

    An existing pod (or its kept workspace volume) of that slug is refused unless ``replace``:
    then it is deleted with its workspace and brought back from the snapshot on its own host port.
    """
    found = find_snapshot(session, name)
    if not found:
        raise SnapshotNotFound(f"no snapshot {name} on {session.target}; see `pinacle snapshot list`")
    if len(session.hosts) > 1 and len(found) != len(session.hosts):
        raise TargetError(f"snapshot {name} is not on every host of {session.target}; pick one")
    record = found[0][1]
    slug = new_slug or record.source
    kept_port: int | None = None
    for host in session.hosts:
        objects = session.fact(host, PodObjects, slug=slug)
        if any(objects.values()) and not replace:
            raise ConflictError(
                f"pod {slug} (or its kept workspace volume) exists on {host.name}: restore --as another "
                f"slug, or --replace to roll it back to the snapshot (its workspace is overwritten)"
            )
    if replace:
        ports = {r.host_port for _h, r in pods(session, slug) if r.host_port is not None}
        kept_port = ports.pop() if len(ports) == 1 else None  # hosts that disagree each get a free port
    spec = spec_from_data(record.spec_data(), slug=slug, image=record.image, host_port=kept_port)
    plan = plan_pod(spec, DeploySettings.from_env())
    step(f"restoring {record.name} as pod {slug}" + (" (replacing it)" if replace else ""))
    with contextlib.ExitStack() as retries:
        for attempt in range(1, CLAIM_ATTEMPTS + 1):
            try:
                _restore_once(session, plan, snapshot_archive(record.name), replace)
                break
            except PortClaimLost:
                if attempt == CLAIM_ATTEMPTS:
                    raise
                step("a concurrent deploy claimed the chosen port; reading the host again")
                # A pyinfra state runs its operations once: a new attempt needs a new session.
                session = retries.enter_context(executor.session(session.target))
        results = []
        for host, container in pods(session, slug):
            if container.host_port is None:
                raise HostError(f"{host.name}: pod {slug} holds no host port")
            step(f"waiting for services of {slug} on {host.name}")
            statuses = executor.wait_until_healthy(host, plan, container.host_port, timeout, step)
            results.append(pod_record(container, host.name, statuses))
        return results


# --- doctor -------------------------------------------------------------------------------------


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
    server = session.fact(host, DockerServer)
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
        daemon = parse_daemon_json(session.fact(host, FileText, path=DAEMON_JSON_PATH))
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
    usage = session.fact(host, NetworkUsage)
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

    low, high = settings.port_range
    taken = ports_in_range(executor.observe_pods(host).taken_ports(), settings.port_range)
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

    if session.fact(host, DockerImageId, image=image):
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

    found = _host_pods(host)
    statuses = _statuses(host, found)
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
    version = session.fact(host, RunscVersion, path=path) if isinstance(path, str) else None
    binary = f"runsc {version or 'version unknown'}" + (f", {path}" if isinstance(path, str) else "")
    if not session.fact(host, DockerImageId, image=PROBE_IMAGE):
        return _check(
            "runtime",
            "warn",
            f"runtime {runtime} ({binary}) is registered; not probed ({PROBE_IMAGE} is missing)",
            "run the host deploy to build the probe image",
        )
    probe = session.fact(host, RuntimeProbe, runtime=runtime, image=PROBE_IMAGE)
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
