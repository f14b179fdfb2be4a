"""NodeENIConfig (NEC) objects: where they live in the API, what their annotations
mean as :mod:`pool_engine.config` values, and reading and patching them.

A NEC is cluster-scoped and named after its node; its ``tke.cloud.tencent.com/``
annotations carry the node's warm targets and limits (docs/contracts/annotations.md).
Parsing and validation stay in :mod:`pool_engine.config`; this module converts in
the other direction and reads the values in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from kube_adapter.errors import map_kubernetes_errors
from pool_engine.config import (
    IPS_PER_ENI_KEY,
    MAX_ATTACH_KEY,
    MAX_WARM_KEY,
    MIN_WARM_KEY,
    PREFIX,
    Defaults,
    Limits,
    Mode,
    Targets,
    Usage,
    parse_limits,
    parse_targets,
)
from pool_engine.errors import KubernetesError

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient, CustomObjectsApi

GROUP = "networking.tke.cloud.tencent.com"
VERSION = "v1"
KIND = "NodeENIConfig"
PLURAL = "nodeeniconfigs"
API_VERSION = f"{GROUP}/{VERSION}"


# --- annotations <-> pool_engine.config values ------------------------------------------


def tke_annotations(annotations: Mapping[str, str] | None) -> dict[str, str]:
    """Only the ``tke.cloud.tencent.com/`` annotations: the ones the engine reads."""
    return {k: v for k, v in (annotations or {}).items() if k.startswith(PREFIX)}


def targets_annotations(targets: Targets, mode: Mode) -> dict[str, str]:
    """Both keys of the warm-target pair of ``mode``, as written to a NEC."""
    return {MIN_WARM_KEY[mode]: str(targets.min_warm), MAX_WARM_KEY[mode]: str(targets.max_warm)}


def current_targets(annotations: Mapping[str, str], mode: Mode) -> Targets:
    """The targets in force: the NEC's valid pair, else the engine's defaults."""
    parsed = parse_targets(annotations, mode)
    return parsed if isinstance(parsed, Targets) else Defaults().targets(mode)


def capacity(annotations: Mapping[str, str], mode: Mode) -> int | None:
    """Max bindable slots when the NEC's limit annotations say (all keys needed)."""
    keys = [MAX_ATTACH_KEY[mode]] + ([IPS_PER_ENI_KEY] if mode is Mode.ROUTE_ENI else [])
    if not all(k in annotations for k in keys):
        return None
    limits = parse_limits(annotations, mode, Limits(0, 1), Usage())
    return limits.capacity if isinstance(limits, Limits) else None


# --- the objects through the API --------------------------------------------------------


class Necs:
    """NEC objects through the API; errors arrive as :mod:`pool_engine.errors`."""

    def __init__(self, api: ApiClient, custom: CustomObjectsApi | None = None) -> None:
        from kubernetes import client

        self._custom = custom or client.CustomObjectsApi(api)

    def get(self, name: str) -> dict[str, Any] | None:
        """The object, or None when there is none."""
        try:
            with map_kubernetes_errors():
                found = self._custom.get_cluster_custom_object(GROUP, VERSION, PLURAL, name)
        except KubernetesError as error:
            if error.status == 404:
                return None
            raise
        return cast(dict[str, Any], found)

    def patch(self, name: str, body: Mapping[str, Any], *, dry_run: bool = False) -> bool:
        """Merge-patch one object; False when it is gone. A stale resourceVersion in
        ``body`` raises :class:`~pool_engine.errors.KubernetesConflict`."""
        try:
            with map_kubernetes_errors():
                self._custom.patch_cluster_custom_object(
                    GROUP, VERSION, PLURAL, name, dict(body), dry_run="All" if dry_run else None
                )
        except KubernetesError as error:
            if error.status == 404:
                return False
            raise
        return True

    def list(self, selector: str | None = None) -> list[dict[str, Any]]:
        """Every object, or those whose labels match ``selector``."""
        with map_kubernetes_errors():
            reply = self._custom.list_cluster_custom_object(
                GROUP, VERSION, PLURAL, label_selector=selector
            )
        return list(cast(dict[str, Any], reply).get("items") or [])
