"""Reads of the pods on a host: one round trip reads all of them; health checks through routers.

Docker's own "No such ..." is the only thing read as absent: any other Docker failure (a stopped
daemon, a refused socket) fails the read with Docker's message, so it is never mistaken for a host
without pods. Pure: no pyinfra import (``pinacle.facts.pod`` wraps these as pyinfra facts).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pinacle.catalog import parse_image_services
from pinacle.daemon_json import DAEMON_JSON_PATH, gvisor_runtimes, parse_daemon_json
from pinacle.errors import HostError
from pinacle.pod.names import LABEL_POD, LABEL_RESTORE_HELPER, RECORD_DIR, container_name
from pinacle.pod.observed import ContainerRecord, HostPods, PodRecord, RecordError
from pinacle.pod.ports import listening_ports
from pinacle.pod.restoring import READ_RESTORE_MARKERS, parse_restore_markers, restore_reservations
from pinacle.readers import Read

# One JSON object per container: what the planner and every day-2 command read of it.
CONTAINER_FORMAT = (
    '{"name":{{json .Name}},"id":{{json .Id}},"status":{{json .State.Status}},'
    '"exit_code":{{.State.ExitCode}},"restart_count":{{.RestartCount}},'
    '"created":{{json .Created}},'
    '"image":{{json .Config.Image}},"runtime":{{json .HostConfig.Runtime}},'
    '"labels":{{json .Config.Labels}},"nano_cpus":{{.HostConfig.NanoCpus}},'
    '"memory":{{.HostConfig.Memory}},"env":{{json .Config.Env}}}'
)
IMAGE_FORMAT = "{{.Id}} {{json .Config.Labels}}"
SECTION = "#pinacle:"
K = TypeVar("K")


def parse_container(line: str) -> ContainerRecord:
    """A :data:`CONTAINER_FORMAT` line as a record."""
    raw: dict[str, Any] = json.loads(line)
    return ContainerRecord(
        name=str(raw.get("name", "")).lstrip("/"),
        id=str(raw.get("id", "")),
        status=str(raw.get("status", "")),
        exit_code=int(raw.get("exit_code") or 0),
        restart_count=int(raw.get("restart_count") or 0),
        created=str(raw.get("created", "")),
        image=str(raw.get("image", "")),
        runtime=str(raw.get("runtime", "")),
        labels=dict(raw.get("labels") or {}),
        cpus=int(raw.get("nano_cpus") or 0) / 1e9,
        memory_mb=int(raw.get("memory") or 0) // (1024 * 1024),
        env=tuple(raw.get("env") or ()),
    )


def _docker(args: str, section: str) -> str:
    """Run ``docker ARGS``; on failure print its message as an error line instead of its output."""
    return (
        f'out=$(docker {args} 2>&1) && {{ [ -z "$out" ] || printf "%s\\n" "$out"; }} '
        f'|| printf "{SECTION}error {section}: %s\\n" "$out"'
    )


def _at_once(parts: Sequence[str]) -> str:
    """Run the shell snippets ``parts`` concurrently, then print their outputs in order.

    Each part runs in a subshell of its own (an ``exit`` in one ends only that one), writing to a
    file of a private temporary directory that is removed on exit.
    """
    jobs = " ".join(f'( {part} ) >"$d/{i}" &' for i, part in enumerate(parts))
    files = " ".join(f'"$d/{i}"' for i in range(len(parts)))
    return (
        f"d=$(mktemp -d) || {{ echo '{SECTION}error host: cannot make a temporary directory'; exit 0; }}; "
        f"trap 'rm -rf \"$d\"' EXIT; {jobs} wait; cat {files}"
    )


def _image_section(image: str) -> str:
    return (
        f"echo {shlex.quote(SECTION + 'image ' + image)}; "
        f"docker image inspect --format {shlex.quote(IMAGE_FORMAT)} {shlex.quote(image)} 2>&1 || true"
    )


def _image_sections(images: Sequence[str]) -> list[str]:
    # Once each: pods of one image share its section (twice, the parser would see one section of two).
    return [_image_section(image) for image in sorted(set(images))]


def image_states_command(images: Sequence[str]) -> str:
    """The image sections of :func:`pod_states_command` alone: its output appended to that of
    ``pod_states_command()`` (no images) parses as ``pod_states_command(images)`` would."""
    return _at_once(_image_sections(images))


def pod_states_command(images: Sequence[str] = ()) -> str:
    """The one command :func:`pod_states` runs: sections of containers, networks, ... records.

    The Docker reads do not depend on each other (but for listing and then inspecting the
    containers), so they run at once; their sections are printed in a fixed order.
    """
    inspect = f"inspect --type container --format {shlex.quote(CONTAINER_FORMAT)}"
    containers = "; ".join(
        [
            f"echo '{SECTION}containers'",
            f"ids=$(docker ps -aq --filter label={LABEL_POD} 2>&1) || "
            f'{{ printf "{SECTION}error docker: %s\\n" "$ids"; exit 0; }}',
            # A container removed between listing and inspecting is absent: only Docker's "No such"
            # lines are let through beside the records (the parser refuses any other message).
            f'[ -z "$ids" ] || docker {inspect} $ids 2>&1 || true',
        ]
    )
    parts = [
        containers,
        f"echo '{SECTION}networks'; "
        + _docker(f"network ls --filter label={LABEL_POD} --format '{{{{.Name}}}}'", "networks"),
        f"echo '{SECTION}volumes'; "
        + _docker(f"volume ls --filter label={LABEL_POD} --format '{{{{.Name}}}}'", "volumes"),
    ]
    parts += _image_sections(images)
    steps = [
        _at_once(parts),
        f"echo '{SECTION}records'",
        # One line of JSON per record, each prefixed with its file's path: one process for all.
        f"grep -H '' {RECORD_DIR}/*.json 2>/dev/null || true",
        f"echo '{SECTION}restores'",
        READ_RESTORE_MARKERS,
        f"echo '{SECTION}listening'",
        "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null || true",
        # The runtimes registered for runsc: a pod under any other runtime is not sandboxed.
        f"echo '{SECTION}daemon'",
        f"cat {DAEMON_JSON_PATH} 2>/dev/null || true",
    ]
    return "; ".join(steps)


def parse_pod_states(output: Sequence[str]) -> HostPods:
    """:func:`pod_states_command`'s output as a :class:`HostPods`; HostError on a Docker failure."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in output:
        if line.startswith(SECTION + "error "):
            raise HostError(f"Docker failed while pinacle read the host: {line.removeprefix(SECTION + 'error ')}")
        if line.startswith(SECTION):
            current = sections.setdefault(line.removeprefix(SECTION), [])
        elif current is not None:
            current.append(line)
    containers = {}
    for line in sections.get("containers", []):
        if line.startswith("{"):
            container = parse_container(line)
            if container.slug and container.name == container_name(container.slug):
                containers[container.slug] = container
        elif line.strip() and "No such container" not in line:
            raise HostError(f"Docker failed while pinacle read the host's containers: {line.strip()}")
    images: dict[str, tuple[str, frozenset[str] | None]] = {}
    for key, lines in sections.items():
        if not key.startswith("image "):
            continue
        text = "\n".join(lines).strip()
        image_id, _, labels = text.partition(" ")
        if image_id.startswith("sha256:"):
            parsed = json.loads(labels) if labels.startswith("{") else None
            images[key.removeprefix("image ")] = (image_id, parse_image_services(parsed))
        elif text and "No such image" not in text:
            raise HostError(f"Docker failed while pinacle read image {key.removeprefix('image ')}: {text}")
    records: dict[str, PodRecord] = {}
    damaged: dict[str, str] = {}
    for line in sections.get("records", []):
        path, _, text = line.partition(":")
        slug = path.rsplit("/", 1)[-1].removesuffix(".json")
        try:
            record = PodRecord.from_json(text)
            if record.slug != slug:
                raise RecordError(f"it names pod {record.slug!r}")
            records[slug] = record
        except RecordError as exc:
            damaged[slug] = f"its host record {path} is damaged: {exc}"
    try:
        daemon = parse_daemon_json("\n".join(sections.get("daemon", [])))
    except HostError:
        daemon = {}  # no runtime can be trusted; the rollout refuses and doctor names the file
    return HostPods(
        gvisor_runtimes=gvisor_runtimes(daemon),
        containers=containers,
        networks=frozenset(n for n in sections.get("networks", []) if n),
        volumes=frozenset(v for v in sections.get("volumes", []) if v),
        images=images,
        records=records,
        damaged=damaged,
        listening=frozenset(listening_ports(sections.get("listening", []))),
        reserved=restore_reservations(parse_restore_markers(sections.get("restores", [])).values()),
    )


