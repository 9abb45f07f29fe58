"""Restore markers: the host's note that a pod is being rebuilt from a snapshot.

A marker is written (root-only, on the host) before a restore creates anything and removed after
the pod's host record, so a pod with a marker is an unfinished restore that a retry rebuilds. A
``--replace`` marker also keeps the replaced pod's host port: from the moment the old container is
removed until the new one holds the port, the marker is what reserves it (both in the ports a
rollout chooses from and in the claim of ``pinacle-pod-create``).

Pure and pydantic-free: the one pod-state read parses markers before the schema loads.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

RESTORE_DIR = "/var/lib/pinacle/restores"


def restore_marker_path(slug: str) -> str:
    return f"{RESTORE_DIR}/{slug}.json"


# Every marker, one line each prefixed with its file's path (:func:`parse_restore_markers` reads them).
READ_RESTORE_MARKERS = f"grep -H '' {RESTORE_DIR}/*.json 2>/dev/null || true"


@dataclass(frozen=True)
class RestoreMarker:
    """A restore under way (or killed): pod ``slug`` is being built from ``snapshot``.

    ``host_port`` is the port a ``--replace`` keeps (the pod it replaced may be gone already).
    """

    slug: str
    snapshot: str
    host_port: int | None = None

    def to_json(self) -> str:
        # Compact and sorted: pinacle-pod-create finds a reservation by the text '"host_port":N,'.
        data = {"version": 1, "slug": self.slug, "snapshot": self.snapshot, "host_port": self.host_port}
        return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str) -> RestoreMarker | None:
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            return None
        if not isinstance(data, dict) or data.get("version") != 1:
            return None
        slug, snapshot, port = data.get("slug"), data.get("snapshot"), data.get("host_port")
        if not isinstance(slug, str) or not isinstance(snapshot, str):
            return None
        return cls(slug, snapshot, port if isinstance(port, int) and not isinstance(port, bool) else None)


def parse_restore_markers(lines: Iterable[str]) -> dict[str, RestoreMarker]:
    """``grep -H '' RESTORE_DIR/*.json`` lines -> slug -> marker; a marker under another pod's
    file name, or one that does not parse, is left out."""
    markers = {}
    for line in lines:
        path, _, text = line.partition(":")
        marker = RestoreMarker.from_json(text)
        if marker is not None and path.rsplit("/", 1)[-1] == f"{marker.slug}.json":
            markers[marker.slug] = marker
    return markers


def restore_reservations(markers: Iterable[RestoreMarker]) -> dict[int, str]:
    """Port -> slug: the host ports unfinished ``--replace`` restores keep."""
    return {m.host_port: m.slug for m in markers if m.host_port is not None}
