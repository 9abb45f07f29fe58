"""Installing pinacle's packaged host scripts (``src/pinacle/host_scripts/``) on a host."""

from __future__ import annotations

import importlib.resources

from pyinfra.operations import files


def install_host_script(what: str, dest: str) -> None:
    """Install the packaged host script of ``dest``'s name (``src/pinacle/host_scripts/``) at ``dest``."""
    files.put(
        name=f"Install the {what} script",
        src=str(importlib.resources.files("pinacle").joinpath("host_scripts", dest.rsplit("/", 1)[-1])),
        dest=dest,
        mode="755",
        create_remote_dir=True,
    )
