"""What the host shows of a pod: its container as Docker describes it, and the pod's host record."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pinacle.pod.names import LABEL_POD, LABEL_PORT, LABEL_SPEC_HASH


@dataclass(frozen=True)
class ContainerRecord:
    """One pod container as ``docker inspect`` describes it (facts ``PodStates``, ``PodContainer``).

    The planner reads its labels and state; day-2 commands read the rest.
    """

    name: str
    id: str
    status: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int = 0
    restart_count: int = 0
    created: str = ""
    image: str = ""
    runtime: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    cpus: float = 0.0
    memory_mb: int = 0
    env: tuple[str, ...] = ()
    # The resolved pod file from the pod's host record, when it has one (see with_record).
    spec_data: Mapping[str, Any] | None = None

    @property
    def slug(self) -> str:
        return self.labels.get(LABEL_POD, "")

    @property
    def host_port(self) -> int | None:
        raw = self.labels.get(LABEL_PORT, "")
        return int(raw) if raw.isdigit() else None

    @property
    def spec_hash(self) -> str | None:
        return self.labels.get(LABEL_SPEC_HASH)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def state(self) -> str:
        """``running``, ``stopped`` (exit 0 or stopped by hand), ``exited (N)``, ``dead``, ..."""
        if self.status == "exited":
            return "stopped" if self.exit_code in (0, 143) else f"exited ({self.exit_code})"
        return self.status


class RecordError(ValueError):
    """A host record that cannot be read back: the pod is reported damaged, never guessed at."""


@dataclass(frozen=True)
class PodRecord:
    """What the last rollout applied to a pod, kept on the host (``names.record_path``).

    The tenant can rewrite anything inside the pod, so nothing a day-2 command decides on is read
    from there: this record, beside the container's create-time labels, is the pod's one home.

    + slug: the pod
    + spec: the resolved pod file, as JSON data
    + domain: the domain its URLs were made for
    + spec_hash: the container spec hash the configuration was applied to
    + config: path -> sha256 of every file pinacle wrote into that container
    + host_port: the port the pod holds, so an interrupted replacement does not move it
    """

    slug: str
    spec: Mapping[str, Any] = field(hash=False)
    domain: str
    spec_hash: str
    config: Mapping[str, str] = field(hash=False)
    host_port: int | None = None

    def to_json(self) -> str:
        data = {
            "version": 1,
            "slug": self.slug,
            "spec": self.spec,
            "domain": self.domain,
            "spec_hash": self.spec_hash,
            "config": dict(self.config),
            "host_port": self.host_port,
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str) -> PodRecord:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or data.get("version") != 1:
            raise RecordError("not a version 1 pod record")
        spec, config = data.get("spec"), data.get("config")
        texts = (data.get("slug"), data.get("domain"), data.get("spec_hash"))
        if not isinstance(spec, dict) or not isinstance(config, dict) or not all(isinstance(t, str) for t in texts):
            raise RecordError("a field of the record has the wrong type")
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in config.items()):
            raise RecordError("config must map paths to sha256 digests")
        port = data.get("host_port")
        if port is not None and (not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535):
            raise RecordError("host_port must be a port number or null")
        return cls(
            slug=str(texts[0]), spec=spec, domain=str(texts[1]), spec_hash=str(texts[2]), config=config, host_port=port
        )


@dataclass(frozen=True)
class ObservedPod:
    """What the host has of one pod, as read by facts in one round trip."""

    network: bool = False
    volume: bool = False
    container: ContainerRecord | None = None
    image_id: str | None = None
    # The catalog services the pod's image carries (its label); None for a non-pinacle image.
    image_services: frozenset[str] | None = None
    record: PodRecord | None = None
    # Why the host record could not be read, when there is one that is damaged.
    record_error: str = ""
    # The runtimes the host registered for runsc (None: not read, as in a restore's fresh diff).
    gvisor_runtimes: frozenset[str] | None = None


@dataclass(frozen=True)
class HostPods:
    """Everything of every pod on one host, as ``facts.pod.PodStates`` reads it in one round trip.

    + containers: slug -> the pod's container (``pinacle-<slug>``; helper containers are left out)
    + networks, volumes: names of the networks and volumes labelled as a pod's
    + images: image reference -> (image ID, catalog services it carries or None), for those asked
    + records: slug -> host record; damaged: slug -> why its record could not be read
    + listening: ports something on the host listens on
    + gvisor_runtimes: the runtime names daemon.json registers for a runsc binary
    + reserved: port -> the pod whose unfinished ``restore --replace`` keeps it (its restore marker)
    """

    containers: Mapping[str, ContainerRecord] = field(default_factory=dict)
    networks: frozenset[str] = frozenset()
    volumes: frozenset[str] = frozenset()
    images: Mapping[str, tuple[str, frozenset[str] | None]] = field(default_factory=dict)
    records: Mapping[str, PodRecord] = field(default_factory=dict)
    damaged: Mapping[str, str] = field(default_factory=dict)
    listening: frozenset[int] = frozenset()
    gvisor_runtimes: frozenset[str] = frozenset()
    reserved: Mapping[int, str] = field(default_factory=dict)

    def sandboxed(self, container: ContainerRecord) -> bool:
        """Does ``container`` run under one of the host's gVisor runtimes?"""
        return container.runtime in self.gvisor_runtimes

    def problem(self, container: ContainerRecord) -> str:
        """What is wrong with a pod beyond its health (empty if nothing): it is not sandboxed, or
        its host record is damaged. Day-2 commands show it loudly; a rollout repairs both."""
        if not self.sandboxed(container):
            return (
                f"NOT SANDBOXED: it runs under runtime {container.runtime or 'unknown'}, which is not a gVisor "
                "runtime on this host; `pinacle-deploy` its pod file to replace it, "
                f"or `pinacle delete {container.slug}`"
            )
        return self.damaged.get(container.slug, "")

    def taken_ports(self) -> dict[int, str]:
        """Port -> owner: the pod whose container holds it or whose unfinished restore keeps it
        (between removing the pod it replaces and creating its own), or "" for any other listener."""
        taken = dict.fromkeys(self.listening, "")
        taken.update(self.reserved)
        for slug, container in self.containers.items():
            if container.host_port is not None:
                taken[container.host_port] = slug
        return taken

    def observe(self, slug: str, image: str, network: str, volume: str) -> ObservedPod:
        """What the diff needs of one pod."""
        image_id, services = self.images.get(image, (None, None))
        return ObservedPod(
            network=network in self.networks,
            volume=volume in self.volumes,
            container=self.containers.get(slug),
            image_id=image_id,
            image_services=services,
            record=self.records.get(slug),
            record_error=self.damaged.get(slug, ""),
            gvisor_runtimes=self.gvisor_runtimes,
        )
