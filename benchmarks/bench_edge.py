"""The edge's cost: requests/s and latency through it vs straight to the pod's port, and the
round-trip time it adds to a terminal's WebSocket.

Run on a provisioned host with the edge on (the host deploy's default):
``python benchmarks/bench_edge.py [--seconds 10] [--rounds 3] [--connections 32] [--echoes 300]``.
Needs ``wrk`` (Debian package). One pod (web terminal + app, both private) is deployed and removed
at the end. HTTP: wrk against ttyd's small ``/token`` answer (C, no Python in the path, so the
proxies are what is measured), the two paths interleaved round by round; through the edge every
request carries the pod's cookie, so the credential check (auth_request to the daemon) is in each
one; the same with the terminal public (no check) shows what the proxying alone costs. WebSocket:
one keystroke typed into the terminal and its echo back, alternately over a direct and an edge
connection. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from websockets import Origin, Subprotocol
from websockets.sync.client import ClientConnection, connect

POD = """name: edge benchmark
slug: {slug}
services: [web-terminal]
visibility: {{web-terminal: {visibility}}}
ports:
  - name: app
    port: 3000
    command: python3 -m http.server 3000 --directory /workspace
resources: {{cpus: 1, memory: 512m}}
"""


def run(*command: str) -> str:
    env = {**os.environ, "PINACLE_INVENTORY": "@local"}
    return subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout


def wrk(url: str, host: str, cookie: str | None, seconds: int, connections: int) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-2xx answers) of one wrk run."""
    headers = ["-H", f"Host: {host}"] + (["-H", f"Cookie: {cookie}"] if cookie else [])
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *headers, url],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rate, percentile("50"), percentile("99"), int(failed[1]) if failed else 0


def terminal(address: tuple[str, int], url: str, origin: str, cookie: str | None) -> ClientConnection:
    ws = connect(
        url,
        sock=socket.create_connection(address),
        subprotocols=[Subprotocol("tty")],
        origin=Origin(origin),
        additional_headers={"Cookie": cookie} if cookie else None,
    ).__enter__()
    ws.send(json.dumps({"AuthToken": "", "columns": 80, "rows": 24}))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # until the shell's prompt has been drawn
        try:
            frame = ws.recv(timeout=1)
        except TimeoutError:
            break
        if isinstance(frame, bytes) and frame.endswith(b"$ "):
            break
    return ws


def echo_ms(ws: ClientConnection, key: bytes) -> float:
    """Type one key; milliseconds until the terminal's output frame comes back."""
    start = time.perf_counter()
    ws.send(b"0" + key)
    while True:
        frame = ws.recv(timeout=10)
        if isinstance(frame, bytes) and frame[:1] == b"0":
            return (time.perf_counter() - start) * 1000


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--echoes", type=int, default=300)
    args = parser.parse_args()
    slug = f"edge-bench-{uuid.uuid4().hex[:6]}"
    py = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pod.yaml"
        deploy = [py, "-m", "pinacle.cli.deploy", str(path), "--json"]
        try:
            path.write_text(POD.format(slug=slug, visibility="public"))
            rollout = json.loads(run(*deploy))
            port = int(rollout["pods"][0]["host_port"])
            host = f"localhost-7681.pod-{slug}.localhost"
            load = (args.seconds, args.connections)
            runs: dict[str, list[tuple[float, float, float, int]]] = {"direct": [], "public": [], "private": []}
            for _ in range(args.rounds):
                runs["direct"].append(wrk(f"http://127.0.0.1:{port}/token", f"{host}:{port}", None, *load))
                runs["public"].append(wrk("http://127.0.0.1:80/token", host, None, *load))
            path.write_text(POD.format(slug=slug, visibility="private"))
            run(*deploy)  # the table follows: the terminal's name now asks for the cookie
            link = run(py, "-m", "pinacle.cli.main", "open", slug, "web-terminal", "--print").strip()
            login = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-D", "-", "-H", f"Host: {host}",
                 "http://127.0.0.1" + link.split(host, 1)[1]],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            cookie = re.search(r"(?mi)^set-cookie: (pinacle_session=[^;]+)", login)[1]  # type: ignore[index]
            for _ in range(args.rounds):
                runs["direct"].append(wrk(f"http://127.0.0.1:{port}/token", f"{host}:{port}", None, *load))
                runs["private"].append(wrk("http://127.0.0.1:80/token", host, cookie, *load))
            print(f"HTTP GET /token (ttyd), wrk -t2 -c{args.connections} -d{args.seconds}s, medians of the rounds:")
            labels = {
                "direct": "straight to the pod's port",
                "public": "edge, public name (no check)",
                "private": "edge, private name (cookie checked)",
            }
            direct_rate = statistics.median(r[0] for r in runs["direct"])
            for key, label in labels.items():
                rate = statistics.median(r[0] for r in runs[key])
                print(
                    f"  {label:<38} {rate:8.0f} req/s ({rate / direct_rate:4.2f}x)  "
                    f"p50 {statistics.median(r[1] for r in runs[key]):7.2f} ms  "
                    f"p99 {statistics.median(r[2] for r in runs[key]):7.2f} ms  "
                    f"non-2xx {sum(r[3] for r in runs[key])}"
                )

            direct = terminal(("127.0.0.1", port), f"ws://{host}:{port}/ws", f"http://{host}:{port}", None)
            edge = terminal(("127.0.0.1", 80), f"ws://{host}/ws", f"http://{host}", cookie)
            times: dict[str, list[float]] = {"direct": [], "edge": []}
            for i in range(args.echoes):
                key = b"a" if i % 2 == 0 else b"\x7f"  # type a letter, then erase it: the line stays short
                times["direct"].append(echo_ms(direct, key))
                times["edge"].append(echo_ms(edge, key))
            direct.close()
            edge.close()
            print(f"WebSocket keystroke echo through ttyd, {args.echoes} each, alternating:")
            for what, values in times.items():
                print(f"  {what:<8} p50 {p(values, 0.5):6.3f} ms   p99 {p(values, 0.99):6.3f} ms")
            print(f"  added by the edge: p50 {p(times['edge'], 0.5) - p(times['direct'], 0.5):+.3f} ms")
        finally:
            subprocess.run([py, "-m", "pinacle.cli.main", "delete", slug, "--purge"], capture_output=True,
                           env={**os.environ, "PINACLE_INVENTORY": "@local"})  # fmt: skip


if __name__ == "__main__":
    main()
