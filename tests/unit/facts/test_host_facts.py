"""Host facts are a command plus a parser: the parsers, on output the tools really print."""

from __future__ import annotations

import subprocess

from pinacle.facts.host import AptPolicy, RunscVersion, RuntimeProbe
from pinacle.readers.host import PROBE_DIR, PROBE_IMAGE

# `apt-cache policy runsc` on this machine (bookworm, trixie pinned for runsc).
POLICY = """runsc:
  Installed: 0.0~20240729.0-4+b7
  Candidate: 0.0~20240729.0-4+b7
  Version table:
 *** 0.0~20240729.0-4+b7 990
          1 http://deb.debian.org/debian trixie/main amd64 Packages
        100 /var/lib/dpkg/status
     0.0~20221219.0-2+b3 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages""".splitlines()


def test_apt_policy_reads_versions_and_their_suites() -> None:
    assert AptPolicy().process(POLICY) == {
        "installed": "0.0~20240729.0-4+b7",
        "candidate": "0.0~20240729.0-4+b7",
        "origins": {"0.0~20240729.0-4+b7": ["trixie/main"], "0.0~20221219.0-2+b3": ["bookworm/main"]},
    }


def test_apt_policy_of_a_package_not_installed() -> None:
    lines = [
        "runsc:",
        "  Installed: (none)",
        "  Candidate: 0.0~20221219.0-2+b3",
        "  Version table:",
        "     0.0~20221219.0-2+b3 -10",
        "        -10 http://deb.debian.org/debian bookworm/main amd64 Packages",
    ]
    assert AptPolicy().process(lines) == {
        "installed": None,
        "candidate": "0.0~20221219.0-2+b3",
        "origins": {"0.0~20221219.0-2+b3": ["bookworm/main"]},
    }


def test_apt_policy_of_an_unknown_package_is_empty() -> None:
    assert AptPolicy().process([]) == AptPolicy.default()


def test_runsc_version_reads_debian_and_release_versions() -> None:
    assert RunscVersion().process(["runsc version 0.0~20240729.0", "spec: 1.2.0"]) == "0.0~20240729.0"
    assert RunscVersion().process(["runsc version release-20250715.0"]) == "release-20250715.0"
    assert RunscVersion().process([]) is None


def test_runtime_probe_runs_coreutils_ls_on_the_probe_directory() -> None:
    command = RuntimeProbe().command(runtime="runsc", image=PROBE_IMAGE)
    assert f"/bin/ls -lan {PROBE_DIR}" in command
    assert "/bin/busybox dmesg" in command
    assert subprocess.run(["sh", "-n", "-c", command]).returncode == 0


def test_runtime_probe_needs_gvisor_and_a_clean_exit() -> None:
    ok = RuntimeProbe().process(["rc=0", "[    0.0] Starting gVisor...", "total 9", "-rw-r--r-- 1 0 0 8 file"])
    assert ok["ok"] is True
    statx = RuntimeProbe().process(["rc=2", "/bin/ls: cannot access '/probe': Invalid argument", "Starting gVisor"])
    assert statx["ok"] is False
    assert RuntimeProbe().process(["rc=0", "Linux version 6.1"])["ok"] is False
