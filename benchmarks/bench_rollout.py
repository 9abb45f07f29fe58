"""One pod from nothing to healthy with pinacle-deploy, next to the plain Docker commands doing the same.

Run on a provisioned host: ``python benchmarks/bench_rollout.py [--rounds 5] [--before SRC]``.
Prints figures; asserts nothing. ``--before SRC`` also times pinacle from another source tree (e.g.
``git archive main src | tar -x -C /tmp/before``, then ``--before /tmp/before/src``) in the same
rounds. Rounds are interleaved (pinacle, then each baseline) so that a machine getting busier or
quieter weighs on all of them alike. Both baselines do the same job as pinacle: a network of the
pod's own, the same image under the same runtime with the same workspace volume, the same router
and supervisor programs (rendered by pinacle's own pure planner), and a wait until the same health
URLs answer through the router.

- ``docker create`` + ``docker cp`` + ``docker start``: the best plain sequence (configure, then start);
- ``docker run`` + one ``docker exec`` writing the config and reloading: the naive one.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from pinacle.operations.pod_commands import files_tar  # noqa: E402
from pinacle.pod.desired import PodPlan, plan_pod  # noqa: E402
from pinacle.pod.settings import DeploySettings  # noqa: E402
from pinacle.spec import AppPortSpec, PodSpec  # noqa: E402

IMAGE = "pinacle/base:latest"
APP = "python3 -m http.server 3000 --directory /workspace"
POD = """name: bench
slug: {slug}
services: [web-terminal]
ports:
  - name: app
    port: 3000
    command: {app}
resources: {{cpus: 1, memory: 512m}}
"""


def sh(*args: str, stdin: bytes | None = None) -> str:
    return subprocess.run(args, check=True, capture_output=True, input=stdin).stdout.decode().strip()


def cleanup(slug: str) -> None:
    for name in (f"pinacle-{slug}", f"plain-{slug}"):
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "network", "rm", name], capture_output=True)
    subprocess.run(
        ["docker", "volume", "rm", "-f", f"pinacle-{slug}-workspace", f"plain-{slug}-workspace"], capture_output=True
    )
    subprocess.run([sys.executable, "-m", "pinacle.cli.main", "delete", "-i", "@local", slug, "--purge"])


def status(port: int, host: str, path: str) -> int:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        connection.request("GET", path, headers={"Host": host})
        return connection.getresponse().status
    except OSError:
        return 0


def wait_healthy(plan: PodPlan, port: int, timeout: float = 120) -> None:
    """The same health rule and URLs as pinacle's: every route answers, through the router."""
    deadline = time.monotonic() + timeout
    pending = list(plan.routes)
    while pending and time.monotonic() < deadline:
        pending = [
            r for r in pending if not 200 <= status(port, r.host_name(plan.slug, plan.domain), r.health_path) < 400
        ]
        if pending:
            time.sleep(0.05)
    if pending:
        raise TimeoutError(f"not healthy: {[r.name for r in pending]}")


def plain_plan(slug: str) -> PodPlan:
    spec = PodSpec(
        name="plain", slug=slug, services=("web-terminal",), ports=(AppPortSpec(name="app", port=3000, command=APP),)
    )
    return plan_pod(spec, DeploySettings())


def create_args(slug: str, port: int) -> list[str]:
    return [
        "--name", f"plain-{slug}", "--runtime", "runsc", "--network", f"plain-{slug}", "--cpus", "1",
        "--memory", "512m", "-v", f"plain-{slug}-workspace:/workspace", "-p", f"127.0.0.1:{port}:80", IMAGE,
    ]  # fmt: skip


def plain_create_cp_start(slug: str, port: int) -> float:
    plan = plain_plan(slug)
    payload = files_tar(plan.config_files)
    start = time.perf_counter()
    sh("docker", "network", "create", f"plain-{slug}")
    sh("docker", "create", *create_args(slug, port))
    sh("docker", "cp", "-", f"plain-{slug}:/", stdin=payload)
    sh("docker", "start", f"plain-{slug}")
    wait_healthy(plan, port)
    return time.perf_counter() - start


def plain_run_exec(slug: str, port: int) -> float:
    plan = plain_plan(slug)
    payload = base64.b64encode(files_tar(plan.config_files)).decode()
    start = time.perf_counter()
    sh("docker", "network", "create", f"plain-{slug}")
    sh("docker", "run", "-d", *create_args(slug, port))
    script = (
        f"printf %s {payload} | base64 -d | tar -x -C / && "
        "until supervisorctl status nginx | grep -q RUNNING; do sleep 0.1; done && "
        "supervisorctl update >/dev/null && nginx -s reload"
    )
    sh("docker", "exec", f"plain-{slug}", "sh", "-c", script)
    wait_healthy(plan, port)
    return time.perf_counter() - start


def pinacle_rollout(slug: str, pod_file: Path, src: str | None = None) -> tuple[float, float]:
    """A new pod to healthy, then its no-change re-apply; with ``src``, pinacle from that tree."""
    pod_file.write_text(POD.format(slug=slug, app=APP))
    command = [sys.executable, "-m", "pinacle.cli.deploy", "-i", "@local", str(pod_file)]
    env = {**os.environ, "PYTHONPATH": src} if src else None
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    first = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return first, time.perf_counter() - start


def median(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}s (min {min(values):.2f}s, max {max(values):.2f}s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--prefix", default="bench", help="slugs are PREFIX-<random>")
    parser.add_argument("--before", metavar="SRC", help="also time pinacle from this source tree (its src/)")
    args = parser.parse_args()
    sh("docker", "image", "inspect", IMAGE)
    first, again, best, naive, before_first, before_again = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            slug = f"{args.prefix}-{uuid.uuid4().hex[:6]}"
            try:
                a, b = pinacle_rollout(slug, Path(tmp) / f"{slug}.yaml")
                first.append(a)
                again.append(b)
                cleanup(slug)
                if args.before:
                    a, b = pinacle_rollout(slug, Path(tmp) / f"{slug}.yaml", args.before)
                    before_first.append(a)
                    before_again.append(b)
                    cleanup(slug)
                best.append(plain_create_cp_start(slug, 39990))
                cleanup(slug)
                naive.append(plain_run_exec(slug, 39990))
            finally:
                cleanup(slug)
    print(f"rounds: {args.rounds} (interleaved); load average now {os.getloadavg()[0]:.1f}")
    print(f"pinacle-deploy, new pod to healthy:          {median(first)}")
    print(f"plain docker create + cp + start + wait:     {median(best)}")
    print(f"plain docker run + exec + wait:              {median(naive)}")
    ratio = statistics.median(first) / statistics.median(best)
    print(f"pinacle / best plain sequence:               {ratio:.2f}x")
    print(f"pinacle-deploy, no-change re-apply:          {median(again)}")
    if args.before:
        ratio = statistics.median(before_first) / statistics.median(best)
        print(f"before ({args.before}), new pod to healthy: {median(before_first)}, {ratio:.2f}x")
        print(f"before ({args.before}), no-change re-apply: {median(before_again)}")


if __name__ == "__main__":
    main()
