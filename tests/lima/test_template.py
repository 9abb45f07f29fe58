"""Structure of ``lima/gvisor-alpine.yaml``, checked without Lima and without network.

Lima's JSON schema is generated from the Go sources by ``limactl generate-jsonschema`` and is not
published on PyPI or npm, so the schema check here is a list of the top-level keys Lima's own
``templates/default.yaml`` documents. Where ``limactl`` is installed (a developer's Mac), the last
test also runs ``limactl validate`` on the template.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "lima" / "gvisor-alpine.yaml"

# Top-level keys documented in lima-vm/lima templates/default.yaml (plus `base`).
LIMA_TOP_LEVEL_KEYS = {
    "base",
    "minimumLimaVersion",
    "vmType",
    "vmOpts",
    "os",
    "arch",
    "images",
    "cpus",
    "memory",
    "disk",
    "mounts",
    "mountTypesUnsupported",
    "mountType",
    "mountInotify",
    "additionalDisks",
    "ssh",
    "caCerts",
    "upgradePackages",
    "containerd",
    "provision",
    "probes",
    "cpuType",
    "rosetta",
    "timezone",
    "firmware",
    "audio",
    "video",
    "networks",
    "portForwards",
    "copyToHost",
    "message",
    "env",
    "param",
    "propagateProxyEnv",
    "hostResolver",
    "dns",
    "guestInstallPrefix",
    "plain",
    "nestedVirtualization",
}

ALPINE_321_URL = re.compile(
    r"^https://dl-cdn\.alpinelinux\.org/alpine/v3\.21/releases/cloud/"
    r"nocloud_alpine-3\.21\.\d+-(?P<arch>x86_64|aarch64)-uefi-cloudinit-r0\.qcow2$"
)
SHA512_DIGEST = re.compile(r"^sha512:[0-9a-f]{128}$")

POD_PORT_RANGE = [30000, 40000]

# Things the pyinfra deploy installs and configures; the template must not do it a second time.
DEPLOY_OWNED_WORDS = ("docker", "runsc", "gvisor", "containerd", "apk add", "daemon.json")


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded = yaml.safe_load(TEMPLATE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_only_keys_lima_knows(template: dict[str, Any]) -> None:
    assert set(template) <= LIMA_TOP_LEVEL_KEYS, set(template) - LIMA_TOP_LEVEL_KEYS


def test_vm_type_is_vz_and_the_qemu_override_is_documented(template: dict[str, Any]) -> None:
    assert template["vmType"] == "vz"
    assert "--vm-type=qemu" in TEMPLATE.read_text(encoding="utf-8")


def test_alpine_321_image_for_both_arches(template: dict[str, Any]) -> None:
    images = template["images"]
    by_arch: dict[str, dict[str, Any]] = {}
    for image in images:
        match = ALPINE_321_URL.match(image["location"])
        assert match, image["location"]
        assert match["arch"] == image["arch"], image
        by_arch[image["arch"]] = image
    assert set(by_arch) == {"x86_64", "aarch64"}
    # Both images are the same Alpine point release.
    releases = {re.sub(r"-(x86_64|aarch64)-", "-ARCH-", i["location"]) for i in images}
    assert len(releases) == 1, releases


def test_image_digests_are_well_formed_sha512(template: dict[str, Any]) -> None:
    digests = [image["digest"] for image in template["images"] if "digest" in image]
    assert digests, "the upstream Lima template publishes digests for these images"
    for digest in digests:
        assert SHA512_DIGEST.match(digest), digest
    assert len(set(digests)) == len(digests)


def test_resources(template: dict[str, Any]) -> None:
    assert template["cpus"] == 2
    assert template["memory"] == "4GiB"
    assert template["disk"] == "8GiB"


def test_lima_containerd_is_off(template: dict[str, Any]) -> None:
    assert template["containerd"] == {"system": False, "user": False}


def test_pod_port_range_forwarded_to_host_loopback(template: dict[str, Any]) -> None:
    rules = [
        rule
        for rule in template["portForwards"]
        if rule.get("guestPortRange") == POD_PORT_RANGE and not rule.get("ignore", False)
    ]
    assert len(rules) == 1, template["portForwards"]
    rule = rules[0]
    # Same port numbers on the host (Lima's default hostPortRange is the guest range).
    assert rule.get("hostPortRange", POD_PORT_RANGE) == POD_PORT_RANGE
    assert rule.get("hostIP", "127.0.0.1") == "127.0.0.1"
    assert rule.get("proto", "tcp") in {"tcp", "any"}


@pytest.mark.parametrize("port", [80, 443])
def test_the_edge_ports_are_forwarded_to_the_same_ports_on_host_loopback(template: dict[str, Any], port: int) -> None:
    rules = [
        rule for rule in template["portForwards"] if rule.get("guestPort") == port and not rule.get("ignore", False)
    ]
    assert len(rules) == 1, template["portForwards"]
    assert rules[0].get("hostPort", port) == port
    assert rules[0].get("hostIP", "127.0.0.1") == "127.0.0.1"
    assert rules[0].get("proto", "tcp") in {"tcp", "any"}


def test_no_rule_before_the_pod_range_swallows_it(template: dict[str, Any]) -> None:
    # Lima uses the first matching rule, so nothing earlier may ignore or redirect the range.
    for rule in template["portForwards"]:
        if rule.get("guestPortRange") == POD_PORT_RANGE:
            break
        low, high = rule.get("guestPortRange", [rule.get("guestPort"), rule.get("guestPort")])
        assert high < POD_PORT_RANGE[0] or low > POD_PORT_RANGE[1], rule


def test_no_provisioning_duplicates_the_deploy(template: dict[str, Any]) -> None:
    for entry in template.get("provision") or []:
        script = str(entry.get("script", "")).lower()
        for word in DEPLOY_OWNED_WORDS:
            assert word not in script, (word, entry)
    # The template does no provisioning at all: the pyinfra deploy is the single source.
    assert not template.get("provision")
    assert not template.get("probes")


def test_points_to_the_deploy(template: dict[str, Any]) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    assert "pyinfra inventory/dev.py deploys/vm.py" in text
    assert "pyinfra inventory/dev.py deploys/vm.py" in template["message"]


@pytest.mark.skipif(shutil.which("limactl") is None, reason="limactl is not installed here")
def test_limactl_validate() -> None:  # pragma: no cover - runs on machines with Lima only
    result = subprocess.run(
        ["limactl", "validate", str(TEMPLATE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
