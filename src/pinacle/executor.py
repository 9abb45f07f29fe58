"""The one place that drives pyinfra's API: pick a target, connect, read facts, run deploys.

``@local`` is read without pyinfra: each read (:mod:`pinacle.readers`) is one ``sh -c`` subprocess
whose output goes to the same parser a pyinfra fact uses. pyinfra (a third of a second of imports)
is loaded, and its state built, only when a deploy has something to change. Every other target
(inventory files, ``@ssh/...``, ``lima``) is connected through pyinfra from the start, and its
reads go through pyinfra's connectors.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.util
import logging
import os
import platform
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from pinacle.errors import ConflictError, DeployError, HealthError, HostError, PortClaimLost, TargetError
from pinacle.pod.health import healthy
from pinacle.pod.names import LOCK_DIR
from pinacle.pod.observed import HostPods
from pinacle.pod.ports import CLAIM_LOST_MESSAGE
from pinacle.progress import Progress, silent
from pinacle.readers import Read, split_output
from pinacle.readers.host import docker_server
from pinacle.readers.pod import image_states_command, parse_pod_states, pod_states, route_status, statuses_for

if TYPE_CHECKING:
    from pyinfra.api import Inventory, State

    from pinacle.operations.pod_commands import Step
    from pinacle.pod.desired import PodPlan
    from pinacle.pod.diff import PodDiff
    from pinacle.router import Route

LIMA_TARGET = "lima"
LOCAL_TARGET = "@local"
K = TypeVar("K")
T = TypeVar("T")


def default_target(environ: Mapping[str, str] = os.environ, system: str | None = None) -> str:
    """``PINACLE_INVENTORY`` if set; else the Lima VM on macOS and this machine on Linux."""
    if target := environ.get("PINACLE_INVENTORY"):
        return target
    return LIMA_TARGET if (system or platform.system()) == "Darwin" else LOCAL_TARGET


def lazy_module(name: str) -> ModuleType:
    """Module ``name``, executed when one of its attributes is first used (``importlib.util.LazyLoader``).

    The use cases name the deploys they apply at import time, but a deploy module imports pyinfra,
    which a read-only command (or a re-apply that changes nothing) never needs.
    """
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"no module named {name!r}", name=name)
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


def make_inventory(target: str, state: State | None = None) -> Inventory:
    """An inventory file, ``@local``/``@ssh/...`` style host, or ``lima`` (the dev VM).

    Inventory files run with a state in context, as under pyinfra's CLI (which pinacle does not
    import: it monkey-patches the process for gevent): pass the session's uninitialised ``state``.
    """
    from pyinfra.api import Inventory, State
    from pyinfra.context import ctx_state

    if target == LIMA_TARGET or target.startswith(f"{LIMA_TARGET}:"):
        from pinacle.lima import lima_inventory_hosts

        # "lima" is the instance $PINACLE_LIMA_INSTANCE names (or the default), "lima:NAME" that one.
        return Inventory((lima_inventory_hosts(target.partition(":")[2] or None), {}))
    if target.startswith("@"):
        # A connector host (@local, @ssh/...): no inventory file to run, so no need to load
        # pyinfra's CLI (a fifth of a second of imports).
        return Inventory(([target], {}))
    from pinacle.inventory_file import load_inventory_file

    if not os.path.exists(target):
        raise TargetError(f"inventory {target!r} is neither a file nor a @connector host")
    try:
        with ctx_state.use(state or State()):
            inventory = load_inventory_file(target)
    except Exception as exc:  # the inventory file is user code; any failure is a target error
        raise TargetError(f"could not load inventory {target}: {exc}") from exc
    if not len(inventory):
        raise TargetError(f"inventory {target} has no hosts")
    return inventory


@dataclass
class ApplyResult:
    """What one run did, per host: the names of operations that changed something."""

    changed: dict[str, list[str]] = field(default_factory=dict)

    @property
    def change_count(self) -> int:
        return sum(len(v) for v in self.changed.values())


# command -> its process, started ahead on @local by read_ahead() and taken by the next read of it
_READ_AHEAD: dict[str, subprocess.Popen[bytes]] = {}


def _sh(command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["sh", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def read_ahead(target: str, *readers: Read[Any]) -> None:
    """Start ``readers`` now, in the background, when ``target`` is ``@local``; elsewhere nothing.

    For a command about to read the host: Docker answers while Python imports the rest of pinacle.
    The next read of the same command on ``@local`` takes that output instead of running it again;
    one that is never taken only read the host.
    """
    if target != LOCAL_TARGET:
        return
    for reader in readers:
        if reader.command not in _READ_AHEAD:
            _READ_AHEAD[reader.command] = _sh(reader.command)


@contextlib.contextmanager
def reading_ahead(target: str, *readers: Read[Any]) -> Iterator[None]:
    """:func:`read_ahead` of ``readers`` for the block; what it did not take is discarded at its
    end, so a later block (the Python API lives on) never takes an output read before it."""
    read_ahead(target, *readers)
    try:
        yield
    finally:
        for reader in readers:
            if (process := _READ_AHEAD.pop(reader.command, None)) is not None:
                process.communicate()


@atexit.register
def _wait_for_reads_ahead() -> None:
    while _READ_AHEAD:
        _READ_AHEAD.popitem()[1].communicate()


class LocalHost:
    """This machine, as the ``@local`` target: read with subprocesses, no pyinfra needed.

    It stands where a pyinfra host would (``name``), and pyinfra's own ``@local`` host of the same
    name carries out deploys once a session applies one.
    """

    name = LOCAL_TARGET

    def run(self, command: str) -> list[str]:
        """The output lines of ``sh -c COMMAND``; HostError naming the command's error when it fails.

        Reads print their failures on standard output for their parsers (and exit 0); a read
        that exits non-zero fails here, as pyinfra fails a host whose fact command failed.
        """
        process = _READ_AHEAD.pop(command, None) or _sh(command)
        stdout, stderr = process.communicate()
        if process.returncode != 0:
            error = " ".join(split_output(stderr)[-5:]) or f"exit status {process.returncode}"
            raise HostError(f"{self.name}: reading the host failed: {error}")
        return split_output(stdout)

    def has_read_ahead(self, command: str) -> bool:
        return command in _READ_AHEAD

    def run_steps(self, target: str, steps: Sequence[Step]) -> ApplyResult:
        """Run each step's commands in order, as pyinfra runs a deploy's operations on one host.

        The first command that fails ends the run: DeployError with the last lines it printed on
        stderr (PortClaimLost when it says a concurrent deploy claimed the port), as
        :meth:`Session.apply` words a failed operation.
        """
        changed: list[str] = []
        for step in steps:
            for command in step.commands:
                done = _run_shell(command)
                if done.returncode != 0:
                    error = " ".join(split_output(done.stderr)[-5:]) or f"exit status {done.returncode}"
                    detail = f"{self.name}: {step.name}: {error}"
                    if CLAIM_LOST_MESSAGE in detail:
                        raise PortClaimLost(f"deploy on {target} lost a port claim:\n{detail}")
                    raise DeployError(f"deploy failed on {target}:\n{detail}")
            if step.commands:
                changed.append(step.name)
        return ApplyResult({self.name: changed})

    def __repr__(self) -> str:
        return f"LocalHost({self.name!r})"


def _run_shell(command: str) -> subprocess.CompletedProcess[bytes]:
    """``sh -c command``; one too long for a command line runs from a staged script, as pyinfra runs it."""
    from pinacle.operations._shell import fits_inline, staged_command

    if fits_inline(command):
        return subprocess.run(["sh", "-c", command], capture_output=True, stdin=subprocess.DEVNULL, check=False)
    staged = ["sh", "-c", staged_command(command)]
    return subprocess.run(staged, capture_output=True, input=command.encode(), check=False)


def read(host: Any, reader: Read[T]) -> T:
    """What ``reader`` reads on ``host``: on ``@local`` one subprocess, elsewhere through pyinfra."""
    if isinstance(host, LocalHost):
        return reader.result(host.run(reader.command))
    from pinacle.facts.shell import ShellOutput

    lines: list[str] = host.get_fact(ShellOutput, command=reader.command)
    return reader.result(lines)


class Session:
    """One target's hosts: read at once, connected through pyinfra when needed.

    On ``@local`` the pyinfra state is built by the first :meth:`apply`; on every other target
    when the session opens (to learn its hosts, pyinfra connects to them).
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self._state: State | None = None
        self._pyinfra_hosts: list[Any] = []
        # Inventory hosts that did not answer when the session connected (a fleet goes on without them).
        self.unreachable: dict[str, str] = {}
        self._connect_failed: set[Any] = set()
        self.hosts: list[Any] = [LocalHost()] if target == LOCAL_TARGET else self._connect()

    def _connect(self) -> list[Any]:
        from pyinfra.api import Config, State

        from pinacle.connect import connect_hosts

        logging.getLogger("pyinfra").setLevel(logging.ERROR)
        # Operations act on a diff computed beforehand, so pyinfra need not run each one a second
        # time while preparing just to learn whether it would change something.
        state = State(check_for_changes=False)
        state.init(make_inventory(self.target, state), Config())
        state.print_noop_info = False
        from pyinfra.connectors.local import LocalConnector

        from pinacle.connector import ThreadSafeLocalConnector

        for pyinfra_host in state.inventory:
            if type(pyinfra_host.connector) is LocalConnector:  # callable from any thread, not only the main one
                pyinfra_host.connector = ThreadSafeLocalConnector(state, pyinfra_host)
        hosts, self.unreachable = connect_hosts(state, self.target)
        self._connect_failed = set(state.failed_hosts)
        self._state, self._pyinfra_hosts = state, hosts
        return hosts

    @property
    def state(self) -> State:
        """The connected pyinfra state (built now on ``@local`` if no deploy needed it yet)."""
        if self._state is None:
            self._connect()
        assert self._state is not None
        return self._state

    def close(self) -> None:
        if self._state is not None:
            from pyinfra.api.connect import disconnect_all

            disconnect_all(self._state)
            # pyinfra's SSH connector keeps its client open on disconnect (it only drops its SFTP
            # cache): close it, or a long-lived PodManager holds one connection per host per call.
            for pyinfra_host in self._state.inventory:
                client = getattr(pyinfra_host.connector, "client", None)
                if client is not None and callable(getattr(client, "close", None)):
                    client.close()
                    pyinfra_host.connector.client = None  # type: ignore[attr-defined]

    @property
    def fleet(self) -> bool:
        """Does the target have several hosts (answering or not)? Then each pod lives on one of them."""
        return len(self.hosts) + len(self.unreachable) > 1

    @property
    def local(self) -> bool:
        """Is this the ``@local`` target, read (and rolled out) without pyinfra?"""
        return self.target == LOCAL_TARGET

    def read(self, host: Any, reader: Read[T]) -> T:
        return read(host, reader)

    def read_all(self, reader: Read[T]) -> dict[str, T]:
        """Host name -> what ``reader`` reads there, for every host that answered, at once.

        Through pyinfra, the hosts are read in parallel (its own greenlet pool, as it gathers
        facts), but only from the main thread: gevent's hub is per thread, so a call from another
        thread (the Python API is thread-safe) reads the hosts one after another.
        """
        if len(self.hosts) == 1 or threading.current_thread() is not threading.main_thread():
            return {host.name: read(host, reader) for host in self.hosts}
        from pyinfra.api.facts import get_facts

        from pinacle.facts.shell import ShellOutput

        lines = get_facts(self.state, ShellOutput, kwargs={"command": reader.command})
        return {host.name: reader.result(lines[host]) for host in self.hosts}

    def fact(self, host: Any, cls: type, **kwargs: Any) -> Any:
        """A pyinfra fact class read on ``host`` (on ``@local`` its command and parser, run directly)."""
        if isinstance(host, LocalHost):
            fact = cls()
            lines = host.run(str(fact.command(**kwargs)))
            return fact.process(lines) if lines else fact.default()
        return host.get_fact(cls, **kwargs)

    def apply(self, deploy_func: Callable[..., Any], on: Sequence[Any] | None = None, **kwargs: Any) -> ApplyResult:
        """Add a ``@deploy`` to the state and run it; raise DeployError naming what failed.

        + on: the hosts to run it on (of :attr:`hosts`); default every host that answered. On a
          fleet a day-2 change runs only where the pod is.
        """
        from pyinfra.api.deploy import add_deploy
        from pyinfra.api.exceptions import PyinfraError
        from pyinfra.api.operations import run_ops

        state = self.state
        if on is not None:
            chosen = {host.name for host in on}
            kwargs["host"] = [host for host in self._pyinfra_hosts if host.name in chosen]
        add_deploy(state, deploy_func, **kwargs)
        aborted = ""
        try:
            run_ops(state)
        except PyinfraError as exc:
            aborted = str(exc)
        result = ApplyResult()
        failed: list[str] = []
        for host in self._pyinfra_hosts:
            names: list[str] = []
            for op_hash in state.get_op_order():
                op_data = state.ops[host].get(op_hash)
                if op_data is None:
                    continue
                meta = op_data.operation_meta
                label = ", ".join(state.get_op_meta(op_hash).names)
                if meta.is_complete() and meta.did_error():
                    failed.append(f"{host.name}: {label}: {' '.join(meta.stderr_lines[-5:])}")
                elif meta.is_complete() and meta.did_change():
                    names.append(label)
            result.changed[host.name] = names
        if failed or aborted or set(state.failed_hosts) - self._connect_failed:
            detail = "\n".join(failed) or aborted
            if CLAIM_LOST_MESSAGE in detail:
                raise PortClaimLost(f"deploy on {self.target} lost a port claim:\n{detail}")
            raise DeployError(f"deploy failed on {self.target}:\n{detail}")
        return result


