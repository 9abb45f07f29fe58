"""pinacle.hostspec: host settings, runsc release naming and daemon.json merging, as plain asserts."""

from __future__ import annotations

from typing import Any

import pytest

from pinacle.errors import HostError
from pinacle.hostspec import (
    DEBIAN_ARCHIVE_KEYRING,
    DEFAULT_DEBIAN_MIRROR,
    DEFAULT_RUNSC_VERSION,
    DISTRO_RUNSC_PATH,
    PACKAGE_MANAGERS,
    PINNED_DEBIAN_SUITES,
    RELEASE_RUNSC_PATH,
    RUNSC_SOURCES,
    AddressPool,
    HostSettings,
    debian_mirror,
    desired_daemon_config,
    egress_boot_unit,
    host_settings,
    installed_from_suite,
    pinned_suite_paths,
    pinned_suite_preferences,
    pinned_suite_source,
    probe_failure_line,
    release_url,
    release_version_string,
    reload_suffices,
    require_debian,
    runsc_source,
    runtime_failure_hint,
    suite_listed,
)

DEFAULTS = HostSettings()
RELEASES = "https://storage.googleapis.com/gvisor/releases/release"


# --- host_settings ------------------------------------------------------------------------------


def test_empty_host_data_gives_the_production_defaults() -> None:
    settings = host_settings({})
    assert settings.runsc_source == "release"
    assert settings.runsc_version == DEFAULT_RUNSC_VERSION
    assert settings.runsc_runtime_name == "runsc"
    assert settings.runsc_runtime_args == ()
    assert settings.docker_address_pools == (AddressPool(base="10.200.0.0/14", size=24),)
    assert settings.docker_live_restore is True


def test_release_source_runs_the_binary_it_installs() -> None:
    assert host_settings({}).runsc_path == RELEASE_RUNSC_PATH


def test_distro_source_runs_the_packaged_binary() -> None:
    assert host_settings({"runsc_source": "distro"}).runsc_path == DISTRO_RUNSC_PATH


def test_debian_trixie_source_runs_the_packaged_binary() -> None:
    settings = host_settings({"runsc_source": "debian-trixie"})
    assert settings.runsc_path == DISTRO_RUNSC_PATH
    assert settings.source.debian_suite == "trixie"
    assert settings.source.package == "runsc"


def test_debian_mirror_host_data_must_be_an_http_url() -> None:
    assert host_settings({"runsc_debian_mirror": "https://m.example/debian"}).runsc_debian_mirror
    with pytest.raises(HostError, match="runsc_debian_mirror"):
        host_settings({"runsc_debian_mirror": "deb.debian.org debian"})


def test_every_runsc_source_is_a_host_data_value() -> None:
    for name in RUNSC_SOURCES:
        assert host_settings({"runsc_source": name}).source.name == name


def test_only_debian_trixie_pins_a_suite() -> None:
    assert PINNED_DEBIAN_SUITES == ("trixie",)


def test_unrelated_and_none_host_data_is_ignored() -> None:
    settings = host_settings({"ssh_user": "root", "runsc_version": None})
    assert settings.runsc_version == DEFAULT_RUNSC_VERSION


def test_host_data_lists_become_settings() -> None:
    settings = host_settings(
        {
            "runsc_runtime_args": ["--network=host"],
            "docker_address_pools": [{"base": "10.50.0.0/16", "size": 24}],
        }
    )
    assert settings.runsc_runtime_args == ("--network=host",)
    assert settings.docker_address_pools == (AddressPool(base="10.50.0.0/16", size=24),)


def test_unknown_runsc_source_is_refused_by_name() -> None:
    with pytest.raises(HostError, match="runsc_source"):
        host_settings({"runsc_source": "latest"})


@pytest.mark.parametrize("arg", ["network=host", "--network host", "-d"])
def test_runtime_args_that_are_not_long_flags_are_refused(arg: str) -> None:
    with pytest.raises(HostError, match=r"runsc_runtime_args.*runsc flags"):
        host_settings({"runsc_runtime_args": [arg]})


@pytest.mark.parametrize("version", ["latest", "2025-07-15", "20250715.x", "1.0"])
def test_runsc_versions_that_are_not_dated_releases_are_refused(version: str) -> None:
    with pytest.raises(HostError, match="runsc_version"):
        host_settings({"runsc_version": version})


def test_invalid_host_data_error_names_every_bad_key() -> None:
    with pytest.raises(HostError) as caught:
        host_settings({"runsc_source": "x", "runsc_version": "y"})
    assert "runsc_source" in str(caught.value)
    assert "runsc_version" in str(caught.value)


# --- runsc sources per host -----------------------------------------------------------------------


