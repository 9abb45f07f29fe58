"""The test fleet's figures: ``list`` over 3 hosts of 10 pods vs one host, placing and rolling out one
pod on 3 hosts vs one, and ``move`` of a pod with a 100 MB workspace, each beside plain commands.

Run as root on a provisioned machine: ``python benchmarks/bench_fleet.py [--pods-per-host 10]
[--rounds 3] [--workspace-mb 100]``. It brings the test fleet up (``scripts/fleet.sh up``, the host
deploy, the images) unless it is running, and takes it down again at the end if it started it. The
pods are small (one app port, no terminal, 0.15 CPUs each: placement reserves a host's 2 CPUs, and
10 pods and one more must fit each) so that 30 fit a 2-core machine; they are removed at the
end. Prints figures, asserts nothing. Rounds are interleaved, so a machine getting busier weighs on
every variant alike; the load average is printed with each figure.

"One host" is the same inventory limited to one host (``PINACLE_FLEET_HOSTS``): a target of one host,
read over SSH like the fleet. The plain commands: ``list`` is ``docker ps`` + ``docker inspect`` of
the pods over ``ssh``, every host at once, and one parallel ``curl`` of every health URL; a rollout
is ``docker run`` of the same image with the same limits over ``ssh`` (no router, no health wait:
the floor, not the same job); a move is what the move carries: ``docker save | docker load`` of the
snapshot image and ``cat | cat`` of the workspace archive between the two hosts' ``ssh``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INVENTORY = REPO / "inventory" / "fleet-test.py"
FLEET_SH = REPO / "scripts" / "fleet.sh"
STATE = Path("/var/lib/pinacle-fleet")
RUN = Path("/run/pinacle-fleet")
HOSTS = ("fleet-host1", "fleet-host2", "fleet-host3")
POD = """name: fleet bench {slug}
slug: {slug}
ports:
  - name: app
    port: 3000
    command: python3 -m http.server 3000 --directory /workspace
