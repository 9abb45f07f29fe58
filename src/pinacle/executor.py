"""The one place that drives pyinfra's API: pick a target, connect, read facts, run deploys."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import shlex
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyinfra.api import Config, Inventory, State
from pyinfra.api.connect import connect_all, disconnect_all
from pyinfra.api.deploy import add_deploy
from pyinfra.api.exceptions import PyinfraError
from pyinfra.api.operations import run_ops
from pyinfra.connectors.local import LocalConnector
from pyinfra.connectors.ssh import SSHConnector
from pyinfra.context import ctx_state

from pinacle.connector import ThreadSafeLocalConnector
from pinacle.errors import DeployError, HealthError, PortClaimLost, TargetError
from pinacle.facts.host import DockerServer
from pinacle.facts.pod import PodStates, RouteStatus, statuses_for
from pinacle.pod.desired import PodPlan
from pinacle.pod.health import healthy
from pinacle.pod.observed import HostPods
from pinacle.pod.ports import CLAIM_LOST_MESSAGE
from pinacle.progress import Progress, silent
from pinacle.ssh import SSH_DATA_KEYS, ssh_argv

LIMA_TARGET = "lima"
K = TypeVar("K")


def default_target(environ: Mapping[str, str] = os.environ, system: str | None = None) -> str:
    """``PINACLE_INVENTORY`` if set; else the Lima VM on macOS and this machine on Linux."""
    if target := environ.get("PINACLE_INVENTORY"):
        return target
    return LIMA_TARGET if (system or platform.system()) == "Darwin" else "@local"


def make_inventory(target: str, state: State | None = None) -> Inventory:
    """An inventory file, ``@local``/``@ssh/...`` style host, or ``lima`` (the dev VM).

    Inventory files run with a state in context, as under pyinfra's CLI (which pinacle does not
    import: it monkey-patches the process for gevent): pass the session's uninitialised ``state``.
    """
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


class Session:
    """A connected pyinfra state over one target's hosts."""

    def __init__(self, target: str) -> None:
        self.target = target
        # Operations act on a diff computed beforehand, so pyinfra need not run each one a second
        # time while preparing just to learn whether it would change something.
        self.state = State(check_for_changes=False)
        self.state.init(make_inventory(target, self.state), Config())
        self.state.print_noop_info = False
        for host in self.state.inventory:
            if type(host.connector) is LocalConnector:  # callable from any thread, not only the main one
                host.connector = ThreadSafeLocalConnector(self.state, host)
        connect_all(self.state)
        hosts = list(self.state.inventory.get_active_hosts())
        if not hosts:
            raise TargetError(f"could not connect to any host of {target}")
        self.hosts = hosts

    def close(self) -> None:
        disconnect_all(self.state)

    def fact(self, host: Any, cls: type, **kwargs: Any) -> Any:
        return host.get_fact(cls, **kwargs)

    def apply(self, deploy_func: Callable[..., Any], **kwargs: Any) -> ApplyResult:
        """Add a ``@deploy`` to the state and run it; raise DeployError naming what failed."""
        add_deploy(self.state, deploy_func, **kwargs)
        aborted = ""
        try:
            run_ops(self.state)
        except PyinfraError as exc:
            aborted = str(exc)
        result = ApplyResult()
        failed: list[str] = []
        for host in self.hosts:
            names: list[str] = []
            for op_hash in self.state.get_op_order():
                op_data = self.state.ops[host].get(op_hash)
                if op_data is None:
                    continue
                meta = op_data.operation_meta
                label = ", ".join(self.state.get_op_meta(op_hash).names)
                if meta.is_complete() and meta.did_error():
                    failed.append(f"{host.name}: {label}: {' '.join(meta.stderr_lines[-5:])}")
                elif meta.is_complete() and meta.did_change():
                    names.append(label)
            result.changed[host.name] = names
        if failed or aborted or self.state.failed_hosts:
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


def observe_pods(host: Any, images: tuple[str, ...] = ()) -> HostPods:
    """Every pod on ``host`` (and the IDs and services of ``images``), in one round trip."""
    result: HostPods = host.get_fact(PodStates, images=tuple(sorted(set(images))))
    return result


def docker_is_up(host: Any) -> bool:
    return host.get_fact(DockerServer) is not None


def route_statuses(host: Any, urls: Mapping[K, str]) -> dict[K, int]:
    """key -> HTTP status of each URL (key -> URL), all requested in parallel; 0 for no answer."""
    answered: dict[str, int] = host.get_fact(RouteStatus, urls=tuple(sorted(set(urls.values()))))
    return statuses_for(urls, answered)


def health_urls(plan: PodPlan, host_port: int) -> dict[str, str]:
    """Route name -> the URL its health check requests through the pod's router."""
    return {r.name: r.url(plan.slug, plan.domain, host_port).rstrip("/") + r.health_path for r in plan.routes}


def wait_until_healthy(
    host: Any,
    plan: PodPlan,
    host_port: int,
    timeout: float,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Poll each route through the router until every service answers, or raise HealthError."""
    return wait_until_all_healthy(host, [(plan, host_port)], timeout, progress)[plan.slug]


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
    pause = 0.05  # a gVisor pod is serving about two seconds after it starts: poll often, then less
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
        pause = min(pause * 1.5, 0.2)


def is_local(host: Any) -> bool:
    return isinstance(getattr(host, "connector", None), LocalConnector)


def _local_argv(host: Any, argv: list[str], tty: bool = False) -> list[str] | None:
    """The argv that runs ``argv`` on ``host`` from this machine, or None when only the host's
    pyinfra connector can run it (no exit code, no streaming)."""
    if is_local(host):
        return argv
    if isinstance(getattr(host, "connector", None), SSHConnector):
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
