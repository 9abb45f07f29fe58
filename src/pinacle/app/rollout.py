"""Roll out pods: plan (the dry run) and apply share one diff per pod and host."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pinacle import executor
from pinacle.app.fleet_routes import sync_fleet_routes
from pinacle.edge.settings import EdgeSettings
from pinacle.errors import DeployError, HostError, PortClaimLost, UsageError
from pinacle.pod.desired import PodPlan
from pinacle.pod.diff import Action, PodDiff, diff_pod
from pinacle.pod.names import lock_path
from pinacle.pod.report import service_url
from pinacle.progress import Progress, silent
from pinacle.readers.edge import edge_state
from pinacle.records import PodPlanResult, PodRollout, frozen_mapping

if TYPE_CHECKING:
    from pinacle.deploys import pod as deploys
    from pinacle.fleet.placement import PlacementDecision
else:  # pyinfra is imported only when a deploy runs
    deploys = executor.lazy_module("pinacle.deploys.pod")

# A lost port claim means a concurrent deploy won that port: read the host again, choose again.
# N deploys racing for the lowest free port need up to N attempts; each costs a read (~0.1 s).
CLAIM_ATTEMPTS = 8


def plan_rollout(
    session: executor.Session,
    plans: Sequence[PodPlan],
    host: str | None = None,
    force: bool = False,
    placements: dict[str, PlacementDecision] | None = None,
    edges: Mapping[str, EdgeSettings | None] | None = None,
) -> list[tuple[Any, PodDiff, str | None]]:
    """(host, diff, image ID) for every pod of the run: one read per host, all hosts at once.

    On a single host every pod goes there. On a fleet (an inventory of several hosts) each pod
    goes on one host only, chosen by :func:`pinacle.app.fleet.place`: the one that holds it, else
    the one with the most room (``host`` forces one, ``force`` re-places a pod whose host did not
    answer); its decision is stored in ``placements`` when given. ``edges``: each host's edge
    settings, when the caller has read them already (else they are read here).
    """
    images = tuple(p.container.image for p in plans)
    fleet = session.fleet
    if fleet:
        from pinacle.app.fleet import place, read_fleet  # placement's models: not for one host

        states, members = read_fleet(session, images)
        decisions = place(plans, members, host=host, force=force)
        if placements is not None:
            placements.update(decisions)
        chosen = {slug: decision.host for slug, decision in decisions.items()}
    elif host is not None and host != session.hosts[0].name:
        raise UsageError(f"--host {host}: the target {session.target} has one host, {session.hosts[0].name}")
    diffs = []
    for target_host in session.hosts:
        mine = [p for p in plans if not fleet or chosen[p.slug] == target_host.name]
        if not mine:
            continue
        state = states[target_host.name] if fleet else executor.observe_pods(target_host, images)
        edge = edges[target_host.name] if edges is not None else session.read(target_host, edge_state())
        taken = state.taken_ports()
        for pod_plan in mine:
            observed = state.observe(pod_plan.slug, pod_plan.container.image, pod_plan.network, pod_plan.volume)
            diff = diff_pod(pod_plan, observed, taken)
            if edge is not None and (beside_edge := edge.publish_problem(pod_plan.container.publish_address)):
                diff = dataclasses.replace(diff, problem=diff.problem or beside_edge)
            if diff.fresh_container and diff.host_port is not None:
                taken[diff.host_port] = pod_plan.slug  # the next pod of this run must not take it too
            diffs.append((target_host, diff, observed.image_id))
    return diffs


def lock_placements(session: executor.Session, slugs: Sequence[str], held: contextlib.ExitStack) -> None:
    """Take the placement locks of the new pods ``slugs`` on every host that answered, kept until
    ``held`` closes. The caller reads the fleet again under them.

    Two runs that place one new pod at once (from two terminals, or seeing two different fleets)
    could each find it nowhere and put it on two hosts. Under the slug's lock on every host the
    second run waits, then finds the pod where the first put it. Two runs that share no
    answering host cannot be told apart; :func:`pinacle.app.fleet.place` refuses a new pod while a
    host is silent unless ``--force``.
    """
    paths = [lock_path("place", slug) for slug in slugs]
    what = f"placement of pod {', '.join(slugs)}"
    for member in sorted(session.hosts, key=lambda h: str(h.name)):  # one order everywhere: no deadlock
        held.enter_context(executor.host_lock(member, paths, what))


def problems(diffs: Sequence[tuple[Any, PodDiff, str | None]]) -> list[str]:
    return [f"{host.name}: pod {diff.plan.slug}: {diff.problem}" for host, diff, _ in diffs if diff.problem]


def plan(
    session: executor.Session, plans: Sequence[PodPlan], host: str | None = None, force: bool = False
) -> list[PodPlanResult]:
    """The dry run: what a rollout of ``plans`` would change on each host; nothing is changed.

    A pod that cannot be rolled out (a full port range, an image without its services, no host of
    a fleet with room) raises HostError, as the rollout itself would, before anything is changed.
    On a fleet each result says where the pod would go and why.
    """
    placements: dict[str, PlacementDecision] = {}
    diffs = plan_rollout(session, plans, host, force, placements)
    if found := problems(diffs):
        raise HostError("\n".join(found))
    return [
        PodPlanResult(
            host=target_host.name,
            slug=diff.plan.slug,
            host_port=diff.host_port,
            changes=tuple(diff.changes),
            placement=tuple(placements[diff.plan.slug].describe()) if diff.plan.slug in placements else (),
        )
        for target_host, diff, _image_id in diffs
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
    host: str | None = None,
    force: bool = False,
) -> list[PodRollout]:
    """Roll ``plans`` out on ``target`` and wait until every service answers through its router.

    Everything that can be checked is checked before the first change: a pod whose image lacks
    its services, a full port range, a held pinned port or a fleet with no room for it fails the
    whole run and changes nothing. On a fleet each pod goes on one host (see :func:`plan_rollout`).
    """
    step = progress or silent()
    # What this run creates from nothing, as its first read saw it: a retry after a lost port
    # claim sees the network its first attempt made and must still count the pod as new.
    created: dict[str, dict[str, bool]] = {}
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        with executor.session(target) as session, contextlib.ExitStack() as placing:
            step("read", f"reading {target}")
            for name, why in sorted(session.unreachable.items()):
                step("unreachable", f"{name} did not answer ({why}); no pod is placed there", host=name)
            # Read once per attempt: the plan refuses what the edge would not serve, the URLs are its.
            edges = session.read_all(edge_state())
            placements: dict[str, PlacementDecision] = {}
            diffs = plan_rollout(session, plans, host, force, placements, edges)
            if new := sorted(slug for slug, d in placements.items() if d.new):
                lock_placements(session, new, placing)
                diffs = plan_rollout(session, plans, host, force, placements, edges)
            if found := problems(diffs):
                raise HostError("\n".join(found))
            pending: dict[str, list[tuple[PodDiff, str | None]]] = {}
            for pod_host, diff, image_id in diffs:
                if diff.pending:
                    pending.setdefault(pod_host.name, []).append((diff, image_id))
            for host_name, pods in new_pods(pending).items():
                for slug, purge in pods.items():
                    created.setdefault(host_name, {}).setdefault(slug, purge)
            try:
                if pending:
                    step("apply", f"changing {', '.join(d.plan.slug for ds in pending.values() for d, _i in ds)}")
                    executor.roll_out_pods(session, pending)
                placing.close()  # the new pods are on their hosts now: a concurrent run finds them there
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
            for pod_host in session.hosts:
                mine = [diff for h, diff, _image_id in diffs if h is pod_host]
                if not mine:
                    continue
                for diff in mine:
                    if diff.host_port is None:
                        raise HostError(f"{pod_host.name}: pod {diff.plan.slug} holds no host port")
                slugs = ", ".join(d.plan.slug for d in mine)
                only = mine[0].plan.slug if len(mine) == 1 else None
                step("wait", f"waiting for services of {slugs} on {pod_host.name}", only, pod_host.name)
                ports = [(d.plan, d.host_port) for d in mine if d.host_port is not None]
                edge = edges[pod_host.name]
                statuses = executor.wait_until_all_healthy(pod_host, ports, timeout, step)
                results += [
                    PodRollout(
                        host=pod_host.name,
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
            sync_fleet_routes(session, step)
            return results
    raise AssertionError("unreachable")  # pragma: no cover