resources: {{cpus: 0.15, memory: 128m}}
"""


def address(host: str) -> str:
    return f"10.250.{host.removeprefix('fleet-host')}.2"


def ssh(host: str, command: str) -> list[str]:
    return [
        "ssh", "-i", str(STATE / "client_key"), "-o", f"UserKnownHostsFile={STATE / 'known_hosts'}",
        "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
        f"root@{address(host)}", command,
    ]  # fmt: skip


def env_for(hosts: Sequence[str] = ()) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PINACLE_INVENTORY", "PINACLE_FLEET_HOSTS")}
    env["PINACLE_PUBLISH_ADDRESS"] = "0.0.0.0"  # as the fleet tests: pods answer at their host's address
    if hosts:
        env["PINACLE_FLEET_HOSTS"] = ",".join(hosts)
    return env


def pinacle(*args: str, hosts: Sequence[str] = ()) -> list[str]:
    command, *rest = args
    module = "pinacle.cli.deploy" if command == "deploy" else "pinacle.cli.main"
    return [sys.executable, "-m", module, *([] if command == "deploy" else [command]), "-i", str(INVENTORY), *rest]


def timed(argv: Sequence[str], env: dict[str, str] | None = None, check: bool = True) -> float:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, env=env, cwd=REPO, check=False)
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr.decode()[-2000:]}")
    return elapsed


def line(what: str, values: list[float], loads: list[float]) -> str:
    return (
        f"{what:<64} median {statistics.median(values):7.3f}s "
        f"(min {min(values):.3f}s, load {statistics.median(loads):.1f})"
    )


def run(argv: Sequence[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return done.stdout


def bring_up() -> bool:
    """Start and provision the fleet if it is not running; whether this run started it."""
    started = not RUN.exists()
    run(["bash", str(FLEET_SH), "up", str(len(HOSTS))])
    if started:
        run([str(Path(sys.executable).with_name("pyinfra")), "-y", str(INVENTORY), str(REPO / "deploys" / "vm.py")])
        run(["bash", str(FLEET_SH), "images"])
    return started


def plain_list(urls: dict[str, list[str]]) -> str:
    """What ``pinacle list`` reads and asks, with ssh, docker and curl: on every host at once, its
    pods' containers and one parallel request of their health URLs (on the host, as pinacle asks)."""
    read = "docker inspect $(docker ps -aq --filter label=pinacle.pod) >/dev/null"
    curl_flags = "-s -m 5 --parallel --parallel-max 64 --connect-to ::127.0.0.1:"
    jobs = []
    for host, host_urls in urls.items():
        curl = " ".join(f"-o /dev/null {shlex.quote(url)}" for url in host_urls)
        jobs.append(f"{shlex.join(ssh(host, f'{read} && curl {curl_flags} {curl} >/dev/null'))} &")
    return f"{' '.join(jobs)} wait"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods-per-host", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workspace-mb", type=int, default=100)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the test fleet is namespaces of this machine")
    started = bring_up()
    tag = uuid.uuid4().hex[:4]
    slugs = [f"fbench-{tag}-{i:03d}" for i in range(args.pods_per_host * len(HOSTS))]
    made: list[str] = []
    results: dict[str, list[float]] = {}
    loads: dict[str, list[float]] = {}

    def measure(what: str, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        loads.setdefault(what, []).append(os.getloadavg()[0])
        results.setdefault(what, []).append(timed(argv, env))

    try:
        with tempfile.TemporaryDirectory() as tmp:

            def pod_file(slug: str) -> str:
                path = Path(tmp) / f"{slug}.yaml"
                path.write_text(POD.format(slug=slug))
                return str(path)

            files = [pod_file(slug) for slug in slugs]
            made += slugs
            begin = time.perf_counter()
            run(pinacle("deploy", *files), env_for())
            print(f"pinacle-deploy of {len(files)} new pods over {len(HOSTS)} hosts, one run: "
                  f"{time.perf_counter() - begin:.1f}s")  # fmt: skip
            listed = json.loads(run(pinacle("list", "--json"), env_for()))["pods"]
            on = {h: [p for p in listed if p["host"] == h] for h in HOSTS}
            print("pods per host: " + ", ".join(f"{h} {len(p)}" for h, p in on.items()))
            urls = {h: [s["url"] for p in pods for s in p["services"] if s["url"]] for h, pods in on.items()}
            for _ in range(args.rounds):
                measure(f"pinacle list, {len(HOSTS)} hosts x {args.pods_per_host} pods", pinacle("list"), env_for())
                measure(f"pinacle list, 1 host x {len(on[HOSTS[0]])} pods", pinacle("list"), env_for(HOSTS[:1]))
                measure(f"plain: ssh docker ps+inspect + curl, {len(HOSTS)} hosts", ["sh", "-c", plain_list(urls)])
                one = {HOSTS[0]: urls[HOSTS[0]]}
                measure("plain: ssh docker ps+inspect + curl, 1 host", ["sh", "-c", plain_list(one)])
                for variant, hosts in ((f"{len(HOSTS)} hosts", HOSTS), ("1 host", HOSTS[:1])):
                    slug = f"fbench-{tag}-new-{uuid.uuid4().hex[:4]}"
                    made.append(slug)
                    measure(
                        f"pinacle-deploy of 1 new pod to healthy, {variant}",
                        pinacle("deploy", pod_file(slug)),
                        env_for(hosts),
                    )
                    run(pinacle("delete", slug, "--purge"), env_for())
                    made.remove(slug)
                name = f"fbench-plain-{uuid.uuid4().hex[:6]}"
                limits = "--runtime runsc --cpus 0.15 --memory 128m"
                plain_run = f"docker run -d --name {name} {limits} pinacle/base:latest sleep infinity"
                measure("plain: ssh docker run of the same image (no router, no wait)", ssh(HOSTS[0], plain_run))
                run(ssh(HOSTS[0], f"docker rm -f {name}"))

            # A move of a pod with a workspace of random bytes, there and back.
            mover = slugs[0]
            home = next(p["host"] for p in listed if p["slug"] == mover)
            away = next(h for h in HOSTS if h != home)
            fill = f"head -c {args.workspace_mb}M /dev/urandom > /workspace/payload.bin && sync"
            run(pinacle("exec", mover, "--", "sh", "-c", fill), env_for())
            checksum = run(pinacle("exec", mover, "--", "sha256sum", "/workspace/payload.bin"), env_for()).split()[0]
            for destination in (away, home):
                measure(
                    f"pinacle move, {args.workspace_mb} MB workspace",
                    pinacle("move", mover, "--to", destination),
                    env_for(),
                )
            after = run(pinacle("exec", mover, "--", "sha256sum", "/workspace/payload.bin"), env_for()).split()[0]
            print(f"workspace checksum after two moves: {'the same' if after == checksum else 'DIFFERENT'}")
            image = "pinacle/base:latest"
            size_mb = int(run(ssh(home, f"docker image inspect --format '{{{{.Size}}}}' {image}"))) // 2**20
            blob = f"/var/lib/pinacle/fbench-{tag}.bin"
            run(ssh(home, f"head -c {args.workspace_mb}M /dev/urandom > {blob}"))
            for _ in range(2):
                carry = (
                    f"{shlex.join(ssh(home, f'docker save {image}'))} | "
                    f"{shlex.join(ssh(away, 'docker load -q'))} >/dev/null && "
                    f"{shlex.join(ssh(home, f'cat {blob}'))} | "
                    f"{shlex.join(ssh(away, f'cat > {blob}'))} && "
                    f"{shlex.join(ssh(away, f'sha256sum {blob}'))} >/dev/null"
                )
                measure(
                    f"plain: ssh docker save|load ({size_mb} MB image) + cat|cat {args.workspace_mb} MB",
                    ["sh", "-c", carry],
                )
            for host in (home, away):
                run(ssh(host, f"rm -f {blob}"))
        for what, values in results.items():
            print(line(what, values, loads[what]))
    finally:
        for slug in made:
            subprocess.run(pinacle("delete", slug, "--purge"), capture_output=True, env=env_for(), cwd=REPO)
        if started:
            subprocess.run(["bash", str(FLEET_SH), "down"], capture_output=True)


if __name__ == "__main__":
    main()
