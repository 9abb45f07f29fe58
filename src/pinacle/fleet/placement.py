"""Which host of a fleet a pod goes on: a pure decision, with its reasons as data.

Nothing here reads a host. The caller gathers, for every host of the inventory, its size, its
pyinfra groups and placement host data, whether it answered, and the pods it holds (their records
are the only record of placement: there is no side database), then asks :func:`choose_host`.

The rules, in order:

1. A pod that one host already holds stays there, whatever its ``placement:`` says now (moving
   it is ``pinacle move``). A forced other host is refused.
2. A pod held by a host that did not answer is never placed a second time elsewhere, unless
   ``force``: that host may still run it.
3. A pod on several hosts is a conflict to resolve by hand; nothing is chosen.
4. A new pod goes on the eligible host with the most room: reachable, not drained, matching every
   constraint of its ``placement:``, and with the pod's CPUs and memory still within the host's
   size times its overcommit ratio, counting what every pod there has asked for (stopped pods
   too: they may start again). Most room is the most memory left after placing, then the most
   CPUs left, then the host name: the same inputs always give the same host.
5. ``host`` forces one host for a new pod: it must be known and reachable; its constraints and
   room are reported but do not refuse it (the operator asked for it by name).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from pinacle.errors import HostError
from pinacle.spec import LabelKey, LabelValue, PlacementSpec, PodSpec

OVERCOMMIT_MAX = 16.0


class PlacementHostData(BaseModel):
    """The host data placement reads (other keys are the host deploy's and are ignored here)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    host_labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    overcommit_ratio: float = Field(default=1.0, gt=0, le=OVERCOMMIT_MAX, allow_inf_nan=False)
    unschedulable: StrictBool = False


def placement_host_data(host: str, data: Mapping[str, Any]) -> PlacementHostData:
    """Validate ``data``'s placement keys; a HostError names the host and the key."""
    known = {key: data[key] for key in PlacementHostData.model_fields if data.get(key) is not None}
    try:
        return PlacementHostData.model_validate(known)
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise HostError(f"invalid placement host data of {host}:\n" + "\n".join(lines)) from None


@dataclass(frozen=True)
class Reservation:
    """What one pod asked for: its ``resources``."""

    slug: str
    cpus: float
    memory_mb: int

    @classmethod
    def of(cls, spec: PodSpec) -> Reservation:
        return cls(spec.slug, spec.resources.cpus, spec.resources.memory_mb)


@dataclass(frozen=True)
class FleetHost:
    """One host of the inventory, as placement sees it."""

    name: str
    cpus: float
    memory_mb: int
    groups: frozenset[str] = frozenset()
    data: PlacementHostData = field(default_factory=PlacementHostData)
    reachable: bool = True
    pods: tuple[Reservation, ...] = ()

    @property
    def cpu_capacity(self) -> float:
        return self.cpus * self.data.overcommit_ratio

    @property
    def memory_capacity_mb(self) -> float:
        return self.memory_mb * self.data.overcommit_ratio

    @property
    def reserved_cpus(self) -> float:
        return sum(pod.cpus for pod in self.pods)

    @property
    def reserved_memory_mb(self) -> int:
        return sum(pod.memory_mb for pod in self.pods)

    def holds(self, slug: str) -> bool:
        return any(pod.slug == slug for pod in self.pods)


class Outcome(enum.Enum):
    STAYS = "stays"  # already on a host, which answered
    PLACED = "placed"  # a new pod, on the host with the most room
    FORCED = "forced"  # on the host asked for by name, or elsewhere with force
    REFUSED = "refused"  # no host: see the reason


class Verdict(enum.Enum):
    """Why a host can or cannot take a new pod."""

    ELIGIBLE = "eligible"
    UNREACHABLE = "unreachable"
    UNSCHEDULABLE = "unschedulable"
    NOT_IN_HOSTS = "not one of placement.hosts"
    NOT_IN_GROUPS = "in none of placement.groups"
    MISSING_LABELS = "lacks labels"
    NO_CPU_ROOM = "not enough CPUs left"
    NO_MEMORY_ROOM = "not enough memory left"


_ROOM_VERDICTS = frozenset({Verdict.ELIGIBLE, Verdict.NO_CPU_ROOM, Verdict.NO_MEMORY_ROOM})


@dataclass(frozen=True)
class HostVerdict:
    """One host, judged for one pod: room left after placing it there (negative: over capacity)."""

    host: str
    verdict: Verdict
    detail: str
    cpus_left: float
    memory_left_mb: float

    def describe(self) -> str:
        text = f"{self.host}: {self.verdict.value}" + (f" ({self.detail})" if self.detail else "")
        if self.verdict in _ROOM_VERDICTS:  # the others never came to counting room
            text += f"; {self.memory_left_mb:g} MiB and {self.cpus_left:g} CPUs left after placing"
        return text


@dataclass(frozen=True)
class PlacementDecision:
    """Where the pod goes (``host`` None: nowhere) and why; ``verdicts`` judge every host, sorted best first."""

    slug: str
    host: str | None
    outcome: Outcome
    reason: str
    verdicts: tuple[HostVerdict, ...] = ()

    @property
    def new(self) -> bool:
        """Does the pod go where it is not yet (a new pod, placed or forced; or refused)?"""
        return self.outcome is not Outcome.STAYS

    def describe(self) -> list[str]:
        """What ``--dry-run`` prints: the decision, then every host's verdict."""
        head = f"pod {self.slug}: {self.outcome.value}" + (f" on {self.host}" if self.host else "")
        return [f"{head}: {self.reason}", *(f"  {verdict.describe()}" for verdict in self.verdicts)]


def _constraint_problem(placement: PlacementSpec, host: FleetHost) -> tuple[Verdict, str] | None:
    if placement.hosts and host.name not in placement.hosts:
        return Verdict.NOT_IN_HOSTS, ", ".join(placement.hosts)
    if placement.groups and not host.groups.intersection(placement.groups):
        return Verdict.NOT_IN_GROUPS, ", ".join(placement.groups)
    missing = {k: v for k, v in placement.labels.items() if host.data.host_labels.get(k) != v}
    if missing:
        return Verdict.MISSING_LABELS, ", ".join(f"{k}={v}" for k, v in sorted(missing.items()))
    return None


def judge(pod: Reservation, placement: PlacementSpec, host: FleetHost) -> HostVerdict:
    """Whether ``host`` can take the new pod, and the room it would have left."""
    cpus_left = host.cpu_capacity - host.reserved_cpus - pod.cpus
    memory_left = host.memory_capacity_mb - host.reserved_memory_mb - pod.memory_mb

    def verdict(kind: Verdict, detail: str = "") -> HostVerdict:
        return HostVerdict(host.name, kind, detail, round(cpus_left, 3), round(memory_left, 1))

    if not host.reachable:
        return verdict(Verdict.UNREACHABLE)
    if host.data.unschedulable:
        return verdict(Verdict.UNSCHEDULABLE, "drained")
    problem = _constraint_problem(placement, host)
    if problem:
        return verdict(*problem)
    if memory_left < 0:
        detail = f"{host.reserved_memory_mb} of {host.memory_capacity_mb:g} MiB reserved, the pod asks {pod.memory_mb}"
        return verdict(Verdict.NO_MEMORY_ROOM, detail)
    if cpus_left < 0:
        detail = f"{host.reserved_cpus:g} of {host.cpu_capacity:g} reserved, the pod asks {pod.cpus:g}"
        return verdict(Verdict.NO_CPU_ROOM, detail)
    return verdict(Verdict.ELIGIBLE)


def _best_first(verdicts: Iterable[HostVerdict]) -> tuple[HostVerdict, ...]:
    """Eligible hosts first, most memory then most CPUs left, then by name: deterministic."""
    return tuple(
        sorted(verdicts, key=lambda v: (v.verdict is not Verdict.ELIGIBLE, -v.memory_left_mb, -v.cpus_left, v.host))
    )


def choose_host(
    pod: PodSpec,
    hosts: Sequence[FleetHost],
    *,
    host: str | None = None,
    force: bool = False,
) -> PlacementDecision:
    """The host ``pod`` goes on among ``hosts`` (see the module's rules), with every host's verdict."""
    names = [h.name for h in hosts]
    if len(set(names)) != len(names):
        raise HostError(f"the same host twice in the fleet: {', '.join(sorted(names))}")
    slug = pod.slug
    holders = [h for h in hosts if h.holds(slug)]
    # The pod's own reservation must not count against the hosts that hold it.
    request = Reservation.of(pod)
    others = [dataclasses.replace(h, pods=tuple(p for p in h.pods if p.slug != slug)) for h in hosts]
    verdicts = _best_first(judge(request, pod.placement, h) for h in others)

    def decision(target: str | None, outcome: Outcome, reason: str) -> PlacementDecision:
        return PlacementDecision(slug, target, outcome, reason, verdicts)

    if len(holders) > 1:
        listed = ", ".join(sorted(h.name for h in holders))
        return decision(None, Outcome.REFUSED, f"the pod is on several hosts ({listed}): remove all but one by hand")
    if holders:
        (holder,) = holders
        if holder.reachable:
            if host is not None and host != holder.name:
                return decision(None, Outcome.REFUSED, f"the pod is on {holder.name}; move it with pinacle move")
            return decision(holder.name, Outcome.STAYS, "the pod is already there (placement is sticky)")
        if not force:
            reason = f"the pod is on {holder.name}, which did not answer: it may still run there (--force to re-place)"
            return decision(None, Outcome.REFUSED, reason)
    if host is not None:
        return _forced(pod, host, verdicts, holders)
    eligible = [v for v in verdicts if v.verdict is Verdict.ELIGIBLE]
    if not eligible:
        return decision(None, Outcome.REFUSED, "no host can take the pod: " + _summary(verdicts))
    best = eligible[0]
    if holders:
        reason = f"forced off {holders[0].name}, which did not answer: {best.host} has the most room"
        return PlacementDecision(slug, best.host, Outcome.FORCED, reason, verdicts)
    tie = len(eligible) > 1 and (eligible[1].memory_left_mb, eligible[1].cpus_left) == (
        best.memory_left_mb,
        best.cpus_left,
    )
    reason = f"the most room: {best.memory_left_mb:g} MiB and {best.cpus_left:g} CPUs left after placing"
    return decision(best.host, Outcome.PLACED, reason + (" (a tie, broken by host name)" if tie else ""))


def _forced(pod: PodSpec, host: str, verdicts: tuple[HostVerdict, ...], holders: list[FleetHost]) -> PlacementDecision:
    chosen = next((v for v in verdicts if v.host == host), None)
    if chosen is None:
        known = ", ".join(sorted(v.host for v in verdicts)) or "none"
        return PlacementDecision(
            pod.slug, None, Outcome.REFUSED, f"no host {host} in the fleet (hosts: {known})", verdicts
        )
    if chosen.verdict is Verdict.UNREACHABLE:
        return PlacementDecision(pod.slug, None, Outcome.REFUSED, f"{host} did not answer", verdicts)
    reason = f"asked for by name ({chosen.verdict.value}" + (f": {chosen.detail})" if chosen.detail else ")")
    if holders:
        reason += f"; forced off {holders[0].name}, which did not answer"
    return PlacementDecision(pod.slug, host, Outcome.FORCED, reason, verdicts)


def _summary(verdicts: Sequence[HostVerdict]) -> str:
    if not verdicts:
        return "the fleet has no hosts"
    return "; ".join(f"{v.host} {v.verdict.value}" for v in verdicts)
