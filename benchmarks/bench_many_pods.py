"""Many pods on one host: one run for N pod files, its no-change re-apply, ``list`` and ``doctor``.

Run on a provisioned host: ``python benchmarks/bench_many_pods.py [--pods 50] [--stopped 50]
[--rounds 3] [--before SRC]``. Prints figures next to the plain Docker commands that do the same
job; asserts nothing. The pods are small (one app port each, no terminal) so that N of them fit a
2-core machine; they are removed at the end. ``--stopped M`` first rolls out M more pods and stops
them, ten at a time: ``list`` and ``doctor`` then see N + M pods, of which only N run (an idle gVisor sandbox
costs 3-5 % of a core here under runsc's systrap platform, so 100 running ones saturate 2 cores; a stopped pod
costs none; under ``--platform=ptrace`` an idle one costs next to nothing, see the README).
Before the first round the benchmark waits until the pods have settled (``--settle``: the load
average under 1 + 0.05 a running pod, at most that many seconds). Rounds are interleaved
(pinacle, the ``--before`` tree if given, the plain commands), so a machine getting busier weighs
on all of them alike; the load average is printed with each figure, and the CPU time the command
and its child processes used (Docker's daemon not counted, for pinacle nor for the plain
commands): on a machine the sandboxes saturate, the wall time is mostly waiting for a core. Also
times the CLI's start-up (``--help``) against ``python -c pass``.

The plain jobs: ``list`` is ``docker ps`` + ``docker inspect`` of every pod + one parallel ``curl``
of every pod's health URL (what ``list`` reads and asks); ``doctor`` is that plus ``docker info``,
``docker network ls`` and a throwaway container under the runtime (``doctor``'s probe).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

POD = """name: many {slug}
slug: {slug}
ports:
  - name: app
    port: 3000
    command: python3 -m http.server 3000 --directory /workspace
resources: {{cpus: 0.25, memory: 128m}}
"""
PROBE_IMAGE = "pinacle/probe:2"
STOP_BATCH = 10
PLAIN_READ = "docker inspect $(docker ps -aq --filter label=pinacle.pod) >/dev/null"


def timed(command: Sequence[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes and what they waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def line(what: str, values: list[float], loads: list[float] | None = None, cpus: list[float] | None = None) -> str:
    load = f", load {statistics.median(loads):.1f}" if loads else ""
    cpu = f", CPU {statistics.median(cpus):.3f}s" if cpus else ""
    return f"{what:<56} median {statistics.median(values):6.3f}s (min {min(values):.3f}s{load}{cpu})"


def plain_list_script(urls: Sequence[str]) -> str:
    """What ``pinacle list`` does, with the plain CLIs: every pod's container, every health URL."""
    curl = " ".join(f"-o /dev/null {url}" for url in urls)
    curl_flags = "-s -m 5 --parallel --parallel-max 64 --connect-to ::127.0.0.1: -w '%{http_code}\\n'"
    return f"{PLAIN_READ} && curl {curl_flags} {curl} >/dev/null"


def plain_doctor_script(urls: Sequence[str]) -> str:
    probe = f"docker run --rm --runtime=runsc {PROBE_IMAGE} /bin/ls -lan /probe >/dev/null"
    return f"docker info >/dev/null && docker network ls >/dev/null && {probe} && {plain_list_script(urls)}"


def pod_files(folder: Path, slugs: Sequence[str]) -> list[str]:
    files = []
    for slug in slugs:
        path = folder / f"{slug}.yaml"
        path.write_text(POD.format(slug=slug))
        files.append(str(path))
    return files


