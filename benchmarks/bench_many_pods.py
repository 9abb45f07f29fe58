"""Many pods on one host: one run for N pod files, its no-change re-apply, ``list`` and ``doctor``.

Run on a provisioned host: ``python benchmarks/bench_many_pods.py [--pods 50] [--rounds 3]``.
Prints figures next to the plain Docker commands that read the same state; asserts nothing. The
pods are small (one app port each, no terminal) so that N of them fit a 2-core machine; they are
removed at the end. Also times the CLI's start-up (``--help``) against ``python -c pass``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

POD = """name: many {slug}
slug: {slug}
ports:
  - name: app
    port: 3000
    command: python3 -m http.server 3000 --directory /workspace
resources: {{cpus: 0.25, memory: 128m}}
"""


def timed(*command: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def best_of(rounds: int, *command: str) -> list[float]:
    return [timed(*command) for _ in range(rounds)]


def line(what: str, values: list[float]) -> str:
    return f"{what:<52} median {statistics.median(values):6.3f}s (min {min(values):.3f}s)"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    py = sys.executable
    deploy = [py, "-m", "pinacle.cli.deploy", "-i", "@local"]
    pinacle = [py, "-m", "pinacle.cli.main"]
    print(line("python -c pass", best_of(args.rounds * 3, py, "-c", "pass")))
    print(line("pinacle --help", best_of(args.rounds * 3, *pinacle, "--help")))
    print(line("pinacle-deploy --help", best_of(args.rounds * 3, *deploy, "--help")))

    tag = uuid.uuid4().hex[:4]
    slugs = [f"many-{tag}-{i:03d}" for i in range(args.pods)]
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for slug in slugs:
            path = Path(tmp) / f"{slug}.yaml"
            path.write_text(POD.format(slug=slug))
            files.append(str(path))
        try:
            print(f"pods: {args.pods}")
            print(line(f"pinacle-deploy of {args.pods} new pods, one run", [timed(*deploy, *files)]))
            print(line(f"pinacle-deploy, no-change re-apply of {args.pods}", best_of(args.rounds, *deploy, *files)))
            print(line("pinacle-deploy, no-change re-apply of 1", best_of(args.rounds, *deploy, files[0])))
            print(line(f"pinacle list ({args.pods}+ pods, health checked)", best_of(args.rounds, *pinacle, "list")))
            print(line("pinacle doctor", best_of(args.rounds, *pinacle, "doctor")))
            print(line("plain: docker ps", best_of(args.rounds, "docker", "ps", "-a")))
            print(
                line(
                    "plain: docker ps + inspect of every pod",
                    best_of(
                        args.rounds, "sh", "-c", "docker inspect $(docker ps -aq --filter label=pinacle.pod) >/dev/null"
                    ),
                )
            )
        finally:
            for slug in slugs:
                subprocess.run([*pinacle, "delete", "-i", "@local", slug, "--purge"], capture_output=True)


if __name__ == "__main__":
    main()
