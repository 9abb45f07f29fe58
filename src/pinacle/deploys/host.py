"""The host deploy: Docker, containerd and gVisor's runsc, idempotently, on any pod host."""

from __future__ import annotations

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Arch
from pyinfra.operations import apk, apt

from pinacle.errors import HostError
from pinacle.facts.host import HostPackageManager, InitSystem
from pinacle.host import HostSettings, host_settings, package_manager
from pinacle.operations import host as host_ops

HOST_DATA_DEFAULTS = {name: field.default for name, field in HostSettings.model_fields.items()}


@deploy("Provision a gVisor pod host", data_defaults=HOST_DATA_DEFAULTS)
def provision_host() -> None:
    """
    Install Docker, containerd and runsc, register the gVisor runtime and prove it runs a container.

    Host data (all optional, see ``pinacle.host.HostSettings``): ``runsc_source`` (``release`` or
    ``distro``), ``runsc_version``, ``runsc_runtime_name``, ``runsc_runtime_args``,
    ``runsc_rootfs_overlay``, ``docker_address_pools``, ``docker_live_restore``.
    """
    settings = host_settings(host.data.dict())
    packages = package_manager(host.get_fact(HostPackageManager))
    init = host.get_fact(InitSystem)

    wanted = list(packages.docker_packages)
    if settings.runsc_source == "distro":
        if packages.runsc_package is None:
            raise HostError(f"{packages.name} hosts have no runsc package: use runsc_source='release'")
        wanted.append(packages.runsc_package)

    if packages.name == "apt":
        apt.packages(
            name="Install Docker, containerd and tools",
            packages=wanted,
            update=True,
            cache_time=3600,
            no_recommends=True,
        )
    else:
        apk.packages(name="Install Docker, containerd and tools", packages=wanted, update=True)

    if settings.runsc_source == "release":
        host_ops.runsc_release(
            name=f"Install runsc {settings.runsc_version} (verified release)",
            version=settings.runsc_version,
            machine=host.get_fact(Arch),
        )
    host_ops.docker_daemon_config(name="Register the gVisor runtime in daemon.json", settings=settings, init=init)
    host_ops.daemons_running(name=f"Start containerd and Docker ({init} init)", init=init)
    host_ops.probe_image(name="Import the runtime probe image", busybox=packages.busybox_static)
    host_ops.gvisor_runtime_works(name=f"Check a container runs under {settings.runsc_runtime_name}", settings=settings)
