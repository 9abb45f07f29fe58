"""Fixtures shared by the unit tests: pod files in a temporary directory, a stub ``docker``."""

from __future__ import annotations

import base64
import json
import os
import resource
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

WritePod = Callable[..., Path]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def write_pod(tmp_path: Path) -> WritePod:
    """Write a (dedented) pod file and return its path; ``name`` picks the file name."""

    def write(text: str, name: str = "pod.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


@dataclass(frozen=True)
class DockerCall:
    argv: list[str]
    stdin: bytes


@dataclass
class StubDocker:
    """A ``docker`` on PATH that records each call and answers from canned replies; no real Docker.

    ``answer(*words, ...)``: calls whose arguments contain every one of ``words`` (as substrings
    of the space-joined argv) print ``stdout``/``stderr`` and exit ``rc``; the first answer given
    that matches wins; a call nothing matches prints nothing and exits 0. Standard input is read
    (and recorded) when ``-`` is an argument, as in ``docker cp -``.
    """

    root: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ['PATH']}"}

    def answer(self, *words: str, stdout: str = "", stderr: str = "", rc: int = 0) -> None:
        answers = json.loads((self.root / "answers.json").read_text())
        answers.append({"match": list(words), "stdout": stdout, "stderr": stderr, "rc": rc})
        (self.root / "answers.json").write_text(json.dumps(answers))

    @property
    def calls(self) -> list[DockerCall]:
        log = self.root / "calls.jsonl"
        lines = log.read_text().splitlines() if log.exists() else []
        return [DockerCall(c["argv"], base64.b64decode(c["stdin"])) for c in map(json.loads, lines)]

    def run(self, argv: list[str], stdin: bytes = b"", timeout: float = 30) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(argv, input=stdin, capture_output=True, env=self.env, timeout=timeout, check=False)


_STUB = """#!{python}
import base64, json, os, sys
root = {root!r}
argv = sys.argv[1:]
data = sys.stdin.buffer.read() if "-" in argv else b""
with open(os.path.join(root, "calls.jsonl"), "a") as log:
    log.write(json.dumps({{"argv": argv, "stdin": base64.b64encode(data).decode()}}) + "\\n")
joined = " ".join(argv)
with open(os.path.join(root, "answers.json")) as f:
    answers = json.load(f)
for reply in answers:
    if all(word in joined for word in reply["match"]):
        sys.stdout.write(reply["stdout"])
        sys.stderr.write(reply["stderr"])
        sys.exit(reply["rc"])
"""


@pytest.fixture
def stub_docker(tmp_path: Path) -> StubDocker:
    """A recording, canned-answer ``docker`` first on PATH (see :class:`StubDocker`)."""
    root = tmp_path / "stub-docker"
    (root / "bin").mkdir(parents=True)
    (root / "answers.json").write_text("[]")
    script = root / "bin" / "docker"
    script.write_text(_STUB.format(python=sys.executable, root=str(root)))
    script.chmod(0o755)
    return StubDocker(root)


@dataclass(frozen=True)
class Refusal:
    """What refusing one pod file cost a fresh process, and what it said."""

    cpu_seconds: float
    rss_growth_mb: float
    error_type: str
    message: str


_MEASURE = """
import json, resource, sys, time
from pinacle.resolver import resolve
resolve("pods/example.yaml")  # warm: imports, templates, pydantic's schema
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.process_time()
try:
    resolve(sys.argv[1])
    kind, message = "accepted", ""
except BaseException as error:
    kind, message = type(error).__name__, str(error)
cpu = time.process_time() - start
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": cpu, "rss": (after.ru_maxrss - before.ru_maxrss) / 1024, "kind": kind, "message": message}))
"""

_MEMORY_CAP = 2 * 1024**3
"""Address space of the measuring process: a regression fails the test, not the shared machine."""


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_CAP, _MEMORY_CAP))


MeasureRefusal = Callable[[Path], Refusal]


@pytest.fixture
def measure_refusal() -> MeasureRefusal:
    """Resolve a pod file in a fresh, memory-capped Python; its CPU time, peak RSS growth and error."""

    def measure(path: Path) -> Refusal:
        result = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(path)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=120,
            preexec_fn=_cap_memory,
            check=False,
        )
        if result.returncode != 0 or not result.stdout.strip():
            return Refusal(float("inf"), float("inf"), f"crashed ({result.returncode})", result.stderr[-2000:])
        report = json.loads(result.stdout.strip().splitlines()[-1])
        return Refusal(report["cpu"], report["rss"], report["kind"], report["message"])

    return measure