def pod_states(images: Sequence[str] = ()) -> Read[HostPods]:
    """Every pod on the host in one round trip: containers, networks, volumes, records, ports.

    + images: image references whose ID and services to read as well (the pods' images)
    """
    return Read(pod_states_command(images), parse_pod_states, HostPods)


def pod_container_command(container: str) -> str:
    fmt = shlex.quote(CONTAINER_FORMAT)
    return (
        f"out=$(docker inspect --type container --format {fmt} {shlex.quote(container)} 2>&1) "
        '&& printf "%s\\n" "$out" || { case "$out" in *"No such"*) echo absent;; '
        f'*) printf "{SECTION}error docker: %s\\n" "$out";; esac; }}'
    )


def parse_pod_container(output: Sequence[str]) -> ContainerRecord | None:
    line = output[-1] if output else "absent"
    if line.startswith(SECTION + "error "):
        raise HostError(f"Docker failed while pinacle read the host: {line.removeprefix(SECTION + 'error ')}")
    return parse_container(line) if line.startswith("{") else None


def pod_container(container: str) -> Read[ContainerRecord | None]:
    """The pod's container (by name), with its state and labels; None when Docker has no such one."""
    return Read(pod_container_command(container), parse_pod_container, lambda: None)


def pod_objects_command(slug: str) -> str:
    label = shlex.quote(f"{LABEL_POD}={slug}")
    helper = shlex.quote(f"{LABEL_RESTORE_HELPER}={slug}")
    return (
        f"docker ps -a --filter label={label} --format 'container {{{{.Names}}}}' && "
        # A killed restore's workspace helper holds the volume: it goes with the pod.
        f"docker ps -a --filter label={helper} --format 'container {{{{.Names}}}}' && "
        # IDs, not names: two networks of one name (a race of old versions) are removed alike
        f"docker network ls --filter label={label} --format 'network {{{{.ID}}}}' && "
        f"docker volume ls --filter label={label} --format 'volume {{{{.Name}}}}'"
    )


