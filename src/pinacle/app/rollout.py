"""Roll out pods: plan (the dry run) and apply share one diff per pod and host."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.errors import DeployError, HostError, PortClaimLost
from pinacle.pod.desired import PodPlan
from pinacle.pod.diff import Action, PodDiff, diff_pod
from pinacle.pod.report import service_url
from pinacle.progress import Progress, silent
from pinacle.readers.edge import edge_state
from pinacle.records import PodPlanResult, PodRollout, frozen_mapping

if TYPE_CHECKING:
    from pinacle.deploys import pod as deploys
else:  # pyinfra is imported only when a deploy runs
    deploys = executor.lazy_module("pinacle.deploys.pod")

# A lost port claim means a concurrent deploy won that port: read the host again, choose again.
# N deploys racing for the lowest free port need up to N attempts; each costs a read (~0.1 s).
CLAIM_ATTEMPTS = 8


def plan_rollout(session: executor.Session, plans: Sequence[PodPlan]) -> list[tuple[Any, PodDiff, str | None]]:
    """(host, diff, image ID) for every pod on every host of the session: one read per host."""
    diffs = []
    for host in session.hosts:
        state = executor.observe_pods(host, tuple(p.container.image for p in plans))
        edge = session.read(host, edge_state())
        taken = state.taken_ports()
        for plan in plans:
            observed = state.observe(plan.slug, plan.container.image, plan.network, plan.volume)
            diff = diff_pod(plan, observed, taken)
            if edge is not None and (beside_edge := edge.publish_problem(plan.container.publish_address)):
                diff = dataclasses.replace(diff, problem=diff.problem or beside_edge)
            if diff.fresh_container and diff.host_port is not None:
                taken[diff.host_port] = plan.slug  # the next pod of this run must not take it too
            diffs.append((host, diff, observed.image_id))
    return diffs


def problems(diffs: Sequence[tuple[Any, PodDiff, str | None]]) -> list[str]:
    return [f"{host.name}: pod {diff.plan.slug}: {diff.problem}" for host, diff, _ in diffs if diff.problem]


def plan(session: executor.Session, plans: Sequence[PodPlan]) -> list[PodPlanResult]:
    """The dry run: what a rollout of ``plans`` would change on each host; nothing is changed.

    A pod that cannot be rolled out (a full port range, an image without its services) raises
    HostError, as the rollout itself would, before anything is changed.
    """
    diffs = plan_rollout(session, plans)
    if found := problems(diffs):
        raise HostError("\n".join(found))
    return [
        PodPlanResult(
            host=host.name,
            slug=diff.plan.slug,
            host_port=diff.host_port,
            changes=tuple(diff.changes),
        )
        for host, diff, _image_id in diffs
    ]


def new_pods(pending: Mapping[str, Sequence[tuple[PodDiff, str | None]]]) -> dict[str, dict[str, bool]]:
    """Host name -> slug -> purge, for the pods this run creates from nothing (no container and
    no network yet); purge: their workspace volume is this run's too."""
    return {
        host: {
            d.plan.slug: d.volume.pending
            for d, _image_id in diffs
            if d.container.action is Action.CREATE and d.network.pending
        }
        for host, diffs in pending.items()
    }


def remove_what_failed_pods_left(target: str, created: Mapping[str, Mapping[str, bool]], step: Progress) -> None:
    """After a failed run, remove what it made of the pods it was creating that did not come up:
    their network, and their workspace volume when this run created it too. A pod that existed
    before keeps everything; the next run converges it."""
    if not any(created.values()):
        return
    with executor.session(target) as session:
        doomed: dict[str, list[tuple[str, bool]]] = {}
        for host in session.hosts:
            state = executor.observe_pods(host)
            for slug, purge in created.get(host.name, {}).items():
                if slug not in state.containers:  # one that came up is left to the next run
                    doomed.setdefault(host.name, []).append((slug, purge))
        if doomed:
            slugs = sorted({slug for pods in doomed.values() for slug, _purge in pods})
            step("cleanup", f"removing what the failed rollout made of {', '.join(slugs)}")
            session.apply(deploys.delete_pods, pods=doomed)


def roll_out(
    target: str,
    plans: Sequence[PodPlan],
    timeout: float = 180.0,
    progress: Progress | None = None,
) -> list[PodRollout]:
    """Roll ``plans`` out on ``target`` and wait until every service answers through its router.

    Everything that can be checked is checked before the first change: a pod whose image lacks
    its services, a full port range or a held pinned port fails the whole run and changes nothing.
    """
    step = progress or silent()
    # What this run creates from nothing, as its first read saw it: a retry after a lost port
    # claim sees the network its first attempt made and must still count the pod as new.
    created: dict[str, dict[str, bool]] = {}
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        with executor.session(target) as session:
            step("read", f"reading {target}")
            diffs = plan_rollout(session, plans)
            if found := problems(diffs):
                raise HostError("\n".join(found))
            pending: dict[str, list[tuple[PodDiff, str | None]]] = {}
            for host, diff, image_id in diffs:
                if diff.pending:
                    pending.setdefault(host.name, []).append((diff, image_id))
            for host_name, pods in new_pods(pending).items():
                for slug, purge in pods.items():
                    created.setdefault(host_name, {}).setdefault(slug, purge)
            try:
                if pending:
                    step("apply", f"changing {', '.join(d.plan.slug for ds in pending.values() for d, _i in ds)}")
                    executor.roll_out_pods(session, pending)
            except PortClaimLost:
                if attempt == CLAIM_ATTEMPTS:
                    remove_what_failed_pods_left(target, created, step)
                    raise
                step("retry", "a concurrent deploy claimed the chosen port; reading the host again")
                continue
            except DeployError:
                remove_what_failed_pods_left(target, created, step)
                raise
            results = []
            for host in session.hosts:
                mine = [diff for h, diff, _image_id in diffs if h is host]
                for diff in mine:
                    if diff.host_port is None:
                        raise HostError(f"{host.name}: pod {diff.plan.slug} holds no host port")
                slugs = ", ".join(d.plan.slug for d in mine)
                only = mine[0].plan.slug if len(mine) == 1 else None
                step("wait", f"waiting for services of {slugs} on {host.name}", only, host.name)
                ports = [(d.plan, d.host_port) for d in mine if d.host_port is not None]
                edge = session.read(host, edge_state())
                statuses = executor.wait_until_all_healthy(host, ports, timeout, step)
                results += [
                    PodRollout(
                        host=host.name,
                        slug=d.plan.slug,
                        host_port=port,
                        urls=frozen_mapping(
                            {
                                r.name: service_url(r, d.plan.slug, d.plan.domain, port, edge)
                                or r.url(d.plan.slug, d.plan.domain, port)
                                for r in d.plan.routes
                            }
                        ),
                        changes=sum(c.pending for c in d.changes),
                        statuses=frozen_mapping(statuses[d.plan.slug]),
                    )
                    for d, (_plan, port) in zip(mine, ports, strict=True)
                ]
            return results
    raise AssertionError("unreachable")  # pragma: no cover
