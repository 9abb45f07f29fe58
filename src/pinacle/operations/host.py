"""Operations that turn a machine into a gVisor pod host."""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Generator

from pyinfra import host
from pyinfra.api import operation
from pyinfra.api.exceptions import OperationError
from pyinfra.facts.apt import AptSources, noninteractive_apt
from pyinfra.facts.server import LinuxDistribution
from pyinfra.operations import openrc, systemd

from pinacle.daemon_json import DAEMON_JSON_PATH, parse_daemon_json, render_daemon_json
from pinacle.errors import HostError
from pinacle.facts.host import (
    AptPolicy,
    DockerImageId,
    DockerServer,
    EgressRules,
    FileSha512,
    FileText,
    HostPackageManager,
    RunningProcesses,
    RunscVersion,
    RuntimeProbe,
)
from pinacle.hostspec import (
    CONTAINERD_SOCKET,
    COREUTILS_LS_CANDIDATES,
    DEBIAN_KEYRING_WITH_TRIXIE,
    DOCKER_PIDFILE,
    PINNED_DEBIAN_SUITES,
    RELEASE_RUNSC_PATH,
    RUNSC_CHECKSUM_RECORD,
    HostSettings,
    debian_mirror,
    desired_daemon_config,
    installed_from_suite,
    pinned_suite_paths,
    pinned_suite_preferences,
    pinned_suite_source,
    probe_failure_line,
    release_url,
    release_version_string,
    reload_suffices,
    require_debian,
    runtime_failure_hint,
    suite_listed,
)
from pinacle.operations._shell import fail, wait_until, write_file_command
from pinacle.pod.names import LOG_DIR
from pinacle.readers.host import PROBE_DIR, PROBE_IMAGE

RELOAD_DOCKERD = f'kill -HUP "$(cat {DOCKER_PIDFILE})"'

# With no init system (containers, CI sandboxes) pinacle itself is the supervisor of last resort:
# detached from the deploy's session so the daemons outlive it, logs kept under LOG_DIR.
_START_CONTAINERD = (
    f"mkdir -p {LOG_DIR} && {{ setsid containerd >>{LOG_DIR}/containerd.log 2>&1 </dev/null & }} && "
    + wait_until(f"ctr --address {CONTAINERD_SOCKET} version", "containerd", 30, f"{LOG_DIR}/containerd.log")
)
_START_DOCKERD = (
    f"mkdir -p {LOG_DIR} && {{ setsid dockerd --containerd={CONTAINERD_SOCKET} "
    f">>{LOG_DIR}/dockerd.log 2>&1 </dev/null & }} && "
    + wait_until("docker info", "dockerd", 60, f"{LOG_DIR}/dockerd.log")
)
_STOP_DOCKERD = f'kill "$(cat {DOCKER_PIDFILE})" && ' + wait_until(
    "! pidof dockerd", "dockerd shutdown", 60, f"{LOG_DIR}/dockerd.log"
)

# How each init restarts dockerd when a config change is beyond what SIGHUP applies.
RESTART_DOCKERD = {
    "systemd": "systemctl restart docker",
    "openrc": "rc-service docker restart",
    "none": f"{_STOP_DOCKERD} && {_START_DOCKERD}",
}


@operation()
def runsc_release(version: str, machine: str) -> Generator[str, None, None]:
    """
    Install the official gVisor ``runsc`` release, verified against its published SHA-512.

    + version: dated release such as ``20250715.0``
    + machine: the host's ``uname -m``

    The download lands in a temporary directory; a checksum mismatch aborts there, so the binary
    already installed stays in place. Rename within /usr/local/bin makes the swap atomic.
    """
    installed = host.get_fact(RunscVersion, path=RELEASE_RUNSC_PATH)
    recorded = host.get_fact(FileText, path=RUNSC_CHECKSUM_RECORD)
    actual = host.get_fact(FileSha512, path=RELEASE_RUNSC_PATH)
    wanted = release_version_string(version)
    if installed == wanted and recorded is not None and recorded.strip() == actual:
        host.noop(f"runsc {wanted} is installed and matches its verified checksum")
        return
    url = release_url(version, machine)
    target = shlex.quote(RELEASE_RUNSC_PATH)
    mismatch = fail(f"runsc {version} does not match its published SHA-512; kept the old binary")
    yield (
        'set -e; tmp=$(mktemp -d); trap \'rm -rf "$tmp"\' EXIT; cd "$tmp"; '
        f"curl -fsSL --retry 3 -o runsc {shlex.quote(url + '/runsc')}; "
        f"curl -fsSL --retry 3 -o runsc.sha512 {shlex.quote(url + '/runsc.sha512')}; "
        f"sha512sum -c runsc.sha512 >/dev/null 2>&1 || {{ {mismatch}; }}; "
        f"chmod 0755 runsc; cp runsc {target}.pinacle-new; mv -f {target}.pinacle-new {target}; "
        f'mkdir -p "$(dirname {RUNSC_CHECKSUM_RECORD})"; '
        f"cut -d ' ' -f 1 runsc.sha512 > {RUNSC_CHECKSUM_RECORD}"
    )
    if host.get_fact(DockerServer) is not None:
        yield RELOAD_DOCKERD


