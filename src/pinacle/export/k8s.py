"""A resolved pod as Kubernetes objects, for clusters that run gVisor as a RuntimeClass.

Pure: a :class:`~pinacle.spec.PodSpec` and :class:`KubernetesOptions` in, plain dicts out (what
``kubectl apply -f`` reads once dumped as YAML). The pod is compiled by the same planner as a
Docker rollout (:func:`pinacle.pod.desired.plan_pod`), so its router config and supervisor program
files are byte for byte the ones ``pinacle-deploy`` copies into the container; here a ConfigMap
mounts them at the same in-pod paths, and the image's entrypoint finds them as it does under Docker.

Objects, in apply order:

- ``ConfigMap pinacle-SLUG-config``: the router config and one supervisor program file per service;
- ``Secret pinacle-SLUG-env`` (only when the pod file has ``env``): the environment, kept out of
  the StatefulSet because values may be secrets;
- ``Service pinacle-SLUG``: the in-pod router's port 80, also the StatefulSet's governing service;
- ``StatefulSet pinacle-SLUG`` of one replica, ``runtimeClassName`` gVisor, with the workspace as a
  volumeClaimTemplate (a StatefulSet rather than a bare Pod: the controller recreates the pod on
  another node when its node goes, keeps one stable claim for the workspace, and rolls the pod when
  its config changes);
- ``Ingress pinacle-SLUG``: ``pod-SLUG.DOMAIN`` and ``localhost-PORT.pod-SLUG.DOMAIN`` of every
  routed port, all to the router, which dispatches by host name exactly as on a pod host.

The RuntimeClass itself is cluster-level (created once by whoever installs gVisor on the nodes;
GKE Sandbox ships one named ``gvisor``), so it is rendered only when asked for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pinacle.errors import UsageError
from pinacle.pod.desired import PodPlan, plan_pod, sha256
from pinacle.pod.names import (
    LABEL_NAME,
    LABEL_POD,
    ROUTER_CONFIG_PATH,
    SUPERVISOR_DIR,
    WORKSPACE,
    container_name,
)
from pinacle.pod.settings import DeploySettings
from pinacle.spec import ROUTER_PORT, PodSpec

Manifest = dict[str, Any]

RUNTIME_CLASS = "gvisor"
# The image's user ``dev`` (uid/gid 1000, docker/README.md): the group that may write the workspace.
POD_GID = 1000
# Capabilities the image's PID 1 needs, each measured by dropping it under runsc: supervisord
# switches to ``dev`` (SETUID, SETGID) and signals dev's processes on stop and restart (KILL);
# nginx binds port 80 (NET_BIND_SERVICE) and chowns its temp directories to nobody (CHOWN).
POD_CAPABILITIES = ("CHOWN", "KILL", "NET_BIND_SERVICE", "SETGID", "SETUID")
# As ``docker stop -t`` of a pod (operations.pod.STOP_TIMEOUT): supervisord stops every service.
STOP_GRACE_SECONDS = 20
CONFIG_HASH_ANNOTATION = "pinacle.config-hash"
MANAGED_BY = "pinacle"

_ROUTER_KEY = "router-pod.conf"
_SERVICE_KEY_PREFIX = "service-"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z", re.ASCII)
_DNS_SUBDOMAIN = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z", re.ASCII
)
# A storage size: a positive whole or decimal amount and a binary or decimal suffix (10Gi, 500M).
_STORAGE_SIZE = re.compile(r"(?=[0-9.]*[1-9])[0-9]{1,15}(\.[0-9]{1,6})?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?\Z", re.ASCII)


@dataclass(frozen=True)
class KubernetesOptions:
    """Where and how the pod goes on a cluster; each value is checked when constructed.

    + namespace: ``metadata.namespace`` of every namespaced object; none: kubectl's current one
    + domain: the suffix of the pod's host names, as ``PINACLE_DOMAIN`` on a pod host
    + ingress_class: ``ingressClassName`` of the Ingress; none: the cluster's default class
    + storage_class: ``storageClassName`` of the workspace claim; none: the cluster's default
    + workspace_size: the workspace claim's size (a Kubernetes quantity: 10Gi, 500Mi)
    + runtime_class: the RuntimeClass that runs gVisor on the cluster's nodes
    + with_runtime_class: also render that RuntimeClass (handler: the pod's ``runtime``)
    """

    namespace: str | None = None
    domain: str = "localhost"
    ingress_class: str | None = None
    storage_class: str | None = None
    workspace_size: str = "10Gi"
    runtime_class: str = RUNTIME_CLASS
    with_runtime_class: bool = False

    def __post_init__(self) -> None:
        DeploySettings(domain=self.domain)  # the same check, and message, as PINACLE_DOMAIN's
        if self.namespace is not None and not _DNS_LABEL.fullmatch(self.namespace):
            raise UsageError(f"namespace {self.namespace!r} must be a DNS label: a-z, 0-9 and '-', at most 63")
        for what, value in (
            ("ingress class", self.ingress_class),
            ("storage class", self.storage_class),
            ("runtime class", self.runtime_class),
        ):
            if value is not None and not _DNS_SUBDOMAIN.fullmatch(value):
                raise UsageError(f"{what} {value!r} must be a DNS subdomain: a-z, 0-9, '-' and '.'")
        if not _STORAGE_SIZE.fullmatch(self.workspace_size):
            raise UsageError(f"workspace size {self.workspace_size!r} must be a positive quantity like 10Gi or 500Mi")


def object_name(slug: str) -> str:
    """The name of the pod's Service, StatefulSet and Ingress: its container's name on a pod host."""
    return container_name(slug)


def config_map_name(slug: str) -> str:
    return f"{object_name(slug)}-config"


def env_secret_name(slug: str) -> str:
    return f"{object_name(slug)}-env"


def workspace_claim_name(slug: str) -> str:
    """The PersistentVolumeClaim the StatefulSet creates from its template for its only replica."""
    return f"workspace-{object_name(slug)}-0"


def selector_labels(slug: str) -> dict[str, str]:
    """What the Service and the StatefulSet select the pod by: the label its Docker objects carry."""
    return {LABEL_POD: slug}


def object_labels(slug: str) -> dict[str, str]:
    return {
        **selector_labels(slug),
        "app.kubernetes.io/name": "pinacle-pod",
        "app.kubernetes.io/instance": slug,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def cpu_quantity(cpus: float) -> str:
    """Cores as a Kubernetes CPU quantity: ``2``, ``500m``; rounded up to a whole millicore."""
    millicores = max(1, math.ceil(Decimal(repr(cpus)) * 1000))
    return str(millicores // 1000) if millicores % 1000 == 0 else f"{millicores}m"


def memory_quantity(memory_mb: int) -> str:
    return f"{memory_mb}Mi"


def _service_key(program: str) -> str:
    return f"{_SERVICE_KEY_PREFIX}{program}.conf"


def config_map_data(plan: PodPlan) -> dict[str, str]:
    """The ConfigMap's keys: the router config and one ``service-NAME.conf`` per program."""
    return {
        _ROUTER_KEY: plan.router_config,
        **{_service_key(program.name): program.supervisor_conf() for program in plan.programs},
    }


def _metadata(name: str, slug: str, options: KubernetesOptions, **extra: Any) -> Manifest:
    metadata: Manifest = {"name": name}
    if options.namespace is not None:
        metadata["namespace"] = options.namespace
    metadata["labels"] = object_labels(slug)
    metadata.update(extra)
    return metadata


def _config_map(plan: PodPlan, options: KubernetesOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(config_map_name(plan.slug), plan.slug, options),
        "data": config_map_data(plan),
    }


def _env_secret(plan: PodPlan, options: KubernetesOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(env_secret_name(plan.slug), plan.slug, options),
        "type": "Opaque",
        "stringData": dict(plan.container.env),
    }


def _service(plan: PodPlan, options: KubernetesOptions) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(object_name(plan.slug), plan.slug, options),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(plan.slug),
            "ports": [{"name": "http", "port": ROUTER_PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def config_hash(plan: PodPlan) -> str:
    """A digest of the pod's files and env: a change of either rolls the pod.

    Kubernetes restarts nothing when a ConfigMap or Secret changes, and the image reads its router
    and services once at start. A digest, not the values: env values may be secrets.
    """
    files = "".join(f"{key}\0{sha256(text)}\0" for key, text in sorted(config_map_data(plan).items()))
    env = "".join(f"{key}\0{sha256(value)}\0" for key, value in plan.container.env)
    return sha256(f"{files}\1{env}")[:16]


def _container(plan: PodPlan) -> Manifest:
    quantities = {"cpu": cpu_quantity(plan.container.cpus), "memory": memory_quantity(plan.container.memory_mb)}
    container: Manifest = {
        "name": "pod",
        # No imagePullPolicy: Kubernetes' default pulls a :latest tag at every start (it may have
        # been rebuilt, as pinacle-deploy notices by image ID) and any other tag once per node.
        "image": plan.container.image,
        "ports": [{"name": "http", "containerPort": ROUTER_PORT, "protocol": "TCP"}],
        # Requests equal to limits: the scheduler reserves what the pod file asks for, as pinacle's
        # placement counts it, and the pod is in the Guaranteed QoS class.
        "resources": {"requests": dict(quantities), "limits": dict(quantities)},
    }
    if plan.container.env:
        container["envFrom"] = [{"secretRef": {"name": env_secret_name(plan.slug)}}]
    router_dir = ROUTER_CONFIG_PATH.rsplit("/", 1)[0]
    container["volumeMounts"] = [
        {"name": "workspace", "mountPath": WORKSPACE},
        {"name": "router", "mountPath": router_dir, "readOnly": True},
    ]
    if plan.programs:
        container["volumeMounts"].append({"name": "services", "mountPath": SUPERVISOR_DIR, "readOnly": True})
    # Ready once the router listens: a crashed app must not take the pod's terminal (the way to
    # fix the app) out of the Service; each service's own health is answered through the router.
    container["readinessProbe"] = {"tcpSocket": {"port": "http"}, "periodSeconds": 5}
    container["securityContext"] = {
        # PID 1 is root (supervisord, then nginx's master on port 80); every service runs as dev.
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"], "add": list(POD_CAPABILITIES)},
        # Writable, as under Docker: it is a development machine (pip --user, caches, /tmp).
        "readOnlyRootFilesystem": False,
    }
    return container


def _pod_spec(plan: PodPlan, options: KubernetesOptions) -> Manifest:
    router_file = ROUTER_CONFIG_PATH.rsplit("/", 1)[1]
    volumes: list[Manifest] = [
        {
            "name": "router",
            "configMap": {"name": config_map_name(plan.slug), "items": [{"key": _ROUTER_KEY, "path": router_file}]},
        }
    ]
    if plan.programs:  # no items at all would project every key, the router's too
        items = [{"key": _service_key(program.name), "path": f"{program.name}.conf"} for program in plan.programs]
        volumes.append({"name": "services", "configMap": {"name": config_map_name(plan.slug), "items": items}})
    return {
        "runtimeClassName": options.runtime_class,
        "automountServiceAccountToken": False,  # nothing in a pod talks to the cluster's API
        "enableServiceLinks": False,  # no env of other Services, as under Docker
        "terminationGracePeriodSeconds": STOP_GRACE_SECONDS,
        "securityContext": {
            # A new claim is root-owned; Docker's named volume takes /workspace's owner (dev) instead.
            "fsGroup": POD_GID,
            "fsGroupChangePolicy": "OnRootMismatch",
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [_container(plan)],
        "volumes": volumes,
    }


def _stateful_set(plan: PodPlan, options: KubernetesOptions) -> Manifest:
    claim: Manifest = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": options.workspace_size}},
    }
    if options.storage_class is not None:
        claim["storageClassName"] = options.storage_class
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": _metadata(object_name(plan.slug), plan.slug, options, annotations={LABEL_NAME: plan.name}),
        "spec": {
            "replicas": 1,
            "serviceName": object_name(plan.slug),
            "selector": {"matchLabels": selector_labels(plan.slug)},
            # The workspace outlives the pod's objects, as a Docker pod's volume without --purge.
            "persistentVolumeClaimRetentionPolicy": {"whenDeleted": "Retain", "whenScaled": "Retain"},
            "template": {
                "metadata": {
                    "labels": object_labels(plan.slug),
                    "annotations": {LABEL_NAME: plan.name, CONFIG_HASH_ANNOTATION: config_hash(plan)},
                },
                "spec": _pod_spec(plan, options),
            },
            "volumeClaimTemplates": [
                {"metadata": {"name": "workspace", "labels": object_labels(plan.slug)}, "spec": claim}
            ],
        },
    }


def host_names(plan: PodPlan) -> list[str]:
    """The pod's names: ``pod-SLUG.DOMAIN`` (its main port), then one per routed port."""
    return [f"pod-{plan.slug}.{plan.domain}", *(route.host_name(plan.slug, plan.domain) for route in plan.routes)]


def _ingress(plan: PodPlan, options: KubernetesOptions) -> Manifest:
    backend = {"service": {"name": object_name(plan.slug), "port": {"name": "http"}}}
    spec: Manifest = {}
    if options.ingress_class is not None:
        spec["ingressClassName"] = options.ingress_class
    spec["rules"] = [
        {"host": name, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
        for name in host_names(plan)
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": _metadata(object_name(plan.slug), plan.slug, options),
        "spec": spec,
    }


def runtime_class_object(handler: str, name: str = RUNTIME_CLASS) -> Manifest:
    """The cluster-level RuntimeClass that runs pods under gVisor (containerd's ``runsc`` handler)."""
    return {
        "apiVersion": "node.k8s.io/v1",
        "kind": "RuntimeClass",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": MANAGED_BY}},
        "handler": handler,
    }


def render_kubernetes_objects(spec: PodSpec, options: KubernetesOptions) -> list[Manifest]:
    """The pod as Kubernetes objects, in the order ``kubectl apply`` should create them."""
    plan = plan_pod(spec, DeploySettings(domain=options.domain))
    objects: list[Manifest] = []
    if options.with_runtime_class:
        objects.append(runtime_class_object(spec.runtime, options.runtime_class))
    objects.append(_config_map(plan, options))
    if plan.container.env:
        objects.append(_env_secret(plan, options))
    objects += [_service(plan, options), _stateful_set(plan, options), _ingress(plan, options)]
    return objects


def to_yaml(objects: list[Manifest], header: str = "") -> str:
    """A multi-document YAML stream; multi-line strings (the config files) as literal blocks."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True  # every object spelled out, no &id001 anchors

    def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _text)
    body = yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=120)
    comment = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines())
    return comment + body
