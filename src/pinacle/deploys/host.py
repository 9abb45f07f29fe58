"""The host deploy: Docker, containerd and gVisor's runsc, idempotently, on any pod host."""

from __future__ import annotations

import io

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Arch
from pyinfra.operations import apk, apt, files, openrc, systemd

from pinacle.deploys.edge import edge_off, provision_edge
from pinacle.deploys.scripts import install_host_script
from pinacle.facts.host import HostPackageManager, InitSystem
from pinacle.hostspec import HostSettings, egress_boot_unit, host_settings, package_manager, runsc_source
from pinacle.operations import host as host_ops
from pinacle.pod.names import EGRESS_SCRIPT, POD_CREATE_SCRIPT
from pinacle.snapshots import SNAPSHOT_SCRIPT

HOST_DATA_DEFAULTS = {name: field.default for name, field in HostSettings.model_fields.items()}


@deploy("Provision a gVisor pod host", data_defaults=HOST_DATA_DEFAULTS)
def provision_host() -> None:
    """
    Install Docker, containerd and runsc, register the gVisor runtime and prove it runs a container.

    Host data (all optional, see ``pinacle.hostspec.HostSettings``): ``runsc_source``, ``runsc_version``,
    ``runsc_runtime_name``, ``runsc_runtime_args``, ``runsc_debian_mirror``, ``runsc_rootfs_overlay``,
    ``docker_address_pools``, ``docker_live_restore``, ``apt_update``, ``pod_egress_rules``,
    ``pod_egress_deny``, the edge's ``edge_enabled``, ``edge_http_port``, ``edge_https_port``, ``edge_tls``,
    ``edge_tls_cert``, ``edge_tls_key``, ``edge_forward_auth_url``, ``edge_forward_auth_signin``,
    ``edge_address``.

    ``runsc_source`` picks where runsc comes from:

    * ``release`` (default): the official gVisor release, SHA-512-checked, in /usr/local/bin;
    * ``distro``: the distro's ``runsc`` package (apt hosts);
    * ``debian-trixie``: Debian trixie's ``runsc`` package on a Debian (bookworm) host, through an
      apt source for trixie pinned to runsc alone and checked against the Debian archive keyring.
      Hosts on apk, or not on Debian, are refused with the source to use instead.

    The last step starts a container under the runtime and runs coreutils' ``ls`` in it; a runsc
    that breaks it (or does not start at all) fails the deploy with the fix.
    """
    settings = host_settings(host.data.dict())
    packages = package_manager(host.get_fact(HostPackageManager))
    source = runsc_source(settings, packages)
    init = host.get_fact(InitSystem)

    wanted = list(packages.docker_packages)
    if source.package and source.debian_suite is None:
        wanted.append(source.package)

    if packages.name == "apt":
        apt.packages(
            name="Install Docker, containerd and tools",
            packages=wanted,
            update=settings.apt_update,
            cache_time=3600,
            no_recommends=True,
        )
    else:
        apk.packages(name="Install Docker, containerd and tools", packages=wanted, update=True)

    if source.debian_suite is not None and source.package is not None:
        host_ops.runsc_debian_suite(
            name=f"Install {source.package} from Debian {source.debian_suite} (pinned apt source)",
            suite=source.debian_suite,
            package=source.package,
            mirror=settings.runsc_debian_mirror,
        )
    elif packages.name == "apt":
        host_ops.no_pinned_debian_suites(name="Remove pinacle's pinned Debian suites (not used)")
    if source.name == "release":
        host_ops.runsc_release(
            name=f"Install runsc {settings.runsc_version} (verified release)",
            version=settings.runsc_version,
            machine=host.get_fact(Arch),
        )
    host_ops.docker_daemon_config(name="Register the gVisor runtime in daemon.json", settings=settings, init=init)
    host_ops.daemons_running(name=f"Start containerd and Docker ({init} init)", init=init)
    install_host_script("pod create", POD_CREATE_SCRIPT)
    if settings.pod_egress_rules:
        install_host_script("pod egress", EGRESS_SCRIPT)
        host_ops.pod_egress(
            name="Pod egress rules (no host, metadata, other pods)", settings=settings, script=EGRESS_SCRIPT
        )
        if unit := egress_boot_unit(init, EGRESS_SCRIPT):
            path, text = unit
            files.put(name="Install the egress rules' boot unit", src=io.StringIO(text), dest=path, mode="755")
            if init == "systemd":
                systemd.service(name="Enable the egress rules at boot", service="pinacle-egress", enabled=True)
            else:
                openrc.service(name="Enable the egress rules at boot", service="pinacle-egress", enabled=True)
    install_host_script("snapshot", SNAPSHOT_SCRIPT)
    if settings.edge_enabled:
        provision_edge(settings.edge, packages, init)
    else:
        edge_off(init)
    host_ops.probe_image(name="Import the runtime probe image", busybox=packages.busybox_static)
    host_ops.gvisor_runtime_works(
        name=f"Check a container runs under {settings.runsc_runtime_name} (and coreutils' ls in it)",
        settings=settings,
    )
