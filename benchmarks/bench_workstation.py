"""A workstation pod (code-server, web terminal, Claude Code, Vibe Kanban): time to healthy and memory.

Run on a provisioned host with the workstation image built:
``python benchmarks/bench_workstation.py [--rounds 3] [--idle 30]``. Prints figures; asserts nothing.

- pinacle-deploy of a workstation pod, from nothing to all four services healthy through the router;
- the plain Docker sequence doing the same job: network, ``docker run`` of the same image under the
  same runtime, one ``docker exec`` writing the same supervisor programs and router config, then
  polling the same four health URLs through the router;
- after ``--idle`` seconds: the pod's memory as the host sees it (the container's cgroup, and the
  resident size of its gVisor sandbox processes) and each service's resident size inside the pod.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from pinacle.pod.desired import plan_pod  # noqa: E402
from pinacle.pod.settings import DeploySettings  # noqa: E402
from pinacle.spec import PodSpec  # noqa: E402

IMAGE = "pinacle/workstation:latest"
SERVICES = ["code-server", "web-terminal", "claude-code", "vibe-kanban"]
POD = """name: bench workstation
slug: {slug}
image: pinacle/workstation:latest
services: [code-server, web-terminal, claude-code, vibe-kanban]
resources: {{cpus: 2, memory: 4g}}
"""


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def cleanup(slug: str) -> None:
    subprocess.run(["docker", "rm", "-f", f"pinacle-{slug}", f"plain-{slug}"], capture_output=True)
    subprocess.run(["docker", "network", "rm", f"pinacle-{slug}", f"plain-{slug}"], capture_output=True)
    subprocess.run(["docker", "volume", "rm", "-f", f"pinacle-{slug}-workspace"], capture_output=True)
    subprocess.run([sys.executable, "-m", "pinacle.cli.main", "delete", "-i", "@local", slug, "--purge"])


def status(port: int, host: str, path: str) -> int:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        connection.request("GET", path, headers={"Host": host})
        return connection.getresponse().status
    except OSError:
        return 0


def host_name(port: int, slug: str) -> str:
    return f"localhost-{port}.pod-{slug}.localhost"


def wait_healthy(port: int, slug: str, routes: list[tuple[int, str]], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    pending = list(routes)
    while pending and time.monotonic() < deadline:
        pending = [(p, path) for p, path in pending if not 200 <= status(port, host_name(p, slug), path) < 400]
        if pending:
            time.sleep(0.2)
    if pending:
        raise TimeoutError(f"not healthy: {pending}")


def pinacle_rollout(slug: str, pod_file: Path) -> float:
    pod_file.write_text(POD.format(slug=slug))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pinacle.cli.deploy", "-i", "@local", str(pod_file)], check=True)
    return time.perf_counter() - start


def plain_rollout(slug: str, port: int) -> float:
    # The same programs and router pinacle writes, rendered by pinacle's own (pure) planner.
    plan = plan_pod(PodSpec(name="plain", slug=slug, image=IMAGE, services=tuple(SERVICES)), DeploySettings())
    programs = "".join(p.supervisor_conf() for p in plan.programs)
    start = time.perf_counter()
    sh("docker", "network", "create", f"plain-{slug}")
    sh(
        "docker", "run", "-d", "--name", f"plain-{slug}", "--runtime", "runsc", "--network", f"plain-{slug}",
        "--cpus", "2", "--memory", "4g", "-p", f"127.0.0.1:{port}:80", IMAGE,
    )  # fmt: skip
    script = (
        "cat > /etc/pinacle/supervisor/all.conf <<'EOF'\n" + programs + "EOF\n"
        "cat > /etc/pinacle/router/pod.conf <<'EOF'\n" + plan.router_config + "EOF\n"
        "until supervisorctl status nginx | grep -q RUNNING; do sleep 0.1; done && "
        "supervisorctl update >/dev/null && nginx -s reload"
    )
    sh("docker", "exec", f"plain-{slug}", "sh", "-c", script)
    wait_healthy(port, slug, [(r.port, r.health_path) for r in plan.routes])
    return time.perf_counter() - start


def memory(slug: str) -> None:
    name = f"pinacle-{slug}"
    container_id = sh("docker", "inspect", "--format", "{{.Id}}", name)
    cgroup = sh("docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", name)
    sandbox_kib = 0
    for line in sh("ps", "-eo", "rss=,args=").splitlines():
        rss, _, args = line.strip().partition(" ")
        if "runsc" in args and container_id in args:
            sandbox_kib += int(rss)
    print(f"idle pod, container cgroup memory (docker stats): {cgroup}")
    print(f"idle pod, resident size of its gVisor sandbox processes on the host: {sandbox_kib / 1024:.0f} MiB")
    print("resident size inside the pod, by service (RSS of each program's process tree):")
    listing = sh("docker", "exec", name, "ps", "-eo", "rss=,args=")
    # First match wins: claude-code's terminal (ttyd on 2528, tmux, claude) before the login shells.
    groups = {
        "code-server": ("code-server", "/usr/lib/code-server", "node "),
        "claude-code": ("--port 2528", "tmux", "claude"),
        "web-terminal": ("--port 7681", "bash -l"),
        "vibe-kanban": ("vibe-kanban",),
        "router + supervisor": ("nginx", "supervisord", "tini"),
    }
    totals = dict.fromkeys(groups, 0)
    for line in listing.splitlines():
        rss, _, args = line.strip().partition(" ")
        for group, needles in groups.items():
            if any(needle in args for needle in needles):
                totals[group] += int(rss)
                break
    for group, kib in totals.items():
        print(f"  {group:<20} {kib / 1024:7.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds to let the pod settle before measuring")
    args = parser.parse_args()
    sh("docker", "image", "inspect", IMAGE)
    pinacle, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            slug = f"bench-ws-{uuid.uuid4().hex[:6]}"
            try:
                pinacle.append(pinacle_rollout(slug, Path(tmp) / f"{slug}.yaml"))
                if round_ == args.rounds - 1:
                    time.sleep(args.idle)
                    memory(slug)
                plain.append(plain_rollout(slug, 39991))
            finally:
                cleanup(slug)
    print(f"rounds: {args.rounds}")
    print(f"pinacle-deploy workstation, new pod to 4 healthy: median {statistics.median(pinacle):.1f}s")
    print(f"plain docker network+run+exec+wait, same job:    median {statistics.median(plain):.1f}s")


if __name__ == "__main__":
    main()
