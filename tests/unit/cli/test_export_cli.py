"""``pinacle export k8s``: the pod file is checked as pinacle-deploy checks it, and a bad one writes nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from tests.unit.conftest import REPO
from tests.unit.test_loader import BAD_FILES

from pinacle.cli.deploy import main as deploy_main
from pinacle.cli.main import main

UNREACHABLE = "@ssh/unreachable.invalid"  # had pinacle-deploy tried to connect, it would exit 3


def export(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["export", "k8s", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("text", [c[1] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_a_bad_pod_file_fails_as_pinacle_deploy_does_and_writes_nothing(tmp_path: Path, text: str) -> None:
    pod_file = tmp_path / "bad.yaml"
    pod_file.write_text(text)
    output = tmp_path / "pod.k8s.yaml"
    deployed = CliRunner().invoke(deploy_main, [str(pod_file), "-i", UNREACHABLE])
    assert export(str(pod_file), "-o", str(output)) == (deployed.exit_code, deployed.output)
    assert deployed.exit_code == 65
    assert sorted(tmp_path.iterdir()) == [pod_file]


def test_a_missing_pod_file_fails_as_pinacle_deploy_does(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.yaml")
    deployed = CliRunner().invoke(deploy_main, [missing, "-i", UNREACHABLE])
    assert export(missing) == (deployed.exit_code, deployed.output) == (65, deployed.output)


def test_the_objects_go_to_stdout_by_default() -> None:
    code, output = export(str(REPO / "pods" / "example.yaml"))
    assert code == 0
    assert [o["kind"] for o in yaml.safe_load_all(output)] == ["ConfigMap", "Service", "StatefulSet", "Ingress"]


def test_the_output_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    output = tmp_path / "pod.k8s.yaml"
    assert export(str(REPO / "pods" / "python-api.yaml"), "-o", str(output)) == (0, "")
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    assert "Secret" in [o["kind"] for o in yaml.safe_load_all(output.read_text())]


def test_options_reach_the_objects(tmp_path: Path) -> None:
    code, output = export(
        str(REPO / "pods" / "example.yaml"),
        *("--namespace", "team-a", "--domain", "pods.example.com", "--ingress-class", "nginx"),
        *("--storage-class", "fast", "--workspace-size", "3Gi", "--with-runtime-class"),
    )
    objects = {o["kind"]: o for o in yaml.safe_load_all(output)}
    assert code == 0
    assert objects["RuntimeClass"]["handler"] == "runsc"
    assert objects["Ingress"]["metadata"]["namespace"] == "team-a"
    assert objects["Ingress"]["spec"]["ingressClassName"] == "nginx"
    assert objects["Ingress"]["spec"]["rules"][0]["host"] == "pod-example.pods.example.com"
    claim = objects["StatefulSet"]["spec"]["volumeClaimTemplates"][0]["spec"]
    assert claim["storageClassName"] == "fast" and claim["resources"]["requests"]["storage"] == "3Gi"


def test_the_domain_defaults_to_pinacle_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINACLE_DOMAIN", "env.example.org")
    _code, output = export(str(REPO / "pods" / "example.yaml"))
    ingress = next(o for o in yaml.safe_load_all(output) if o["kind"] == "Ingress")
    assert ingress["spec"]["rules"][0]["host"] == "pod-example.env.example.org"


def test_a_bad_option_exits_64_and_writes_nothing(tmp_path: Path) -> None:
    output = tmp_path / "pod.k8s.yaml"
    code, text = export(str(REPO / "pods" / "example.yaml"), "--workspace-size", "lots", "-o", str(output))
    assert code == 64
    assert "workspace size 'lots'" in text
    assert not output.exists()


def test_an_unwritable_output_exits_64_naming_it(tmp_path: Path) -> None:
    target = tmp_path / "no-such-dir" / "pod.k8s.yaml"
    code, text = export(str(REPO / "pods" / "example.yaml"), "-o", str(target))
    assert code == 64
    assert f"cannot write {target}" in text
