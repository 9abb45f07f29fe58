"""The test fleet: three pod hosts on this machine, each behind its own sshd (``scripts/fleet.sh up``).

    scripts/fleet.sh up && scripts/fleet.sh provision      # = pyinfra -y inventory/fleet-test.py deploys/vm.py + images
    PINACLE_FLEET_HOSTS=fleet-host2 pinacle-deploy -i inventory/fleet-test.py pod.yaml

Each host is a set of namespaces of this machine with its own address, Docker engine, data root,
/etc/docker, /var/lib/pinacle and address pools (see scripts/fleet.sh and the README's "Test
fleet"). ``PINACLE_FLEET_HOSTS`` (comma-separated names) keeps only those hosts: a target of one
host. ``PINACLE_FLEET_EDGE=http`` (or ``https``) turns every host's edge on.
"""

import os

_EDGE = os.environ.get("PINACLE_FLEET_EDGE", "")
if _EDGE not in ("", "http", "https"):
    raise ValueError(f"PINACLE_FLEET_EDGE is http, https or unset, got {_EDGE!r}")
_STATE = "/var/lib/pinacle-fleet"  # scripts/fleet.sh writes the client key and known hosts here

# Per host: its number (address 10.250.N.2, pools 10.21(N-1).0.0/16) and its labels.
_HOSTS = {
    "fleet-host1": (1, {"zone": "a"}),
    "fleet-host2": (2, {"zone": "b"}),
    "fleet-host3": (3, {"zone": "b", "gpu": "no"}),
}


def _host(name: str) -> tuple[str, dict[str, object]]:
    number, labels = _HOSTS[name]
    return (
        name,
        {
            "ssh_hostname": f"10.250.{number}.2",
            "ssh_port": 22,
            "ssh_user": "root",
            "ssh_key": f"{_STATE}/client_key",
            "ssh_known_hosts_file": f"{_STATE}/known_hosts",
            "ssh_strict_host_key_checking": "yes",
            # Pods of different hosts never share an address, as on a real fleet behind one edge.
            "docker_address_pools": [{"base": f"10.21{number - 1}.0.0/16", "size": 24}],
            "host_labels": labels,
        },
    )


def _selected() -> list[str]:
    wanted = [name.strip() for name in os.environ.get("PINACLE_FLEET_HOSTS", "").split(",") if name.strip()]
    unknown = sorted(set(wanted) - set(_HOSTS))
    if unknown:
        raise ValueError(f"PINACLE_FLEET_HOSTS names no fleet host: {', '.join(unknown)} (known: {', '.join(_HOSTS)})")
    return wanted or list(_HOSTS)


fleet = (
    [_host(name) for name in _selected()],
    {
        # As inventory/local.py: the runsc this machine has (Debian trixie's, pinned), with the
        # runtime arguments its kernel needs.
        "runsc_source": "debian-trixie",
        "runsc_runtime_args": ["--network=host"],
        # The hosts share this machine's package database (and have no route to any mirror): its
        # own deploy keeps apt's lists fresh, the fleet's must not race it for apt's lock.
        "apt_update": False,
        # Most fleet tests reach pods at their host's own address (PINACLE_PUBLISH_ADDRESS=0.0.0.0),
        # which an edge refuses; PINACLE_FLEET_EDGE=http (or https: TLS from each host's local CA)
        # runs an edge on every host instead, each forwarding the names of its peers' pods to theirs
        # (tests/integration/fleet/test_fleet_routes.py).
        "edge_enabled": _EDGE in ("http", "https"),
        "edge_tls": _EDGE == "https",
    },
)
