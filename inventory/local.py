"""This machine, through pyinfra's ``@local`` connector (CI: Debian bookworm, root, no systemd).

Usage: ``pyinfra inventory/local.py deploys/vm.py``
"""

local = [
    (
        "@local",
        {
            # gVisor from Debian's archive (`apt-get install runsc`): no download from outside
            # the distribution is needed on this kind of machine.
            "runsc_source": "distro",
            # Debian bookworm ships runsc 0.0~20221219. On this machine's kernel it refuses every
            # network mode with "cannot run with network enabled in root network namespace";
            # registered in daemon.json with runtimeArgs ["--network=host"] it runs, and each
            # sandbox still sits in its container's own network namespace (Docker creates it),
            # so pods stay isolated from each other and from the host network. Newer official
            # releases (runsc_source = "release") do not need this.
            "runsc_runtime_args": ["--network=host"],
        },
    ),
]
