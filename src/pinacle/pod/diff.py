"""The one diff: desired pod and observed host in, a plan of actions out.

``--dry-run`` prints a :class:`PodDiff` and the operations do exactly what it says; nothing
compares desired and observed state anywhere else (pip-tools' ``diff``/``sync`` split). Like
Terraform's plan actions, each resource gets one of no-op, create, update, replace, delete, start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pinacle.catalog import missing_from_image
from pinacle.pod.desired import PodPlan
from pinacle.pod.names import LABEL_SPEC_FIELDS, ROUTER_CONFIG_PATH, SUPERVISOR_DIR, record_path
from pinacle.pod.observed import ObservedPod, PodRecord
from pinacle.pod.ports import choose_port


class Action(StrEnum):
    NOOP = "no-op"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    START = "start"


_VERBS = {
    Action.NOOP: "no change to",
    Action.CREATE: "create",
    Action.UPDATE: "update",
    Action.REPLACE: "replace",
    Action.DELETE: "delete",
    Action.START: "start",
}


@dataclass(frozen=True)
class Change:
    """One resource and what happens to it; ``path`` names the file of a config change.

    Public as ``pinacle.PlannedChange``: the dry run's lines, as data.
    """

    resource: str
    action: Action
    reason: str = ""
    path: str = ""

    @property
    def pending(self) -> bool:
        return self.action is not Action.NOOP

    def describe(self, dry_run: bool = True) -> str:
        prefix = "Would " if dry_run and self.pending else ""
        text = f"{prefix}{_VERBS[self.action]} {self.resource}"
        return f"{text[0].upper()}{text[1:]}" + (f" ({self.reason})" if self.reason else "")

    def to_json(self) -> dict[str, Any]:
        return {"resource": self.resource, "action": str(self.action), "reason": self.reason, "path": self.path}


@dataclass(frozen=True)
class PodDiff:
    """Everything a rollout of ``plan`` does on one host, decided before the first command.

    + problem: why the rollout cannot happen at all (checked before any change); empty if none
    + host_port: the port the pod's container has or gets (None when the range is full)
    + config: one change per file written into a running container (router, services)
    + record: the desired host record, written last
    """

    plan: PodPlan
    network: Change
    volume: Change
    container: Change
    config: tuple[Change, ...]
    record_change: Change
    record: PodRecord
    host_port: int | None
    problem: str = ""

    @property
    def changes(self) -> list[Change]:
        """In the order apply walks them."""
        return [self.network, self.volume, self.container, *self.config, self.record_change]

    @property
    def pending(self) -> bool:
        return any(change.pending for change in self.changes)

    @property
    def fresh_container(self) -> bool:
        """The container is (re)created: its configuration goes in before it first starts."""
        return self.container.action in (Action.CREATE, Action.REPLACE)

    @property
    def writes(self) -> dict[str, str]:
        """Config files to write into the running container: path -> content."""
        if self.fresh_container:
            return {}  # copied in with the container, before it starts
        files = self.plan.config_files
        return {c.path: files[c.path] for c in self.config if c.action in (Action.CREATE, Action.UPDATE)}

    @property
    def removals(self) -> tuple[str, ...]:
        if self.fresh_container:
            return ()
        return tuple(c.path for c in self.config if c.action is Action.DELETE)


def image_problem(plan: PodPlan, observed: ObservedPod) -> str:
    """Why the pod's image cannot run this pod (empty when it can)."""
    if observed.image_id is None:
        return (
            f"image {plan.container.image} is not on this host; build it with "
            "docker/build-image.sh base (or workstation) (or set image: in the pod file)"
        )
    return missing_from_image(list(plan.spec.services), plan.container.image, observed.image_services)


def runtime_problem(plan: PodPlan, observed: ObservedPod) -> str:
    """Why the pod's runtime is not one this host registered for gVisor (empty when it is)."""
    known = observed.gvisor_runtimes
    if known is None or plan.container.runtime in known:
        return ""
    registered = ", ".join(sorted(known)) or "none"
    return (
        f"runtime {plan.container.runtime} is not a gVisor runtime on this host (runtimes whose path is runsc "
        f"in /etc/docker/daemon.json: {registered}); pods never run unsandboxed: run the host deploy"
    )


