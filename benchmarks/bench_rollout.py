"""Time one pod from nothing to healthy with pinacle-deploy, next to the plain Docker commands.

Run on a provisioned host: ``python benchmarks/bench_rollout.py [--rounds 3]``. Prints figures;
asserts nothing. The plain baseline does what a careful shell script would: create a network,
run the same image under the same runtime with the same services, wait for HTTP through Nginx.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGE = "pinacle/base:latest"
POD = """name: bench
slug: {slug}
services: [web-terminal]
ports:
  - name: app
    port: 3000
    command: python3 -m http.server 3000 --directory /workspace
resources: {{cpus: 1, memory: 512m}}
"""
SUPERVISED_APP = (
    "[program:app]\\ncommand=python3 -m http.server 3000 --directory /workspace\\n"
    "[program:web-terminal]\\ncommand=ttyd --interface 127.0.0.1 --writable --port 7681 bash -l\\nuser=dev\\n"
)
PLAIN_ROUTER = "server { listen 80 default_server; location / { proxy_pass http://127.0.0.1:3000; } }"


def sh(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()


def cleanup(slug: str) -> None:
    subprocess.run(["docker", "rm", "-f", f"pinacle-{slug}", f"plain-{slug}"], capture_output=True)
    subprocess.run(["docker", "network", "rm", f"pinacle-{slug}", f"plain-{slug}"], capture_output=True)
    subprocess.run(["docker", "volume", "rm", "-f", f"pinacle-{slug}-workspace"], capture_output=True)


def wait_http(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"nothing answered on {port}")


def pinacle_rollout(slug: str, pod_file: Path) -> tuple[float, float]:
    pod_file.write_text(POD.format(slug=slug))
    command = [sys.executable, "-m", "pinacle.cli.deploy", "-i", "@local", str(pod_file)]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    first = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return first, time.perf_counter() - start


def plain_rollout(slug: str, port: int) -> float:
    start = time.perf_counter()
    sh("docker", "network", "create", f"plain-{slug}")
    sh(
        "docker",
        "run",
        "-d",
        "--name",
        f"plain-{slug}",
        "--runtime",
        "runsc",
        "--network",
        f"plain-{slug}",
        "--cpus",
        "1",
        "--memory",
        "512m",
        "-p",
        f"127.0.0.1:{port}:80",
        IMAGE,
    )
    script = (
        f"printf '{SUPERVISED_APP}' > /etc/pinacle/supervisor/app.conf && "
        f"echo '{PLAIN_ROUTER}' > /etc/pinacle/router/pod.conf && "
        "until supervisorctl status nginx | grep -q RUNNING; do sleep 0.1; done && "
        "supervisorctl update >/dev/null && nginx -s reload"
    )
    sh("docker", "exec", f"plain-{slug}", "sh", "-c", script)
    wait_http(port)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sh("docker", "image", "inspect", IMAGE)
    first, again, plain = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            slug = f"bench-{uuid.uuid4().hex[:6]}"
            try:
                a, b = pinacle_rollout(slug, Path(tmp) / f"{slug}.yaml")
                first.append(a)
                again.append(b)
                plain.append(plain_rollout(slug, 39990))
            finally:
                cleanup(slug)
    print(f"rounds: {args.rounds}")
    print(f"pinacle-deploy, new pod to healthy:  median {statistics.median(first):.2f}s (min {min(first):.2f}s)")
    print(f"plain docker network+run+wait:      median {statistics.median(plain):.2f}s (min {min(plain):.2f}s)")
    print(f"pinacle-deploy, no-change re-apply:  median {statistics.median(again):.2f}s (min {min(again):.2f}s)")


if __name__ == "__main__":
    main()
