"""This machine, through pyinfra's ``@local`` connector (CI: Debian bookworm, root, no systemd).

Usage: ``pyinfra inventory/local.py deploys/vm.py``
"""

local = [
    (
        "@local",
        {
            # gVisor from Debian's archive, with no download from outside the distribution: the
            # official release cannot be fetched here. Bookworm's own runsc (0.0~20221219) rejects
            # a statx flag, so coreutils' ls/stat fail with "Invalid argument" in every pod; the
            # deploy therefore takes trixie's runsc (0.0~20240729, a static binary) through an apt
            # source for trixie that is pinned to runsc alone (priority 1 for everything else) and
            # checked against bookworm's debian-archive-keyring, which carries trixie's keys. The
            # mirror is the one this host's bookworm sources use.
            "runsc_source": "debian-trixie",
            # On this machine's kernel both Debian runsc versions refuse every network mode with
            # "cannot run with network enabled in root network namespace" (gVisor issue 10704).
            # Registered in daemon.json with runtimeArgs ["--network=host"] they run, and each
            # sandbox still sits in its container's own network namespace (Docker creates it), so
            # pods stay isolated from each other and from the host network. The deploy adds its
            # default --overlay2=none after these flags (host data runsc_rootfs_overlay).
            "runsc_runtime_args": ["--network=host"],
        },
    ),
]