@pytest.mark.parametrize("source", ["release", "distro", "debian-trixie"])
def test_apt_hosts_take_every_runsc_source(source: str) -> None:
    settings = HostSettings(runsc_source=source)  # type: ignore[arg-type]
    assert runsc_source(settings, PACKAGE_MANAGERS["apt"]).name == source


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("distro", r"apk hosts have no runsc package: use runsc_source='release'"),
        (
            "debian-trixie",
            r"'debian-trixie' installs runsc from Debian's archive with apt.*"
            r"apk: use runsc_source='release'",
        ),
    ],
)
def test_apk_hosts_are_told_to_use_the_release(source: str, message: str) -> None:
    with pytest.raises(HostError, match=message):
        runsc_source(HostSettings(runsc_source=source), PACKAGE_MANAGERS["apk"])  # type: ignore[arg-type]


def test_apk_hosts_take_the_release() -> None:
    assert runsc_source(HostSettings(), PACKAGE_MANAGERS["apk"]).name == "release"


def test_a_pinned_debian_suite_needs_debian() -> None:
    require_debian("apt", "debian", "trixie")
    with pytest.raises(HostError, match=r"for Debian hosts; this host is ubuntu: use runsc_source='release'"):
        require_debian("apt", "ubuntu", "trixie")
    with pytest.raises(HostError, match=r"uses no known package manager"):
        require_debian(None, None, "trixie")


# --- the pinned Debian suite ---------------------------------------------------------------------


def test_pinned_suite_files_are_pinacles_own() -> None:
    assert pinned_suite_paths("trixie") == (
        "/etc/apt/sources.list.d/pinacle-trixie.sources",
        "/etc/apt/preferences.d/pinacle-trixie",
    )


def test_pinned_suite_source_is_signature_checked_deb822() -> None:
    text = pinned_suite_source("http://deb.debian.org/debian", "trixie")
    fields = dict(line.split(": ", 1) for line in text.splitlines() if not line.startswith("#"))
    assert fields == {
        "Types": "deb",
        "URIs": "http://deb.debian.org/debian",
        "Suites": "trixie",
        "Components": "main",
        "Signed-By": DEBIAN_ARCHIVE_KEYRING,
    }


def test_pinned_suite_preferences_let_only_the_package_follow_the_suite() -> None:
    stanzas = [
        dict(line.split(": ", 1) for line in stanza.splitlines() if not line.startswith("#"))
        for stanza in pinned_suite_preferences("runsc", "trixie").split("\n\n")
    ]
    assert stanzas == [
        {"Package": "*", "Pin": "release n=trixie", "Pin-Priority": "1"},
        {"Package": "runsc", "Pin": "release n=trixie", "Pin-Priority": "990"},
    ]


def test_debian_mirror_follows_the_hosts_release_source() -> None:
    repos = [
        ("http://security.debian.org/debian-security", "bookworm-security"),
        ("https://ftp.de.debian.org/debian/", "bookworm"),
        ("http://deb.debian.org/debian", "bookworm-updates"),
    ]
    assert debian_mirror(repos, "bookworm") == "https://ftp.de.debian.org/debian"


@pytest.mark.parametrize(
    ("repos", "codename"),
    [
        ([], "bookworm"),
        ([("cdrom:[Debian 12]/", "bookworm")], "bookworm"),
        ([("http://deb.debian.org/debian", "bookworm")], None),
    ],
)
def test_debian_mirror_falls_back_to_deb_debian_org(repos: list[tuple[str, str]], codename: str | None) -> None:
    assert debian_mirror(repos, codename) == DEFAULT_DEBIAN_MIRROR


TRIXIE, BOOKWORM = "0.0~20240729.0-4+b7", "0.0~20221219.0-2+b3"
ORIGINS = {TRIXIE: ["trixie/main"], BOOKWORM: ["bookworm/main"]}


def test_runsc_installed_from_trixie_is_in_place() -> None:
    policy = {"installed": TRIXIE, "candidate": TRIXIE, "origins": ORIGINS}
    assert installed_from_suite(policy, "trixie")
    assert suite_listed(policy, "trixie")


@pytest.mark.parametrize(
    "policy",
    [
        {"installed": BOOKWORM, "candidate": TRIXIE, "origins": ORIGINS},
        {"installed": None, "candidate": TRIXIE, "origins": ORIGINS},
        {"installed": BOOKWORM, "candidate": BOOKWORM, "origins": {BOOKWORM: ["bookworm/main"]}},
        {"installed": None, "candidate": None, "origins": {}},
    ],
)
def test_runsc_not_from_trixie_is_not_in_place(policy: dict[str, Any]) -> None:
    assert not installed_from_suite(policy, "trixie")


