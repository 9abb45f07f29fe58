"""pinacle-edge-tls, run for real against a temporary directory (PINACLE_EDGE_TLS_DIR)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "src" / "pinacle" / "host_scripts" / "pinacle-edge-tls"


def tls(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINACLE_EDGE_TLS_DIR": str(directory)}
    return subprocess.run(["sh", str(SCRIPT), *args], env=env, capture_output=True, text=True, check=False)


def openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


def test_a_pod_certificate_covers_its_names_and_is_signed_by_the_kept_ca(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    assert tls(directory, "issue", "pod-a.localhost").returncode == 0
    cert = directory / "pods" / "pod-a.localhost.crt"
    assert "DNS:pod-a.localhost, DNS:*.pod-a.localhost" in openssl(
        "x509", "-in", str(cert), "-noout", "-ext", "subjectAltName"
    )
    assert openssl("verify", "-CAfile", str(directory / "ca.crt"), str(cert)).strip().endswith("OK")
    assert cert.read_text().count("BEGIN CERTIFICATE") == 2  # the CA follows, for clients that pin it


def test_keys_are_root_only_and_nothing_is_printed(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    result = tls(directory, "issue", "pod-a.localhost")
    assert (result.stdout, result.stderr) == ("", "")
    for key in (directory / "ca.key", directory / "pods" / "pod-a.localhost.key"):
        assert key.stat().st_mode & 0o777 == 0o600, key
    assert directory.stat().st_mode & 0o777 == 0o700


def test_issuing_again_keeps_the_ca_and_the_certificate(tmp_path: Path) -> None:
    directory = tmp_path / "tls"
    tls(directory, "issue", "pod-a.localhost")
    ca, cert = (directory / "ca.crt").read_text(), (directory / "pods" / "pod-a.localhost.crt").read_text()
    assert tls(directory, "issue", "pod-a.localhost").returncode == 0
    assert (directory / "ca.crt").read_text() == ca
    assert (directory / "pods" / "pod-a.localhost.crt").read_text() == cert


@pytest.mark.parametrize("name", ["a;b", "../x", "A.localhost", "", ".pod", "pod..x", "pod-a.localhost."])
def test_a_name_outside_host_name_grammar_is_refused(tmp_path: Path, name: str) -> None:
    result = tls(tmp_path / "tls", "issue", name)
    assert result.returncode == 64
    assert not (tmp_path / "tls" / "pods").exists() or not list((tmp_path / "tls" / "pods").iterdir())
