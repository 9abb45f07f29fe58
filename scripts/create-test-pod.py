#!/usr/bin/env python3
"""The original design's manual test, in Python, against pinacle's public API.

Creates pod ``test-pod`` with code-server and Vibe Kanban, prints its status and URLs, then stops
and deletes it (``--keep`` leaves it running to open in a browser)::

    .venv/bin/python scripts/create-test-pod.py                 # this machine (@local) on Linux
    .venv/bin/python scripts/create-test-pod.py --target lima   # the Lima VM (macOS)
"""

from __future__ import annotations

import argparse
import sys

from pinacle import PinacleError, PodManager, PodSpec, ProgressEvent


def show(event: ProgressEvent) -> None:
    print(f"==> {event.message} [{event.elapsed:.1f}s]", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", help="@local, lima, lima:NAME, @ssh/HOST or an inventory file")
    parser.add_argument("--image", default="pinacle/workstation:latest", help="the pod's image")
    parser.add_argument("--slug", default="test-pod")
    parser.add_argument("--services", default="code-server,vibe-kanban", help="comma-separated catalog services")
    parser.add_argument("--keep", action="store_true", help="leave the pod running")
    args = parser.parse_args(argv)

    manager = PodManager(args.target, progress=show)
    spec = PodSpec(name=args.slug, slug=args.slug, image=args.image, services=args.services.split(","))
    try:
        manager.create(spec)
        status = manager.status(spec.slug)
        print(f"pod {status.slug} is {status.state} on {status.host} under {status.runtime}")
        for service in status.services:
            print(f"  {service.name:<14} HTTP {service.http_status}  {service.url}")
        if args.keep:
            return 0
        manager.stop(spec.slug)
        print(f"pod {spec.slug} stopped: {manager.status(spec.slug).state}")
        manager.delete(spec.slug, purge=True)
        print(f"pod {spec.slug} deleted")
    except PinacleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