def test_a_suite_apt_has_not_fetched_is_not_listed() -> None:
    assert not suite_listed({"origins": {BOOKWORM: ["bookworm/main"]}}, "trixie")


# --- release naming ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "arch"),
    [("x86_64", "x86_64"), ("amd64", "x86_64"), ("aarch64", "aarch64"), ("arm64", "aarch64")],
)
def test_release_url_uses_gvisors_directory_name_for_the_arch(machine: str, arch: str) -> None:
    assert release_url("20250715.0", machine) == f"{RELEASES}/20250715.0/{arch}"


def test_release_url_for_an_unpublished_arch_says_which_are() -> None:
    with pytest.raises(HostError, match=r"x86_64 and aarch64 only.*'riscv64'"):
        release_url("20250715.0", "riscv64")


def test_release_version_string_keeps_a_point_release() -> None:
    assert release_version_string("20250715.1") == "release-20250715.1"


def test_release_version_string_adds_point_zero_to_a_bare_date() -> None:
    assert release_version_string("20250715") == "release-20250715.0"


# --- desired_daemon_config -----------------------------------------------------------------------


def test_operator_keys_survive_the_merge() -> None:
    current = {"log-driver": "journald", "registry-mirrors": ["https://mirror.example"]}
    merged = desired_daemon_config(current, DEFAULTS)
    assert merged["log-driver"] == "journald"
    assert merged["registry-mirrors"] == ["https://mirror.example"]


def test_merge_does_not_mutate_the_current_config() -> None:
    current: dict[str, Any] = {"runtimes": {"kata": {"path": "/usr/bin/kata"}}}
    desired_daemon_config(current, DEFAULTS)
    assert current == {"runtimes": {"kata": {"path": "/usr/bin/kata"}}}


def test_runtime_is_registered_with_the_rootfs_overlay_off_by_default() -> None:
    merged = desired_daemon_config({}, DEFAULTS)
    assert merged["runtimes"] == {"runsc": {"path": RELEASE_RUNSC_PATH, "runtimeArgs": ["--overlay2=none"]}}


def test_runtime_args_are_registered_before_the_overlay_choice() -> None:
    settings = HostSettings(runsc_runtime_args=("--network=host", "--debug"))
    merged = desired_daemon_config({}, settings)
    assert merged["runtimes"]["runsc"] == {
        "path": RELEASE_RUNSC_PATH,
        "runtimeArgs": ["--network=host", "--debug", "--overlay2=none"],
    }


def test_rootfs_overlay_kept_on_registers_no_overlay_flag() -> None:
    settings = HostSettings(runsc_rootfs_overlay=True)
    merged = desired_daemon_config({}, settings)
    assert merged["runtimes"]["runsc"] == {"path": RELEASE_RUNSC_PATH}


def test_an_explicit_overlay_flag_wins_over_the_default() -> None:
    settings = HostSettings(runsc_runtime_args=("--overlay2=root:self",))
    merged = desired_daemon_config({}, settings)
    assert merged["runtimes"]["runsc"]["runtimeArgs"] == ["--overlay2=root:self"]


def test_runtime_is_registered_under_the_configured_name() -> None:
    settings = HostSettings(runsc_runtime_name="gvisor", runsc_source="distro")
    merged = desired_daemon_config({}, settings)
    assert merged["runtimes"] == {"gvisor": {"path": DISTRO_RUNSC_PATH, "runtimeArgs": ["--overlay2=none"]}}


def test_other_runtimes_are_kept() -> None:
    current = {"runtimes": {"kata": {"path": "/usr/bin/kata-runtime"}}}
    merged = desired_daemon_config(current, DEFAULTS)
    assert merged["runtimes"]["kata"] == {"path": "/usr/bin/kata-runtime"}
    assert "runsc" in merged["runtimes"]


def test_a_stale_runsc_entry_is_replaced() -> None:
    current = {"runtimes": {"runsc": {"path": "/old/runsc", "runtimeArgs": ["--debug"]}}}
    merged = desired_daemon_config(current, DEFAULTS)
    assert merged["runtimes"]["runsc"] == {"path": RELEASE_RUNSC_PATH, "runtimeArgs": ["--overlay2=none"]}


def test_live_restore_defaults_on() -> None:
    assert desired_daemon_config({}, DEFAULTS)["live-restore"] is True


def test_live_restore_set_by_the_operator_wins() -> None:
    assert desired_daemon_config({"live-restore": False}, DEFAULTS)["live-restore"] is False


def test_address_pools_are_set_from_settings() -> None:
    current = {"default-address-pools": [{"base": "172.80.0.0/16", "size": 24}]}
    merged = desired_daemon_config(current, DEFAULTS)
    assert merged["default-address-pools"] == [{"base": "10.200.0.0/14", "size": 24}]