def no_pod_objects() -> dict[str, list[str]]:
    return {"container": [], "network": [], "volume": []}


def parse_pod_objects(output: Sequence[str]) -> dict[str, list[str]]:
    found = no_pod_objects()
    for line in output:
        kind, _, name = line.partition(" ")
        if kind in found and name:
            found[kind].append(name)
    return found


def pod_objects(slug: str) -> Read[dict[str, list[str]]]:
    """Every container, network and volume labelled as belonging to a pod (for delete and checks)."""
    return Read(pod_objects_command(slug), parse_pod_objects, no_pod_objects)


def route_status_command(urls: Sequence[str]) -> str:
    """One ``curl`` for every URL, in parallel, each connecting to this host's loopback.

    ``-g`` keeps ``[]`` and ``{}`` in a path literal: a health path is never a curl glob. Only the
    status is wanted: ``--max-filesize 1`` stops each transfer once the headers announce a body
    (curl then exits 63, and still prints the status), so a page of 700 kB costs no more than a
    status line.
    """
    args = " ".join(f"-o /dev/null {shlex.quote(url)}" for url in urls)
    return (
        "curl -g -s -m 5 --max-filesize 1 --parallel --parallel-max 64 --connect-to ::127.0.0.1: "
        f"-w '%{{http_code}} %{{url}}\\n' {args}; true"
    )


def parse_route_status(output: Sequence[str]) -> dict[str, int]:
    statuses: dict[str, int] = {}
    for line in output:
        code, _, url = line.strip().partition(" ")
        if code.isdigit() and url:
            statuses[url] = int(code)
    return statuses


def route_status(urls: Sequence[str]) -> Read[dict[str, int]]:
    """HTTP status of each URL (through the pods' published ports and routers); 0: no answer.

    + urls: the URLs to request, e.g. ``http://localhost-7681.pod-x.localhost:30000/``
    """
    return Read(route_status_command(urls), parse_route_status, dict)


def statuses_for(urls: Mapping[K, str], answered: Mapping[str, int]) -> dict[K, int]:
    """name -> status for ``urls`` (name -> URL), 0 where nothing answered."""
    return {name: answered.get(url, 0) for name, url in urls.items()}
