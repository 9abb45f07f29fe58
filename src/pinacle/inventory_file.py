"""Load a pyinfra inventory file the way pyinfra's CLI does, without importing its CLI.

Importing anything under ``pyinfra_cli`` runs ``gevent.monkey.patch_all()``: threads, locks and
sockets of the whole process become gevent's. That is what the ``pyinfra`` command wants, and what
a web backend calling :class:`pinacle.PodManager` from its worker threads must never get. So
pinacle reads inventory files itself, with pyinfra's rules:

* every module-level list, or ``(hosts, data)`` tuple, whose name does not start with ``_`` is a
  group; a host is a name or ``(name, host data)``;
* ``all`` (when the file does not define it) holds every host, and the file's own name is a group;
* ``group_data/GROUP.py`` next to the inventory file (and in the working directory) adds group data.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path
from typing import Any

from pyinfra.api import Inventory


def _is_group(name: str, value: Any) -> bool:
    if name.startswith("_"):
        return False
    hosts = value[0] if isinstance(value, tuple) and value else value
    return isinstance(hosts, list) and all(isinstance(h, str | tuple) for h in hosts)


def _run(path: Path) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__file__": str(path)}
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)
    return namespace


def _imported_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    return names


def _group_data(folder: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return found
    for file in sorted(folder.glob("*.py")):
        attrs = _run(file)
        keys = attrs.get("__all__") or [k for k in attrs if k not in _imported_names(file)]
        found[file.stem] = {k: v for k, v in attrs.items() if k in keys and not k.startswith("__")}
    return found


def _name(host: Any) -> str:
    return str(host[0] if isinstance(host, tuple) else host)


def load_inventory_file(path: str | Path, cwd: str | Path | None = None) -> Inventory:
    """The inventory an inventory file describes (its code runs, as pyinfra runs it)."""
    path = Path(path)
    groups: dict[str, Any] = {k: v for k, v in _run(path).items() if _is_group(k, v)}
    all_data: dict[str, Any] = {}
    if "all" in groups:
        all_hosts = groups.pop("all")
        if isinstance(all_hosts, tuple):
            all_hosts, all_data = all_hosts
    else:
        all_hosts = []
        for hosts in groups.values():
            for host in hosts[0] if isinstance(hosts, tuple) else hosts:
                if _name(host) not in all_hosts:
                    all_hosts.append(_name(host))
    groups.setdefault(path.stem, all_hosts)
    folders = [Path(cwd or Path.cwd()) / "group_data", path.resolve().parent / "group_data"]
    extra: dict[str, dict[str, Any]] = defaultdict(dict)
    for folder in dict.fromkeys(folders):  # once each, in order
        for group, data in _group_data(folder).items():
            extra[group].update(data)
    shaped: dict[str, tuple[list[Any], dict[str, Any]]] = {}
    for name, hosts in groups.items():
        hosts, data = hosts if isinstance(hosts, tuple) else (hosts, {})
        shaped[name] = (list(hosts), {**data, **extra.pop(name, {})})
    for name, data in extra.items():
        if name != "all":
            shaped[name] = ([], data)
    all_data = {**all_data, **extra.get("all", {})}
    return Inventory((all_hosts, all_data), **shaped)
