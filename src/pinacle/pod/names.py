"""What a pod's resources are called, where its files live, and the labels that mark them."""

from __future__ import annotations

LABEL_POD = "pinacle.pod"
LABEL_PORT = "pinacle.port"
LABEL_SPEC_HASH = "pinacle.spec-hash"
LABEL_SPEC_FIELDS = "pinacle.spec-fields"
LABEL_ROUTES = "pinacle.routes"
LABEL_DOMAIN = "pinacle.domain"
LABEL_NAME = "pinacle.name"
# On the helper container a restore fills the pod's workspace with (value: the pod's slug).
LABEL_RESTORE_HELPER = "pinacle.restore.helper"

# Inside the pod (the image's contract, see docker/README.md).
ROUTER_CONFIG_PATH = "/etc/pinacle/router/pod.conf"
SUPERVISOR_DIR = "/etc/pinacle/supervisor"
WORKSPACE = "/workspace"
POD_LOG_DIR = "/var/log/pinacle"  # inside the pod: one log per supervised service
# Every pod image has this unprivileged user; it owns /workspace and runs the pod's services
# (root stays reachable inside the pod through sudo).
POD_USER = "dev"
POD_HOME = f"/home/{POD_USER}"

# On the host, where no tenant can write: the authoritative record of each deployed pod, and the
# host-wide lock under which host ports are claimed. Both directories are root-only (0700).
RECORD_DIR = "/var/lib/pinacle/pods"
# Present on a host that `pinacle drain` emptied: placement puts no new pod there until `undrain`.
DRAINED_MARKER = "/var/lib/pinacle/drained"
LOCK_DIR = "/run/pinacle"
LOG_DIR = "/var/log/pinacle"  # on the host: dockerd's, the edge's and its credential daemon's logs
PORT_LOCK = f"{LOCK_DIR}/ports.lock"
# The host script that claims a port and creates, configures and starts a pod container
# (src/pinacle/host_scripts/pinacle-pod-create, installed by the host deploy).
POD_CREATE_SCRIPT = "/usr/local/lib/pinacle/pinacle-pod-create"
EGRESS_SCRIPT = "/usr/local/lib/pinacle/pinacle-egress"


def container_name(slug: str) -> str:
    return f"pinacle-{slug}"


def network_name(slug: str) -> str:
    return f"pinacle-{slug}"


def volume_name(slug: str) -> str:
    return f"pinacle-{slug}-workspace"


def record_path(slug: str) -> str:
    return f"{RECORD_DIR}/{slug}.json"


def pod_labels(slug: str) -> dict[str, str]:
    """The labels every resource of a pod carries, so nothing of it is ever orphaned."""
    return {LABEL_POD: slug}


def workspace_mount(slug: str) -> str:
    """``--mount`` of the pod's workspace volume; Docker creates it labelled if it is not there yet."""
    return f"type=volume,source={volume_name(slug)},target={WORKSPACE},volume-label={LABEL_POD}={slug}"


def lock_path(kind: str, name: str) -> str:
    """The host's lock of one ``kind`` of thing (``pod``, ``snapshot``) named ``name``, in the
    root-only lock directory; the host scripts build the same paths (``$lock_dir/KIND-NAME.lock``)."""
    return f"{LOCK_DIR}/{kind}-{name}.lock"


def pod_lock_path(slug: str) -> str:
    """The pod's own lock on its host: creating its network takes it."""
    return lock_path("pod", slug)