def container_change(plan: PodPlan, observed: ObservedPod) -> Change:
    """Create, replace (and why), start, or leave the pod container alone."""
    resource = f"container {plan.container.name}"
    current = observed.container
    if current is None:
        return Change(resource, Action.CREATE, f"under runtime {plan.container.runtime}")
    if current.runtime != plan.container.runtime:
        # Whatever its labels claim, a container under another runtime is replaced, never started.
        why = f"it runs under runtime {current.runtime or 'unknown'}, not {plan.container.runtime}"
        return Change(resource, Action.REPLACE, f"{why}; the workspace is kept")
    wanted = plan.container.config_hash(observed.image_id)
    if current.spec_hash != wanted:
        changed = plan.container.changed_fields(observed.image_id, current.labels.get(LABEL_SPEC_FIELDS))
        why = f"{', '.join(changed)} changed" if changed else "its spec or image changed"
        return Change(resource, Action.REPLACE, f"{why}; the workspace is kept")
    if plan.container.host_port is not None and current.host_port != plan.container.host_port:
        return Change(resource, Action.REPLACE, f"host port {plan.container.host_port} requested")
    if not current.running:
        return Change(resource, Action.START, "it is stopped")
    return Change(resource, Action.NOOP)


def _config_resource(path: str) -> str:
    if path == ROUTER_CONFIG_PATH:
        return "router config"
    name = path.rsplit("/", 1)[-1].removesuffix(".conf")
    return f"service {name}"


def config_changes(plan: PodPlan, observed: ObservedPod, fresh: bool) -> tuple[Change, ...]:
    """What to write into (or remove from) a running container so it serves ``plan``.

    A fresh container gets every file before it starts, so nothing is left to change. Otherwise
    the host record says what the last rollout wrote into this very container (same spec hash);
    without such a record every file is written again and every other service file removed.
    """
    desired = plan.config_shas
    if fresh:
        return tuple(
            Change(_config_resource(path), Action.CREATE, "copied in before the container starts", path)
            for path in desired
        )
    record, container = observed.record, observed.container
    known = record.config if record and container and record.spec_hash == container.spec_hash else None
    changes = []
    for path, sha in desired.items():
        reason = "Nginx is reloaded" if path == ROUTER_CONFIG_PATH else "the supervisor is updated"
        if known is None:
            changes.append(Change(_config_resource(path), Action.UPDATE, "not recorded as applied; " + reason, path))
        elif path not in known:
            changes.append(Change(_config_resource(path), Action.CREATE, reason, path))
        elif known[path] != sha:
            changes.append(Change(_config_resource(path), Action.UPDATE, "it changed; " + reason, path))
        else:
            changes.append(Change(_config_resource(path), Action.NOOP, path=path))
    if known is None:
        # Whatever service files the pod has beyond the desired ones go (a glob in the container).
        changes.append(Change("services not declared", Action.DELETE, "if any", f"{SUPERVISOR_DIR}/*.conf"))
    else:
        for path in sorted(set(known) - set(desired)):
            changes.append(Change(_config_resource(path), Action.DELETE, "no longer declared", path))
    return tuple(changes)


def desired_record(plan: PodPlan, observed: ObservedPod, host_port: int | None) -> PodRecord:
    return PodRecord(
        slug=plan.slug,
        spec=plan.spec.model_dump(mode="json"),
        domain=plan.domain,
        spec_hash=plan.container.config_hash(observed.image_id),
        config=plan.config_shas,
        host_port=host_port,
    )


def diff_pod(plan: PodPlan, observed: ObservedPod, taken: Mapping[int, str]) -> PodDiff:
    """The rollout of ``plan`` on a host that shows ``observed``, with ports ``taken`` (port -> owner)."""
    container = container_change(plan, observed)
    fresh = container.action in (Action.CREATE, Action.REPLACE)
    held = observed.container.host_port if observed.container else None
    if held is None and observed.record is not None:
        held = observed.record.host_port
    port = choose_port(plan.slug, plan.port_range, taken, plan.container.host_port, held)
    problem = runtime_problem(plan, observed) or image_problem(plan, observed)
    if not problem and fresh and port is None:
        low, high = plan.port_range
        problem = f"no free host port in {low}-{high}; delete pods or widen PINACLE_PORT_RANGE"
    pinned = plan.container.host_port
    if not problem and pinned is not None and taken.get(pinned, plan.slug) != plan.slug:
        owner = taken[pinned]
        problem = f"host port {pinned} is held by {f'pod {owner}' if owner else 'another process'}"
    if fresh and port is not None and container.action is Action.CREATE:
        container = Change(container.resource, container.action, f"{container.reason}, on host port {port}")
    record = desired_record(plan, observed, port)
    record_change = Change(
        f"pod record {record_path(plan.slug)}",
        Action.NOOP if observed.record == record else Action.UPDATE,
        "" if observed.record == record else "what day-2 commands read",
    )
    return PodDiff(
        plan=plan,
        network=Change(f"network {plan.network}", Action.NOOP if observed.network else Action.CREATE),
        # Docker creates the volume (labelled) as it creates the container that mounts it.
        volume=Change(f"volume {plan.volume}", Action.NOOP)
        if observed.volume
        else Change(f"volume {plan.volume}", Action.CREATE, "with the container"),
        container=container,
        config=config_changes(plan, observed, fresh),
        record_change=record_change,
        record=record,
        host_port=port,
        problem=problem,
    )
