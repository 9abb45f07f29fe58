"""Fixtures for the edge's pure modules: pods as the edge sees them, and a host holding them."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pinacle.edge.config import EdgeLayout, EdgePod
from pinacle.pod.desired import plan_pod
from pinacle.pod.names import LABEL_PORT
from pinacle.pod.observed import ContainerRecord, HostPods, PodRecord
from pinacle.pod.settings import DeploySettings
from pinacle.router import Route
from pinacle.spec import AppPortSpec, PodSpec

MakeEdgePod = Callable[..., EdgePod]
MakeHost = Callable[..., HostPods]


@dataclass(frozen=True)
class NginxCheck:
    """An edge's files laid out under a temporary directory, checked by the real ``nginx -t``."""

    root: Path

    @property
    def certs(self) -> Path:
        return self.root / "tls"

    @property
    def layout(self) -> EdgeLayout:
        return EdgeLayout(
            config_dir=str(self.root), cert_dir=str(self.certs), pid=f"{self.root}/edge.pid", log_dir=str(self.root)
        )

    def self_signed(self, *names: str) -> None:
        """A self-signed certificate and key per name in ``certs``, as the local CA would issue them."""
        for name in names:
            subprocess.run(
                ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                 "-keyout", str(self.certs / f"{name}.key"), "-out", str(self.certs / f"{name}.crt"), "-days", "1",
                 "-subj", f"/CN={name}"],
                check=True, capture_output=True,
            )  # fmt: skip

    def accepts(self, files: Mapping[str, str]) -> str:
        """Write ``files`` (path -> text), run ``nginx -t`` on their nginx.conf; its report, which must be "ok"."""
        for path, text in files.items():
            Path(path).write_text(text)
        result = subprocess.run(
            ["nginx", "-t", "-c", str(self.root / "nginx.conf")], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        assert "syntax is ok" in result.stderr
        return result.stderr


@pytest.fixture
def nginx_check(tmp_path: Path) -> NginxCheck:
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: the host deploy installs it (Debian's nginx package)")
    check = NginxCheck(tmp_path)
    check.certs.mkdir()
    return check


@pytest.fixture
def edge_pod() -> MakeEdgePod:
    def make(slug: str = "demo", public: frozenset[int] = frozenset(), **overrides: Any) -> EdgePod:
        fields: dict[str, Any] = {
            "slug": slug,
            "domain": "localhost",
            "host_port": 30001,
            "routes": (Route("web-terminal", 7681), Route("app", 3000)),
            "main_port": 7681,
            "public_ports": public,
        }
        return EdgePod(**{**fields, **overrides})

    return make


def pod_spec(slug: str, public_app: bool = False) -> PodSpec:
    return PodSpec(
        name=f"pod {slug}",
        slug=slug,
        services=("web-terminal",),
        ports=(
            AppPortSpec(
                name="app",
                port=3000,
                command="python3 -m http.server 3000",
                visibility="public" if public_app else "private",
            ),
        ),
    )


@pytest.fixture
def host_with() -> MakeHost:
    """A host read back: ``pods`` is slug -> dict(running=, record=, runtime=, public_app=)."""

    def make(**pods: dict[str, Any]) -> HostPods:
        containers, records = {}, {}
        for index, (slug, options) in enumerate(sorted(pods.items())):
            slug = slug.replace("_", "-")
            plan = plan_pod(pod_spec(slug, options.get("public_app", False)), DeploySettings())
            labels = {**dict(plan.container.labels), LABEL_PORT: str(30001 + index)}
            containers[slug] = ContainerRecord(
                plan.container.name,
                f"id{index}",
                "running" if options.get("running", True) else "exited",
                runtime=options.get("runtime", "runsc"),
                labels=labels,
            )
            if options.get("record", True):
                records[slug] = PodRecord(
                    slug=slug,
                    spec=plan.spec.model_dump(mode="json"),
                    domain=plan.domain,
                    spec_hash="x",
                    config={},
                    host_port=30001 + index,
                )
        return HostPods(containers=containers, records=records, gvisor_runtimes=frozenset({"runsc"}))

    return make