def test_merging_twice_changes_nothing() -> None:
    once = desired_daemon_config({"debug": True}, DEFAULTS)
    assert desired_daemon_config(once, DEFAULTS) == once


# --- reload_suffices -----------------------------------------------------------------------------


def test_runtime_changes_apply_with_a_reload() -> None:
    old = {"live-restore": True}
    assert reload_suffices(old, {**old, "runtimes": {"runsc": {"path": RELEASE_RUNSC_PATH}}})


def test_identical_configs_need_no_restart() -> None:
    assert reload_suffices({"debug": True}, {"debug": True})


def test_address_pool_changes_need_a_restart() -> None:
    old = {"runtimes": {}}
    assert not reload_suffices(old, desired_daemon_config(old, DEFAULTS))


def test_a_removed_non_reloadable_key_needs_a_restart() -> None:
    assert not reload_suffices({"data-root": "/srv/docker"}, {})


# --- runtime_failure_hint ------------------------------------------------------------------------


def test_old_runsc_network_error_points_at_the_release_or_host_network() -> None:
    output = "runsc: cannot run with network enabled in root network namespace"
    hint = runtime_failure_hint(output, DEFAULTS)
    assert "runsc_source='release'" in hint
    assert "--network=host" in hint


def test_unknown_runtime_error_names_the_runtime_and_the_reload() -> None:
    output = "docker: Error response from daemon: unknown or invalid runtime name: gvisor."
    hint = runtime_failure_hint(output, HostSettings(runsc_runtime_name="gvisor"))
    assert "'gvisor'" in hint
    assert "kill -HUP" in hint


def test_coreutils_ls_invalid_argument_says_runsc_is_too_old() -> None:
    # Captured under Debian bookworm's runsc 0.0~20221219 with the probe image.
    output = "/bin/ls: cannot access '/probe': Invalid argument\n[    3.624820] Ready!"
    hint = runtime_failure_hint(output, DEFAULTS)
    assert "runsc is too old" in hint
    assert "runsc_source='debian-trixie'" in hint
    assert "runsc_source='release'" in hint


def test_other_invalid_arguments_are_not_taken_for_the_statx_bug() -> None:
    assert "too old" not in runtime_failure_hint('docker: invalid argument "--memory"', DEFAULTS)


def test_probe_failure_line_prefers_ls_over_the_boot_log() -> None:
    output = "[    0.0] Starting gVisor...\n/bin/ls: cannot access '/probe': Invalid argument\n[    3.6] Ready!\n"
    assert probe_failure_line(output) == "/bin/ls: cannot access '/probe': Invalid argument"


def test_probe_failure_line_finds_dockers_error() -> None:
    output = "docker: Error response from daemon: unknown or invalid runtime name: gvisor.\nSee 'docker run --help'."
    assert probe_failure_line(output).startswith("docker: Error response")


def test_probe_failure_line_without_output() -> None:
    assert probe_failure_line("") == "no output"


def test_unrecognised_failure_points_at_the_logs() -> None:
    assert "/var/log/pinacle" in runtime_failure_hint("segfault", DEFAULTS)


def test_egress_args_are_the_pool_networks_then_the_denied_ranges() -> None:
    settings = HostSettings(
        docker_address_pools=(AddressPool(base="10.200.1.0/14", size=24),), pod_egress_deny=("192.168.0.0/16",)
    )
    assert settings.egress_args == ("10.200.0.0/14", "--", "192.168.0.0/16")


@pytest.mark.parametrize("bad", ["192.168.1.1/16", "10.0.0.1", "fd00::/8", "lan", "10.0.0.0/33"])
def test_egress_deny_takes_ipv4_networks_only(bad: str) -> None:
    with pytest.raises(HostError, match="pod_egress_deny"):
        host_settings({"pod_egress_deny": [bad]})


def test_egress_boot_units_reapply_after_docker() -> None:
    systemd_path, systemd_text = egress_boot_unit("systemd", "/usr/local/lib/pinacle/pinacle-egress") or ("", "")
    assert systemd_path == "/etc/systemd/system/pinacle-egress.service"
    assert (
        "After=docker.service" in systemd_text
        and "ExecStart=/usr/local/lib/pinacle/pinacle-egress reapply" in systemd_text
    )
    openrc_path, openrc_text = egress_boot_unit("openrc", "/usr/local/lib/pinacle/pinacle-egress") or ("", "")
    assert openrc_path == "/etc/init.d/pinacle-egress" and "after docker" in openrc_text
    assert egress_boot_unit("none", "/x") is None
