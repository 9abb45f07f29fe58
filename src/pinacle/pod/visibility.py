"""Which of a pod's routed ports the host's edge serves without a credential.

A pod file marks an app port public with ``ports[].visibility`` and a catalog service with the
pod-level ``visibility:`` map; everything else is private (the owner's credential is needed). The
edge serves ``localhost-PORT.pod-SLUG.DOMAIN`` for every routed port, and ``pod-SLUG.DOMAIN`` for
the main one, so the main name is public exactly when the main port is.
"""

from __future__ import annotations

from pinacle.catalog import CATALOG
from pinacle.spec import PodSpec


def public_ports(spec: PodSpec) -> frozenset[int]:
    """In-pod ports whose edge host name needs no credential."""
    services = {CATALOG[name].port for name in spec.services if spec.visibility.get(name) == "public"}
    apps = {app.port for app in spec.ports if app.visibility == "public"}
    return frozenset(services | apps)


def main_name_is_public(spec: PodSpec) -> bool:
    """Whether ``pod-SLUG.DOMAIN`` (the pod's main port) needs no credential."""
    return spec.main_port in public_ports(spec)