def settle(seconds: float, load: float) -> None:
    """Wait until the 1-minute load average is under ``load`` (new sandboxes done booting), at
    most ``seconds``; print how long it took and the load reached."""
    start = time.monotonic()
    while os.getloadavg()[0] >= load and time.monotonic() - start < seconds:
        time.sleep(2)
    print(f"settled for {time.monotonic() - start:.0f} s: load average {os.getloadavg()[0]:.1f} (aim {load:.1f})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--stopped", type=int, default=0, help="also M pods that are rolled out, then stopped")
    parser.add_argument("--settle", type=float, default=120.0, help="at most this long for the load to settle")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefix", default="many", help="slugs are PREFIX-<random>-NNN")
    parser.add_argument("--before", metavar="SRC", help="also time pinacle from this source tree (its src/)")
    args = parser.parse_args()
    py = sys.executable
    deploy = [py, "-m", "pinacle.cli.deploy", "-i", "@local"]
    pinacle = [py, "-m", "pinacle.cli.main"]
    trees: dict[str, dict[str, str] | None] = {"pinacle": None}
    if args.before:
        trees["before"] = {**os.environ, "PYTHONPATH": args.before}
    runtimes = subprocess.run(["docker", "info", "--format", "{{json .Runtimes}}"], capture_output=True, text=True)
    print(f"runtimes: {runtimes.stdout.strip()}")  # runsc's flags: its platform decides what an idle pod costs
    print(line("python -c pass", [timed([py, "-c", "pass"]) for _ in range(args.rounds * 3)]))
    print(line("pinacle --help", [timed([*pinacle, "--help"]) for _ in range(args.rounds * 3)]))
    print(line("pinacle-deploy --help", [timed([*deploy, "--help"]) for _ in range(args.rounds * 3)]))

    tag = uuid.uuid4().hex[:4]
    slugs = [f"{args.prefix}-{tag}-{i:03d}" for i in range(args.pods)]
    stopped = [f"{args.prefix}-{tag}-s{i:03d}" for i in range(args.stopped)]
    with tempfile.TemporaryDirectory() as tmp:
        files = pod_files(Path(tmp), slugs)
        try:
            # Rolled out and stopped STOP_BATCH at a time: rolling all 90 out first had about 70
            # sandboxes booting at once here (load average above 300).
            for first in range(0, len(stopped), STOP_BATCH):
                batch = stopped[first : first + STOP_BATCH]
                subprocess.run([*deploy, *pod_files(Path(tmp), batch)], check=True, capture_output=True)
                subprocess.run(["docker", "stop", *(f"pinacle-{s}" for s in batch)], check=True, capture_output=True)
            if stopped:
                print(f"stopped pods: {len(stopped)} (rolled out, then stopped, {STOP_BATCH} at a time)")
            print(f"pods: {args.pods}")
            print(
                line(
                    f"pinacle-deploy of {args.pods} new pods, one run", [timed([*deploy, *files])], [os.getloadavg()[0]]
                )
            )
            settle(args.settle, 1 + 0.05 * args.pods)
            listed = json.loads(subprocess.run([*pinacle, "list", "--json"], check=True, capture_output=True).stdout)
            urls = [s["url"] for p in listed["pods"] for s in p["services"] if s["url"]]
            jobs: dict[str, tuple[list[str], dict[str, list[str]]]] = {
                f"no-change re-apply of {args.pods}": ([*deploy, *files], {}),
                "no-change re-apply of 1": ([*deploy, files[0]], {}),
                f"list ({len(listed['pods'])} pods, health checked)": ([*pinacle, "list"], {}),
                "doctor": ([*pinacle, "doctor"], {}),
            }
            plain = {
                f"no-change re-apply of {args.pods}": PLAIN_READ,
                f"list ({len(listed['pods'])} pods, health checked)": plain_list_script(urls),
                "doctor": plain_doctor_script(urls),
            }
            results: dict[tuple[str, str], list[float]] = {}
            loads: dict[tuple[str, str], list[float]] = {}
            cpus: dict[tuple[str, str], list[float]] = {}  # what the command itself cost, whatever the load
            for _ in range(args.rounds):
                for job, (command, _unused) in jobs.items():
                    for tree, env in trees.items():
                        loads.setdefault((job, tree), []).append(os.getloadavg()[0])
                        before = children_cpu()
                        try:
                            results.setdefault((job, tree), []).append(timed(command, env))
                        except subprocess.CalledProcessError:  # doctor exits 1 when a check fails
                            results[(job, tree)].append(float("nan"))
                        cpus.setdefault((job, tree), []).append(children_cpu() - before)
                    if job in plain:
                        loads.setdefault((job, "plain"), []).append(os.getloadavg()[0])
                        before = children_cpu()
                        results.setdefault((job, "plain"), []).append(timed(["sh", "-c", plain[job]]))
                        cpus.setdefault((job, "plain"), []).append(children_cpu() - before)
            for job in jobs:
                for tree in [*trees, "plain"]:
                    if (job, tree) in results:
                        values = [v for v in results[(job, tree)] if v == v] or [float("nan")]
                        print(line(f"{tree}: {job}", values, loads[(job, tree)], cpus[(job, tree)]))
        finally:
            with ThreadPoolExecutor(4) as pool:  # the machine has 2 cores; deletes wait on Docker
                every = [*slugs, *stopped]
                deletes = pool.map(
                    lambda slug: subprocess.run(
                        [*pinacle, "delete", "-i", "@local", slug, "--purge"], capture_output=True, text=True
                    ),
                    every,
                )
                for slug, done in zip(every, deletes, strict=True):  # a pod left behind is said, by its slug
                    if done.returncode != 0:
                        print(f"pinacle delete {slug} exited {done.returncode}: {done.stderr.strip()}")


if __name__ == "__main__":
    main()
