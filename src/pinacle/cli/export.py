"""``pinacle export k8s POD_FILE``: a pod file as Kubernetes objects, for clusters that run gVisor."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from pinacle.cli.errors import report_errors
from pinacle.errors import UsageError


@click.group()
def export() -> None:
    """Render a pod file for another platform than a pinacle pod host."""


@export.command("k8s")
@click.argument("pod_file", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the YAML here (mode 0600); default: stdout."
)
@click.option("--namespace", help="metadata.namespace of every object; default: kubectl's current namespace.")
@click.option("--domain", help="Suffix of the pod's host names; default: $PINACLE_DOMAIN, else localhost.")
@click.option("--ingress-class", help="ingressClassName of the Ingress; default: the cluster's default class.")
@click.option("--storage-class", help="storageClassName of the workspace claim; default: the cluster's default.")
@click.option("--workspace-size", default="10Gi", show_default=True, help="Size of the workspace claim.")
@click.option("--runtime-class", default="gvisor", show_default=True, help="RuntimeClass that runs gVisor.")
@click.option(
    "--with-runtime-class", is_flag=True, help="Also render that RuntimeClass (cluster-level; handler: the runtime)."
)
@report_errors
def k8s(
    pod_file: Path,
    output: Path | None,
    namespace: str | None,
    domain: str | None,
    ingress_class: str | None,
    storage_class: str | None,
    workspace_size: str,
    runtime_class: str,
    with_runtime_class: bool,
) -> None:
    """Render POD_FILE as Kubernetes objects: ConfigMap, Secret (env), Service, StatefulSet, Ingress.

    The pod file is resolved and checked exactly as pinacle-deploy does; nothing is written when it
    is bad. Apply the result with kubectl apply -f.
    """
    from pinacle.export.k8s import KubernetesOptions, render_kubernetes_objects, to_yaml
    from pinacle.pod.settings import DeploySettings
    from pinacle.resolver import resolve

    options = KubernetesOptions(
        namespace=namespace,
        domain=domain if domain is not None else DeploySettings.from_env().domain,
        ingress_class=ingress_class,
        storage_class=storage_class,
        workspace_size=workspace_size,
        runtime_class=runtime_class,
        with_runtime_class=with_runtime_class,
    )
    text = to_yaml(
        render_kubernetes_objects(resolve(pod_file), options),
        header=f"Kubernetes objects of pod file {pod_file.name}, rendered by pinacle export k8s.",
    )
    if output is None:
        click.echo(text, nl=False)
    else:
        _write_private(output, text)


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all, readable by its owner only (env may be secret)."""
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