@contextmanager
def session(target: str) -> Iterator[Session]:
    logging.getLogger("pyinfra").setLevel(logging.ERROR)
    current = Session(target)
    try:
        yield current
    finally:
        current.close()


def roll_out_pods(session: Session, diffs: Mapping[str, Sequence[tuple[PodDiff, str | None]]]) -> ApplyResult:
    """Roll out the pods of ``diffs`` (host name -> (diff, image ID) of each pod to change there).

    On ``@local`` the rollout operations' commands (:mod:`pinacle.operations.pod_commands`) run
    directly, pod by pod, without loading pyinfra; elsewhere the ``roll_out_pods`` deploy runs
    the same operations through pyinfra.
    """
    if session.local:
        from pinacle.operations.pod_commands import rollout_steps

        [host] = session.hosts
        return run_locally(session, [s for diff, image in diffs.get(host.name, ()) for s in rollout_steps(diff, image)])
    from pinacle.deploys.pod import roll_out_pods as deploy

    return session.apply(deploy, diffs=diffs)


def run_locally(session: Session, steps: Sequence[Step]) -> ApplyResult:
    """Run a pod deploy's ``steps`` on ``@local`` as its ``@deploy`` would, without pyinfra: in
    order, then the edge's pod-table refresh that ends every pod deploy (read after them)."""
    [host] = session.hosts
    result: ApplyResult = host.run_steps(session.target, steps)
    edge = host.run_steps(session.target, [edge_refresh_step(host)])
    result.changed[host.name] += edge.changed[host.name]
    return result


