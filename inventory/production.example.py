"""Example production inventory: pod hosts reached over SSH. Copy it, then edit the hosts.

    cp inventory/production.example.py inventory/production.py
    pyinfra inventory/production.py deploys/vm.py

Each group is ``(hosts, group data)``; each host is a name or ``(name, host data)``. Host data wins
over group data. The deploy detects the package manager and init system (apt + systemd, apk +
OpenRC, ...) on each host, so those are not declared here. Names starting with ``_`` are not
groups (pyinfra ignores them).
"""

# Shared by every pod host. (The pods' domain is not host data: pinacle-deploy reads it from
# PINACLE_DOMAIN, e.g. `PINACLE_DOMAIN=pinacle.dev pinacle-deploy -i inventory/production.py pod.yaml`.)
_POD_HOST_DATA = {
    # The official, checksum-verified gVisor release (the production default). Debian hosts that
    # cannot download it can take Debian trixie's runsc through apt instead ("debian-trixie": an
    # apt source for trixie pinned to runsc alone, signature-checked with the Debian archive
    # keyring); not "distro" on bookworm, whose runsc breaks coreutils' ls/stat in pods.
    "runsc_source": "release",
    # Log in as an unprivileged user and become root with sudo.
    "_sudo": True,
}

# Debian/Ubuntu hosts (apt, systemd).
debian_pod_hosts = (
    [
        "pod-host-1.example.com",
        "pod-host-2.example.com",
    ],
    {
        **_POD_HOST_DATA,
        "ssh_user": "deploy",
        # "ssh_key": "~/.ssh/pinacle_deploy",  # default: ssh-agent, ~/.ssh keys, ~/.ssh/config
    },
)

# Alpine hosts (apk, OpenRC), set up like the Lima development VM.
alpine_pod_hosts = (
    [
        ("pod-host-3.example.com", {"ssh_port": 2222}),
    ],
    {
        **_POD_HOST_DATA,
        "ssh_user": "alpine",
    },
)