APT_UPDATE = noninteractive_apt("update")


def _sha512(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


@operation()
def runsc_debian_suite(suite: str, package: str = "runsc", mirror: str | None = None) -> Generator[str, None, None]:
    """
    Install ``package`` (runsc) from another Debian suite, pinned so that nothing else follows it.

    + suite: the Debian suite runsc comes from, e.g. ``trixie``
    + package: the package taken from it
    + mirror: the archive URI; default: the one the host's own sources use for its release

    Writes a deb822 source for the suite (``Signed-By`` the Debian archive keyring, so apt checks its
    signatures) and apt preferences: priority 1 for every package of the suite, 990 for ``package``.
    ``apt-get update`` runs only when these files change or apt's lists do not know the suite yet.
    On a host whose own release is ``suite`` no extra source is needed, and pinacle's files go.

    **Example:**

    .. code:: python

        runsc_debian_suite(name="Install runsc from Debian trixie", suite="trixie")
    """
    distro = host.get_fact(LinuxDistribution) or {}
    meta = distro.get("release_meta") or {}
    require_debian(host.get_fact(HostPackageManager), meta.get("ID"), suite)
    codename = meta.get("VERSION_CODENAME") or meta.get("CODENAME")
    source_path, preferences_path = pinned_suite_paths(suite)
    wanted: dict[str, str | None] = {source_path: None, preferences_path: None}
    if codename != suite:
        if mirror is None:
            repos = host.get_fact(AptSources) or []
            mirror = debian_mirror(((r["url"], r["distribution"]) for r in repos if r["type"] == "deb"), codename)
        wanted = {
            source_path: pinned_suite_source(mirror, suite),
            preferences_path: pinned_suite_preferences(package, suite),
        }

    rewritten = False
    for path, text in wanted.items():
        current = host.get_fact(FileSha512, path=path)
        if text is None and current is not None:
            yield f"rm -f {shlex.quote(path)}"
            rewritten = True
        elif text is not None and current != _sha512(text):
            yield write_file_command(path, text)
            rewritten = True

    policy = host.get_fact(AptPolicy, package=package)
    refresh = rewritten or not suite_listed(policy, suite)
    if refresh:
        unsigned = fail(
            f"apt-get update failed (see above). If it says NO_PUBKEY or 'is not signed' for {suite}, "
            f"this host's debian-archive-keyring lacks {suite}'s keys: upgrade it "
            f"(bookworm: {DEBIAN_KEYRING_WITH_TRIXIE} or later), or use runsc_source='release'"
        )
        yield f"{APT_UPDATE} || {{ {unsigned}; }}"
    if refresh or not installed_from_suite(policy, suite):
        yield noninteractive_apt(f"install --no-install-recommends {shlex.quote(package)}")
        return
    host.noop(f"{package} {policy['installed']} from Debian {suite} is installed (pinned)")


@operation()
def no_pinned_debian_suites() -> Generator[str, None, None]:
    """
    Remove the pinned Debian suites pinacle added for another ``runsc_source``.

    A host moved from ``runsc_source='debian-trixie'`` to ``release`` or ``distro`` keeps no source
    or pin of pinacle's; the runsc installed from the suite stays until apt replaces it.
    """
    stale = [
        path
        for suite in PINNED_DEBIAN_SUITES
        for path in pinned_suite_paths(suite)
        if host.get_fact(FileSha512, path=path) is not None
    ]
    if not stale:
        host.noop("no pinned Debian suite of pinacle's is configured")
        return
    yield "rm -f " + " ".join(shlex.quote(path) for path in stale)
    yield APT_UPDATE


@operation()
def docker_daemon_config(settings: HostSettings, init: str) -> Generator[str, None, None]:
    """
    Merge pinacle's runtime, address pools and live-restore into ``/etc/docker/daemon.json``.

    + settings: the validated host settings
    + init: ``systemd``, ``openrc`` or ``none``; how to restart dockerd if a reload cannot apply it

    Keys the operator set survive. A running dockerd is reloaded (SIGHUP) when that applies the
    change, so running pods are untouched; otherwise restarted, which live-restore makes safe.
    """
    try:
        current = parse_daemon_json(host.get_fact(FileText, path=DAEMON_JSON_PATH))
    except HostError as exc:  # pyinfra prints an OperationError as one line, without a traceback
        raise OperationError(str(exc)) from None
    desired = desired_daemon_config(current, settings)
    if desired == current:
        host.noop(f"{DAEMON_JSON_PATH} already holds the {settings.runsc_runtime_name} runtime")
        return
    # An operator's daemon.json may be a link into their own config tree: edit the file behind it.
    yield write_file_command(DAEMON_JSON_PATH, render_daemon_json(desired), follow_symlinks=True)
    if host.get_fact(DockerServer) is None:
        return  # the start operation brings dockerd up with the new file
    yield RELOAD_DOCKERD if reload_suffices(current, desired) else RESTART_DOCKERD[init]


@operation()
def daemons_running(init: str) -> Generator[object, None, None]:
    """
    Enable and start containerd and Docker with whatever init the host has.

    + init: ``systemd``, ``openrc`` or ``none``
    """
    if init == "systemd":
        for name in ("containerd", "docker"):
            yield from systemd.service._inner(service=name, running=True, enabled=True)
        return
    if init == "openrc":
        for name in ("containerd", "docker"):
            yield from openrc.service._inner(service=name, running=True, enabled=True)
        return
    running = host.get_fact(RunningProcesses, names=("containerd", "dockerd"))
    if "containerd" not in running:
        yield _START_CONTAINERD
    if "dockerd" not in running:
        yield _START_DOCKERD
    if {"containerd", "dockerd"} <= running:
        host.noop("containerd and dockerd are running")


@operation()
def probe_image(busybox: str) -> Generator[str, None, None]:
    """
    Import the probe image that proves the runtime starts containers and runs coreutils' ls.

    + busybox: path of a statically linked busybox on the host

    The image holds that busybox (``/bin/sh``, ``dmesg``), the host's GNU coreutils ``ls`` with the
    shared libraries ``ldd`` names, at the same paths, and a plain directory for it to list. No
    registry is needed, so the probe works on air-gapped hosts too.
    """
    if host.get_fact(DockerImageId, image=PROBE_IMAGE) is not None:
        host.noop(f"{PROBE_IMAGE} exists")
        return
    candidates = " ".join(shlex.quote(c) for c in COREUTILS_LS_CANDIDATES)
    no_ls = fail(f"found no GNU coreutils ls ({', '.join(COREUTILS_LS_CANDIDATES)}); install coreutils")
    probe_dir = shlex.quote(PROBE_DIR.lstrip("/"))
    yield (
        'set -e; tmp=$(mktemp -d); trap \'rm -rf "$tmp"\' EXIT; mkdir "$tmp/bin"; '
        f'cp {shlex.quote(busybox)} "$tmp/bin/busybox"; ln -s busybox "$tmp/bin/sh"; '
        f'ls_bin=; for c in {candidates}; do if "$c" --version 2>/dev/null | grep -q "GNU coreutils"; '
        "then ls_bin=$c; break; fi; done; "
        f'[ -n "$ls_bin" ] || {{ {no_ls}; }}; cp -L "$ls_bin" "$tmp/bin/ls"; '
        'for lib in $(ldd "$ls_bin" | grep -o "/[^ ]*"); do '
        'mkdir -p "$tmp$(dirname "$lib")"; cp -L "$lib" "$tmp$lib"; done; '
        f'mkdir "$tmp/{probe_dir}"; echo pinacle > "$tmp/{probe_dir}/file"; '
        f'tar -C "$tmp" -c . | docker import -c \'CMD ["/bin/sh"]\' - {PROBE_IMAGE} >/dev/null'
    )


@operation()
def gvisor_runtime_works(settings: HostSettings) -> Generator[str, None, None]:
    """
    Prove a container really runs under the gVisor runtime and coreutils' ls works in it, or fail
    naming the fix.

    + settings: the validated host settings (the runtime name, the runsc binary)

    Reads facts only: a working runtime is a no-op, a broken one fails the deploy.
    """
    if not host.state.is_executing:
        return  # nothing is installed yet while the deploy is being planned
    name = settings.runsc_runtime_name
    version = host.get_fact(RunscVersion, path=settings.runsc_path) or "version unknown"
    probe = host.get_fact(RuntimeProbe, runtime=name, image=PROBE_IMAGE)
    if probe["ok"]:
        host.noop(f"a container runs under {name} (gVisor kernel, runsc {version}) and coreutils' ls works")
        return
    output = str(probe["output"])
    yield fail(
        f"the probe container failed under {name} (runsc {version}, {settings.runsc_path}): "
        f"{probe_failure_line(output)}\n{output.strip()[-400:]}\nfix: {runtime_failure_hint(output, settings)}"
    )


@operation()
def pod_egress(settings: HostSettings, script: str) -> Generator[str, None, None]:
    """
    Keep pods from reaching the host, link-local addresses, other pods and denied ranges.

    + settings: the validated host settings (address pools, ``pod_egress_deny``)
    + script: the installed ``pinacle-egress``

    The rules live in two chains of their own (PINACLE-EGRESS from DOCKER-USER, PINACLE-HOST
    from INPUT), which dockerd keeps across its restarts; a boot unit re-applies them.
    """
    state = host.get_fact(EgressRules, script=script, args=settings.egress_args)
    if state == "in-place":
        host.noop("the pod egress rules are in place")
        return
    yield " ".join([shlex.quote(script), "apply", *map(shlex.quote, settings.egress_args)])
