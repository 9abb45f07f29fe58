"""The library face of pinacle: :class:`PodManager`, for control planes, bots and CI jobs.

Everything the ``pinacle`` and ``pinacle-deploy`` commands do, as methods that return the typed,
immutable records of :mod:`pinacle.records` (the ones the CLI prints and ``--json`` serialises)
and raise the exception tree of :mod:`pinacle.errors` (each class carries the CLI's exit code).

**Example:**

.. code:: python

    from pinacle import PodManager, PodSpec

    pods = PodManager("@local")
    spec = PodSpec(name="API example", slug="api-example", services=["web-terminal"])
    rollout = pods.create(spec)
    print(rollout.urls["web-terminal"])
    assert pods.exec("api-example", ["id", "-un"]).stdout == "dev\\n"
    pods.delete("api-example", purge=True)
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pinacle import executor
from pinacle.app import access as access_cases
from pinacle.app import doctor as doctor_checks
from pinacle.app import move as move_cases
from pinacle.app import pods as pod_cases
from pinacle.app import rollout as rollout_cases
from pinacle.app import snapshots as snapshot_cases
from pinacle.errors import ConflictError, PodNotFound, SnapshotNotFound, SpecError, TargetError
from pinacle.export.k8s import KubernetesOptions, Manifest, render_kubernetes_objects
from pinacle.pod.access import LOGIN_TTL_DEFAULT
from pinacle.pod.desired import PodPlan, plan_pod
from pinacle.pod.observed import ContainerRecord
from pinacle.pod.settings import DeploySettings
from pinacle.progress import Progress, ProgressCallback
from pinacle.records import (
    ExecResult,
    HostReport,
    LoginLink,
    PodPlanResult,
    PodRollout,
    PodStatus,
    PodToken,
    SnapshotInfo,
)
from pinacle.resolver import resolve
from pinacle.spec import PodSpec

PodSource = PodSpec | Mapping[str, Any] | str | Path
"""A pod: a :class:`PodSpec`, the mapping a pod file holds, or the path of a pod file."""

R = TypeVar("R")
_REGISTRY_LOCK = threading.Lock()
_POD_LOCKS: dict[tuple[str, str], threading.RLock] = {}


def _pod_lock(target: str, slug: str) -> threading.RLock:
    with _REGISTRY_LOCK:
        return _POD_LOCKS.setdefault((target, slug), threading.RLock())


class PodManager:
    """Pods on one target, driven from Python.

    + target: a pyinfra inventory file, ``@local``, ``@ssh/HOST``, ``lima`` (the VM that
      ``$PINACLE_LIMA_INSTANCE`` names, else ``gvisor-alpine``) or ``lima:NAME``; default as the
      CLI's: ``$PINACLE_INVENTORY``, else the Lima VM on macOS and ``@local`` on Linux
    + settings: pod URL domain and port range (default: from ``PINACLE_*`` environment variables)
    + timeout: seconds a rollout, start or restore waits for healthy services
    + progress: called with a :class:`~pinacle.progress.ProgressEvent` for each step of a long
      call (the CLI's ``==>`` lines); a call's own ``progress`` argument replaces it

    Thread-safe: calls for the same pod (from any manager of the same target in this process)
    run one after another; calls for different pods run side by side. Every call opens its own
    connection, so a manager holds nothing open between calls.

    **Example:**

    .. code:: python

        pods = PodManager("@local", timeout=120, progress=lambda e: print(e.message))
        for pod in pods.list_pods():
            print(pod.slug, pod.state, pod.healthy)
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        settings: DeploySettings | None = None,
        timeout: float = 180.0,
        progress: ProgressCallback | None = None,
    ) -> None:
        self.target = target or executor.default_target()
        self.settings = settings or DeploySettings.from_env()
        self.timeout = timeout
        self.progress = progress

    def __repr__(self) -> str:
        return f"PodManager({self.target!r})"

    # -- helpers ---------------------------------------------------------------------------

    def _progress(self, callback: ProgressCallback | None) -> Progress:
        return Progress(callback or self.progress)

    @contextmanager
    def _locked(self, *slugs: str) -> Iterator[None]:
        with ExitStack() as stack:
            for slug in sorted(set(slugs)):  # one order everywhere: no two calls deadlock
                stack.enter_context(_pod_lock(self.target, slug))
            yield

    @contextmanager
    def _session(self) -> Iterator[executor.Session]:
        with executor.session(self.target) as session:
            yield session

    def _plans(self, pods: Sequence[PodSource]) -> list[PodPlan]:
        plans = [plan_pod(pod if isinstance(pod, PodSpec) else resolve(pod), self.settings) for pod in pods]
        slugs = [plan.slug for plan in plans]
        if len(set(slugs)) != len(slugs):
            raise SpecError(f"the same slug twice in one call: {', '.join(slugs)}")
        return plans

    def _one(self, records: Sequence[R], slug: str) -> R:
        """The record of the one host that holds pod ``slug`` (no fleet placement yet)."""
        if not records:
            raise PodNotFound(f"no pod {slug} on {self.target}")
        if len(records) > 1:
            raise TargetError(f"pod {slug} is on several hosts of {self.target}; use a PodManager per host")
        return records[0]

    # -- rolling out -----------------------------------------------------------------------

    def plan(self, *pods: PodSource, host: str | None = None) -> list[PodPlanResult]:
        """What :meth:`apply` would change, per pod and host (``pinacle-deploy --dry-run``).

        Nothing is changed. Raises SpecError for a bad pod, HostError when a pod could not be
        rolled out at all (a full port range, an image without its services, no room on a fleet).
        On a fleet, ``placement`` says which host each pod would go on and why; ``host`` forces one.

        **Example:**

        .. code:: python

            for result in pods.plan(spec):
                print(result.slug, result.pending, [c.describe() for c in result.changes])
        """
        plans = self._plans(pods)
        with self._session() as session:
            return rollout_cases.plan(session, plans, host)

    def apply(
        self,
        *pods: PodSource,
        timeout: float | None = None,
        progress: ProgressCallback | None = None,
        host: str | None = None,
    ) -> list[PodRollout]:
        """Roll pods out (``pinacle-deploy``): create what is missing, change what differs, then
        wait until every service answers through its router. A second call changes nothing.
        On a fleet each pod goes on one host (the one holding it, else the one with the most room;
        ``host`` names one for new pods).

        Raises SpecError before anything reaches a host, HostError when a pod cannot run there,
        DeployError when an operation fails, HealthError when services stay unhealthy.

        **Example:**

        .. code:: python

            (rollout,) = pods.apply(spec)
            print(rollout.host_port, rollout.changes)
        """
        plans = self._plans(pods)
        with self._locked(*(p.slug for p in plans)):
            return rollout_cases.roll_out(
                self.target, plans, self.timeout if timeout is None else timeout, self._progress(progress), host=host
            )

    def create(
        self, pod: PodSource, *, timeout: float | None = None, progress: ProgressCallback | None = None
    ) -> PodRollout:
        """Create a new pod; ConflictError if a pod (or its kept workspace) of that slug exists.

        **Example:**

        .. code:: python

            rollout = pods.create({"name": "API example", "slug": "api-example", "services": ["web-terminal"]})
        """
        (plan,) = self._plans([pod])
        with self._locked(plan.slug):
            with self._session() as session:
                if pod_cases.pods(session, plan.slug):
                    raise ConflictError(f"pod {plan.slug} already exists on {self.target}; apply() changes it")
            (result,) = rollout_cases.roll_out(
                self.target, [plan], self.timeout if timeout is None else timeout, self._progress(progress)
            )
            return result

    # -- reading ---------------------------------------------------------------------------

    def list_pods(self, *, health: bool = True) -> list[PodStatus]:
        """Every pod on the target (``pinacle list``), with its services' health unless ``health``
        is False (then ``healthy`` is None and nothing is requested through the routers).

        **Example:**

        .. code:: python

            running = [p.slug for p in pods.list_pods() if p.running]
        """
        with self._session() as session:
            return pod_cases.list_pods(session, health=health)

    def status(self, slug: str) -> PodStatus:
        """One pod (``pinacle status``); PodNotFound if the target has none of that slug.

        **Example:**

        .. code:: python

            status = pods.status("api-example")
            print(status.state, status.service("web-terminal").http_status)
        """
        with self._session() as session:
            return self._one(pod_cases.pod_status(session, slug), slug)

    def logs(self, slug: str, service: str | None = None, *, lines: int = 200, follow: bool = False) -> Iterator[str]:
        """The pod container's log lines, or ``service``'s (``pinacle logs``); with ``follow`` the
        iterator keeps yielding new lines until it is closed. UsageError for an unknown service.

        **Example:**

        .. code:: python

            for line in pods.logs("api-example", "web-terminal", lines=20):
                print(line, end="")
        """
        with self._session() as session:
            host, record = self._container(session, slug)
            argv = pod_cases.log_argv(record, service, lines, follow)
        return executor.output_lines(host, argv)

    def _container(self, session: executor.Session, slug: str) -> tuple[Any, ContainerRecord]:
        return self._one(pod_cases.pods(session, slug), slug)

    def exec(
        self,
        slug: str,
        command: Sequence[str],
        *,
        root: bool = False,
        stdin: str | bytes | None = None,
        on_output: executor.OutputCallback | None = None,
    ) -> ExecResult:
        """Run ``command`` (an argv, never a shell string) in the pod as its user ``dev`` in
        ``/workspace``, or as root with ``root`` (``pinacle exec``). ``stdin`` is passed to it;
        ``on_output("stdout" | "stderr", line)`` sees each line as it is printed. A non-zero exit
        is a result, not an error.

        **Example:**

        .. code:: python

            result = pods.exec("api-example", ["sh", "-c", "cat > note.txt; wc -c note.txt"], stdin="hello")
            assert result.ok and result.stdout.startswith("5 ")
        """
        argv = pod_cases.exec_argv(slug, list(command), root)
        data = stdin.encode() if isinstance(stdin, str) else stdin
        with self._session() as session:
            host, _record = self._container(session, slug)
            code, out, err = executor.run_captured(host, argv, data, on_output)
        return ExecResult(code, out, err)

    def doctor(self, *, image: str = "pinacle/base:latest", runtime: str = "runsc") -> list[HostReport]:
        """Check every host (``pinacle doctor``): Docker, the gVisor runtime, pools, ports, the
        image and every pod. Nothing is changed.

        **Example:**

        .. code:: python

            assert all(report.ok for report in pods.doctor())
        """
        with self._session() as session:
            return doctor_checks.doctor(session, image=image, runtime=runtime, settings=self.settings)

    # -- day 2 -----------------------------------------------------------------------------

    def stop(self, slug: str) -> bool:
        """Stop a pod, keeping its port, network, workspace and config; False if it was stopped.

        **Example:**

        .. code:: python

            pods.stop("api-example")
        """
        with self._locked(slug), self._session() as session:
            return pod_cases.stop(session, slug) > 0

    def start(self, slug: str, *, timeout: float | None = None, progress: ProgressCallback | None = None) -> PodStatus:
        """Start a stopped pod on its port and wait until its services answer.

        **Example:**

        .. code:: python

            assert pods.start("api-example").healthy
        """
        with self._locked(slug), self._session() as session:
            wait = self.timeout if timeout is None else timeout
            return self._one(pod_cases.start(session, slug, wait, self._progress(progress)), slug)

    def delete(self, slug: str, *, purge: bool = False) -> bool:
        """Remove a pod's container, network and record (and its workspace with ``purge``); False
        if there was nothing to remove.

        **Example:**

        .. code:: python

            pods.delete("api-example-copy", purge=True)
        """
        with self._locked(slug), self._session() as session:
            return pod_cases.delete(session, slug, purge)

    # -- access at the edge ----------------------------------------------------------------

    def pod_token(self, slug: str, *, rotate: bool = False) -> PodToken:
        """The pod's secret at its host's edge (``pinacle token``); ``rotate`` replaces it first,
        which at once logs out every browser of the pod and voids its login links.

        **Example:**

        .. code:: python

            old = pods.pod_token("api-example").secret
            assert pods.pod_token("api-example", rotate=True).secret != old
        """
        with self._locked(slug), self._session() as session:
            return access_cases.pod_token(session, slug, rotate)

    def login_url(self, slug: str, service: str | None = None, *, ttl: int = LOGIN_TTL_DEFAULT) -> LoginLink:
        """A one-time login link to the edge host name of ``service``, or of the pod's main page
        (``pinacle open``): usable once, for ``ttl`` seconds; visiting it sets the pod's cookie.
        UsageError for a service the pod does not run.

        **Example:**

        .. code:: python

            link = pods.login_url("api-example", "web-terminal")
            print(link.url)  # http://localhost-7681.pod-api-example.localhost/__pinacle/login?t=...
        """
        with self._session() as session:
            return access_cases.login_link(session, slug, service, ttl)

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self, slug: str, name: str | None = None) -> SnapshotInfo:
        """Snapshot a pod: its root filesystem as an image, its workspace as an archive
        (``pinacle snapshot``); ConflictError if ``name`` is taken.

        **Example:**

        .. code:: python

            snap = pods.snapshot("api-example", "api-example-v1")
            print(snap.image, snap.size_bytes)
        """
        with self._locked(slug), self._session() as session:
            return self._one(snapshot_cases.snapshot(session, slug, name), slug)

    def list_snapshots(self) -> list[SnapshotInfo]:
        """Every snapshot on the target (``pinacle snapshot list``).

        **Example:**

        .. code:: python

            names = [s.name for s in pods.list_snapshots()]
        """
        with self._session() as session:
            return snapshot_cases.list_snapshots(session)

    def restore(
        self,
        name: str,
        slug: str | None = None,
        *,
        replace: bool = False,
        timeout: float | None = None,
        progress: ProgressCallback | None = None,
    ) -> PodStatus:
        """Bring a pod back from snapshot ``name`` (``pinacle restore``): as its own slug, or as
        ``slug``. An existing pod of that slug is a ConflictError unless ``replace``, which rolls
        it back (its workspace is overwritten, its host port kept). SnapshotNotFound if absent.

        **Example:**

        .. code:: python

            copy = pods.restore("api-example-v1", "api-example-copy")
        """
        if slug is None:
            with self._session() as session:
                found = snapshot_cases.find_snapshot(session, name)
            if not found:
                raise SnapshotNotFound(f"no snapshot {name} on {self.target}")
            slug = found[0][1].source
        with self._locked(slug), self._session() as session:
            wait = self.timeout if timeout is None else timeout
            restored = snapshot_cases.restore(session, name, slug, wait, self._progress(progress), replace=replace)
            return self._one(restored, slug)

    def delete_snapshot(self, name: str) -> bool:
        """Remove a snapshot's image and archive; False if there was none. ConflictError while a
        pod runs from it.

        **Example:**

        .. code:: python

            pods.delete_snapshot("api-example-v1")
        """
        with self._session() as session:
            return snapshot_cases.delete_snapshot(session, name)

    def prune_snapshots(self, *, dry_run: bool = False) -> list[SnapshotInfo]:
        """Remove what interrupted snapshots left (``pinacle snapshot prune``): incomplete
        snapshots whole, stray temporary images and partial files beside complete ones; snapshots
        being taken now are left alone. The snapshots that had leftovers; ``dry_run`` only lists them.

        **Example:**

        .. code:: python

            leftovers = pods.prune_snapshots(dry_run=True)
            print([s.name for s in leftovers])
        """
        with self._session() as session:
            return snapshot_cases.prune_snapshots(session, dry_run=dry_run)

    # -- fleets ----------------------------------------------------------------------------

    def move(
        self, slug: str, to: str, *, timeout: float | None = None, progress: ProgressCallback | None = None
    ) -> PodStatus:
        """Carry pod ``slug`` to host ``to`` of the target's inventory (``pinacle move SLUG --to HOST``):
        stopped, snapshotted, its image and workspace carried (the archive checked by SHA-256),
        restored on ``to`` under the same slug, then removed with its workspace from the host it
        left. Its record on ``to``.

        + slug: the pod, on any host of the target
        + to: the name of the inventory host to carry it to
        + timeout: seconds its services have to answer on ``to`` (default: the manager's)
        + progress: called for each step (default: the manager's)

        At most one copy runs (the source is stopped before the copy starts) and a copy of the
        workspace is on disk throughout; a move interrupted anywhere is finished by calling it
        again. Raises TargetError for a host the inventory lacks or that does not answer,
        PodNotFound if no host holds the pod, ConflictError if several do, HostError when a host
        cannot give or take it, HealthError when its services stay unhealthy on ``to``.

        **Example:**

        .. code:: python

            fleet = PodManager("inventory/fleet-test.py")  # a fleet: every host of the inventory
            moved = fleet.move("apimove-example", to="fleet-host2")
            print(moved.host, moved.healthy)  # fleet-host2 True
        """
        with self._locked(slug):
            wait = self.timeout if timeout is None else timeout
            records = move_cases.move(self.target, slug, to, wait, self._progress(progress))
            return self._one(records, slug)

    def drain(
        self, host: str, *, timeout: float | None = None, progress: ProgressCallback | None = None
    ) -> list[PodStatus]:
        """Mark ``host`` drained, so that placement puts no new pod there, and move each of its pods
        to the host with the most room among those its ``placement:`` allows (``pinacle drain
        HOST``); the moved pods' records, where they went.

        + host: the name of the inventory host to empty
        + timeout: seconds each moved pod's services have to answer (default: the manager's)
        + progress: called for each step (default: the manager's)

        Each pod is moved as :meth:`move` moves it, under that pod's lock. Called again, it
        finishes what an interrupted drain left. Raises TargetError for a host the inventory
        lacks, HostError when no other host can take a pod (the host stays drained), and what
        :meth:`move` raises.

        **Example:**

        .. code:: python

            drained = fleet.drain("fleet-host2")
            print([(pod.slug, pod.host) for pod in drained])  # where each of its pods went
        """
        wait = self.timeout if timeout is None else timeout
        return move_cases.drain(self.target, host, wait, self._progress(progress), lock=self._locked)

    def undrain(self, host: str) -> None:
        """Let placement put new pods on ``host`` again, after :meth:`drain` (``pinacle undrain
        HOST``). Its pods are not moved back.

        + host: the name of the inventory host

        Raises TargetError for a host the inventory lacks or that does not answer, HostError when
        its drained mark cannot be removed.

        **Example:**

        .. code:: python

            fleet.undrain("fleet-host2")
        """
        move_cases.undrain(self.target, host)

    # -- other platforms ---------------------------------------------------------------------

    def export_kubernetes(self, pod: PodSource, options: KubernetesOptions | None = None) -> list[Manifest]:
        """The pod as Kubernetes objects (``pinacle export k8s``): ConfigMap, Secret (only with
        env), Service, StatefulSet and Ingress, as dicts in apply order. Pure: no target is read.

        Raises SpecError for a bad pod, as :meth:`apply` would. Without ``options``, the pod's host
        names use this manager's domain.

        **Example:**

        .. code:: python

            from pinacle import KubernetesOptions

            objects = pods.export_kubernetes(spec, KubernetesOptions(namespace="dev"))
            print([o["kind"] for o in objects])  # ConfigMap, Service, StatefulSet, Ingress
        """
        spec = pod if isinstance(pod, PodSpec) else resolve(pod)
        return render_kubernetes_objects(spec, options or KubernetesOptions(domain=self.settings.domain))
