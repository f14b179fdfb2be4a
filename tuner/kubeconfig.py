"""The Kubernetes API client of ``eni-tuner apply``: which kubeconfig, in which order.

Until the shared Kubernetes adapter package (``kube_adapter``) lands, this is what
``tuner/options.py`` held, unchanged.
"""

from __future__ import annotations

from pathlib import Path

import click
from kubernetes import config as kube_config
from kubernetes.client import ApiClient


def kube_client(kubeconfig: Path | None) -> ApiClient:
    """--kubeconfig, else the in-cluster service account, else ~/.kube/config."""
    try:
        if kubeconfig is None:
            try:
                kube_config.load_incluster_config()  # type: ignore[no-untyped-call]
                return ApiClient()
            except kube_config.ConfigException:
                pass
        path = str(kubeconfig) if kubeconfig else None
        api: ApiClient = kube_config.new_client_from_config(path)  # type: ignore[no-untyped-call]
        return api
    except (kube_config.ConfigException, OSError) as error:
        raise click.BadParameter(f"no usable Kubernetes configuration: {error}") from None