def edge_refresh_step(host: Any) -> Step:
    """The pod-table refresh that ends a rollout deploy (``operations.edge.edge_table_refreshed``),
    read now, after the rollout's own steps ran."""
    from pinacle.edge.commands import refresh_commands
    from pinacle.operations.pod_commands import Step
    from pinacle.readers.edge import edge_state, edge_table

    edge = read(host, edge_state())
    if edge is None or not edge.enabled:
        return Step("Edge pod table", ())
    pods = observe_pods(host) if docker_is_up(host) else None
    return Step("Edge pod table", tuple(refresh_commands(edge, pods, read(host, edge_table()))))


def observe_pods(host: Any, images: tuple[str, ...] = ()) -> HostPods:
    """Every pod on ``host`` (and the IDs and services of ``images``), in one round trip.

    On ``@local``, a read of the pods started ahead (:func:`read_ahead` of ``pod_states()``) is
    taken, and only the images are read now.
    """
    ahead = pod_states().command
    if images and isinstance(host, LocalHost) and host.has_read_ahead(ahead):
        return parse_pod_states(host.run(ahead) + host.run(image_states_command(images)))
    return read(host, pod_states(images))


def docker_is_up(host: Any) -> bool:
    return read(host, docker_server()) is not None


def route_statuses(host: Any, urls: Mapping[K, str]) -> dict[K, int]:
    """key -> HTTP status of each URL (key -> URL), all requested in parallel; 0 for no answer."""
    if not urls:
        return {}
    answered = read(host, route_status(tuple(sorted(set(urls.values())))))
    return statuses_for(urls, answered)


