"""Roll out pods: plan (the dry run) and apply share one diff per pod and host."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pinacle import executor
from pinacle.errors import HostError, PortClaimLost
from pinacle.pod.desired import PodPlan
from pinacle.pod.diff import PodDiff, diff_pod

Step = Callable[[str], None]
# A lost port claim means a concurrent deploy won that port: read the host again, choose again.
CLAIM_ATTEMPTS = 3


def quiet(_message: str) -> None:
    return None


@dataclass(frozen=True)
class PodRollout:
    """One pod rolled out on one host: where it answers, and how many operations changed it."""

    host: str
    slug: str
    host_port: int
    urls: dict[str, str]
    changes: int
    statuses: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "slug": self.slug,
            "host_port": self.host_port,
            "urls": self.urls,
            "changes": self.changes,
        }


def plan_rollout(session: executor.Session, plans: Sequence[PodPlan]) -> list[tuple[Any, PodDiff, str | None]]:
    """(host, diff, image ID) for every pod on every host of the session: one read per host."""
    diffs = []
    for host in session.hosts:
        state = executor.observe_pods(host, tuple(p.container.image for p in plans))
        taken = state.taken_ports()
        for plan in plans:
            observed = state.observe(plan.slug, plan.container.image, plan.network, plan.volume)
            diff = diff_pod(plan, observed, taken)
            if diff.fresh_container and diff.host_port is not None:
                taken[diff.host_port] = plan.slug  # the next pod of this run must not take it too
            diffs.append((host, diff, observed.image_id))
    return diffs


def problems(diffs: Sequence[tuple[Any, PodDiff, str | None]]) -> list[str]:
    return [f"{host.name}: pod {diff.plan.slug}: {diff.problem}" for host, diff, _ in diffs if diff.problem]


def roll_out(
    target: str,
    plans: Sequence[PodPlan],
    timeout: float = 180.0,
    step: Step = quiet,
) -> list[PodRollout]:
    """Roll ``plans`` out on ``target`` and wait until every service answers through its router.

    Everything that can be checked is checked before the first change: a pod whose image lacks
    its services, a full port range or a held pinned port fails the whole run and changes nothing.
    """
    for attempt in range(1, CLAIM_ATTEMPTS + 1):
        with executor.session(target) as session:
            step(f"reading {target}")
            diffs = plan_rollout(session, plans)
            if found := problems(diffs):
                raise HostError("\n".join(found))
            pending: dict[str, list[tuple[PodDiff, str | None]]] = {}
            for host, diff, image_id in diffs:
                if diff.pending:
                    pending.setdefault(host.name, []).append((diff, image_id))
            try:
                if pending:
                    executor.roll_out_pods(session, pending)
            except PortClaimLost:
                if attempt == CLAIM_ATTEMPTS:
                    raise
                step("a concurrent deploy claimed the chosen port; reading the host again")
                continue
            results = []
            for host in session.hosts:
                mine = [diff for h, diff, _image_id in diffs if h is host]
                for diff in mine:
                    if diff.host_port is None:
                        raise HostError(f"{host.name}: pod {diff.plan.slug} holds no host port")
                step(f"waiting for services of {', '.join(d.plan.slug for d in mine)} on {host.name}")
                ports = [(d.plan, d.host_port) for d in mine if d.host_port is not None]
                statuses = executor.wait_until_all_healthy(host, ports, timeout, step)
                results += [
                    PodRollout(
                        host=host.name,
                        slug=d.plan.slug,
                        host_port=port,
                        urls=d.plan.urls(port),
                        changes=sum(c.pending for c in d.changes),
                        statuses=statuses[d.plan.slug],
                    )
                    for d, (_plan, port) in zip(mine, ports, strict=True)
                ]
            return results
    raise AssertionError("unreachable")  # pragma: no cover