def health_urls(plan: PodPlan, host_port: int) -> dict[str, str]:
    """Route name -> the URL its health check requests through the pod's router."""
    return route_health_urls(plan.slug, plan.domain, plan.routes, host_port)


def route_health_urls(slug: str, domain: str, routes: Sequence[Route], host_port: int) -> dict[str, str]:
    return {r.name: r.url(slug, domain, host_port).rstrip("/") + r.health_path for r in routes}


def wait_until_healthy(
    host: Any,
    plan: PodPlan,
    host_port: int,
    timeout: float,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Poll each route through the router until every service answers, or raise HealthError."""
    return wait_until_all_healthy(host, [(plan, host_port)], timeout, progress)[plan.slug]


# A gVisor pod serves about two seconds after it starts: poll often while it is likely to come up
# (a round is one request of every URL at once, a few milliseconds on @local), then less.
POLL_PAUSE = 0.05
POLL_OFTEN_FOR = 10.0
POLL_PAUSE_LATER = 0.5


def wait_until_all_healthy(
    host: Any,
    pods: Sequence[tuple[PodPlan, int]],
    timeout: float,
    progress: Progress | None = None,
) -> dict[str, dict[str, int]]:
    """Poll every route of ``pods`` (plan, host port) at once until all answer; slug -> statuses.

    One request of all URLs in parallel per round, so many pods cost about as much as one.
    """
    step = progress or silent()
    deadline = time.monotonic() + timeout
    urls = {(plan.slug, name): url for plan, port in pods for name, url in health_urls(plan, port).items()}
    reported: set[tuple[str, str]] = set()
    pause, often_until = POLL_PAUSE, time.monotonic() + POLL_OFTEN_FOR
    while True:
        last = route_statuses(host, urls)
        for key, status in last.items():
            if healthy(status) and key not in reported:
                reported.add(key)
                message = f"{key[1]} is healthy (HTTP {status})" + (f" in {key[0]}" if len(pods) > 1 else "")
                step("healthy", message, key[0], host.name)
        if all(healthy(s) for s in last.values()):
            by_pod: dict[str, dict[str, int]] = {plan.slug: {} for plan, _port in pods}
            for (slug, name), status in last.items():
                by_pod[slug][name] = status
            return by_pod
        if time.monotonic() > deadline:
            waiting = ", ".join(f"{n} (HTTP {s:03d})" for (_p, n), s in sorted(last.items()) if not healthy(s))
            slugs = sorted({slug for (slug, _n), s in last.items() if not healthy(s)})
            raise HealthError(
                f"pod {', '.join(slugs)}: not healthy after {timeout:.0f}s: {waiting}; see `pinacle logs {slugs[0]}`"
            )
        time.sleep(pause)
        pause = POLL_PAUSE if time.monotonic() < often_until else POLL_PAUSE_LATER


def is_local(host: Any) -> bool:
    if isinstance(host, LocalHost):
        return True
    from pyinfra.connectors.local import LocalConnector

    return isinstance(getattr(host, "connector", None), LocalConnector)


def _local_argv(host: Any, argv: list[str], tty: bool = False) -> list[str] | None:
    """The argv that runs ``argv`` on ``host`` from this machine, or None when only the host's
    pyinfra connector can run it (no exit code, no streaming)."""
    if is_local(host):
        return argv
    from pyinfra.connectors.ssh import SSHConnector

    if isinstance(getattr(host, "connector", None), SSHConnector):
        from pinacle.ssh import SSH_DATA_KEYS, ssh_argv

        data = {key: host.data.get(key) for key in SSH_DATA_KEYS}
        return ssh_argv(host.name, data, argv, tty=tty)
    return None


def stream(host: Any, argv: list[str], interactive: bool = False) -> int:
    """Run ``argv`` (a ``docker ...`` command) with its output streamed to ours; its exit code.

    The one place streaming commands (``logs --follow``, ``exec``) reach a host: on ``@local`` a
    plain subprocess that inherits our terminal; on SSH hosts the ``ssh`` client, built from the
    host's pyinfra data (stdin, TTY and exit code pass through); elsewhere the host's pyinfra
    connector, which prints the output once the command ends and only tells success from failure.
    """
    if (local := _local_argv(host, argv, tty=interactive)) is not None:
        return subprocess.call(local)
    ok, _output = host.run_shell_command(shlex.join(argv), print_output=True, print_input=False)
    return 0 if ok else 1


OutputCallback = Callable[[str, str], None]
"""Called with ``("stdout" | "stderr", line)`` as a command prints each line."""


def run_captured(
    host: Any, argv: list[str], stdin: bytes | None = None, on_output: OutputCallback | None = None
) -> tuple[int, str, str]:
    """Run ``argv`` on ``host``; (exit code, stdout, stderr), each line also handed to ``on_output``
    as it arrives. Through a connector other than local or SSH the output comes at the end and the
    exit code is 0 or 1."""
    local = _local_argv(host, argv)
    if local is None:
        if stdin is not None:
            raise DeployError(f"{host.name}: its connector cannot pass standard input to a command")
        ok, output = host.run_shell_command(shlex.join(argv), print_output=False, print_input=False)
        out, err = "\n".join(output.stdout_lines), "\n".join(output.stderr_lines)
        for name, text in (("stdout", out), ("stderr", err)):
            for line in text.splitlines(keepends=True):
                if on_output is not None:
                    on_output(name, line)
        return (0 if ok else 1), out, err
    process = subprocess.Popen(
        local,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    captured: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def pump(name: str, pipe: Any) -> None:
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", errors="replace")
            captured[name].append(line)
            if on_output is not None:
                on_output(name, line)
        pipe.close()

    readers = [
        threading.Thread(target=pump, args=("stdout", process.stdout), daemon=True),
        threading.Thread(target=pump, args=("stderr", process.stderr), daemon=True),
    ]
    for reader in readers:
        reader.start()
    if stdin is not None and process.stdin is not None:
        with contextlib.suppress(BrokenPipeError):  # the command may exit without reading it all
            process.stdin.write(stdin)
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
    code = process.wait()
    for reader in readers:
        reader.join()
    return code, "".join(captured["stdout"]), "".join(captured["stderr"])


def output_lines(host: Any, argv: list[str]) -> Iterator[str]:
    """The lines ``argv`` prints on ``host`` (stdout and stderr together), as they come.

    Closing the iterator early (``break``, garbage collection) ends the command.
    """
    local = _local_argv(host, argv)
    if local is None:
        _ok, output = host.run_shell_command(shlex.join(argv), print_output=False, print_input=False)
        yield from (f"{line}\n" for line in output.stdout_lines)
        return
    process = subprocess.Popen(local, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert process.stdout is not None
    try:
        for raw in iter(process.stdout.readline, b""):
            yield raw.decode("utf-8", errors="replace")
    finally:
        if process.poll() is None:
            process.terminate()
        process.stdout.close()
        process.wait()


LOCK_HELD = b"pinacle: lock held"


@contextmanager
def host_lock(host: Any, paths: str | Sequence[str], what: str, wait: int = 120) -> Iterator[None]:
    """Hold the flocks ``paths`` on ``host`` while the block runs; ConflictError naming ``what``
    if another run still holds one after ``wait`` seconds.

    A lock that spans several commands: one process on the host (``flock ... cat``) holds it for as
    long as its standard input, our pipe, stays open. However this run ends, even by SIGKILL, the
    pipe closes (for SSH hosts the ssh client's, then the remote channel's), ``cat`` exits and
    the lock is free: no stale lock to clear by hand. Through a connector other than local or
    SSH no lock is taken. The wait is per lock.
    """
    holder = f"echo {shlex.quote(LOCK_HELD.decode())}; exec cat >/dev/null"
    # Several locks: one flock inside the other, always taken in sorted order (no two runs deadlock).
    taking = " ".join(
        f"flock -w {int(wait)} {shlex.quote(path)}"
        for path in sorted({paths} if isinstance(paths, str) else set(paths))
    )
    script = f"mkdir -p -m 0700 {LOCK_DIR} && exec {taking} sh -c {shlex.quote(holder)}"
    argv = _local_argv(host, ["sh", "-c", script])
    if argv is None:
        yield
        return
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    try:
        if process.stdout.readline().strip() != LOCK_HELD:
            code = process.wait()
            detail = process.stderr.read().decode("utf-8", errors="replace").strip()
            if code == 1 and not detail:  # flock -w: the wait ran out
                raise ConflictError(f"{host.name}: {what} is busy: another run held it for {wait}s; try again")
            raise HostError(f"{host.name}: could not take the lock of {what}: {detail or f'exit status {code}'}")
        yield
    finally:
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def pipe_between(source: Any, source_argv: list[str], target: Any, target_argv: list[str]) -> None:
    """Run ``source_argv`` on ``source`` with its output piped, through this machine, into
    ``target_argv`` on ``target`` (``docker save | docker load`` between two hosts); DeployError
    naming the side that failed."""
    first, second = _local_argv(source, source_argv), _local_argv(target, target_argv)
    if first is None or second is None:
        raise DeployError("moving data between hosts needs @local or SSH hosts")
    sender = subprocess.Popen(first, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert sender.stdout is not None and sender.stderr is not None
    receiver = subprocess.Popen(second, stdin=sender.stdout, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sender.stdout.close()  # the receiver holds the pipe now: the sender sees EPIPE if it goes away
    _out, received_err = receiver.communicate()
    sent_err = sender.stderr.read()
    sender.wait()
    for host, argv, code, err in (
        (source, source_argv, sender.returncode, sent_err),
        (target, target_argv, receiver.returncode, received_err),
    ):
        if code != 0:
            detail = " ".join(err.decode("utf-8", errors="replace").split()[-40:]) or f"exit status {code}"
            raise DeployError(f"{host.name}: {shlex.join(argv)}: {detail}")
