"""What the `eni-tuner switch` tests share: the NEC annotation keys, the command run as
``eni-tuner`` runs it (our errors end it with their exit code), and reading a NEC's
annotations, Events and labels back from the API server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner
from kubernetes import client

from kube_adapter.logs import error_line
from pool_engine.errors import PoolEngineError
from tuner.cli import cli

from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION

P = "tke.cloud.tencent.com/"
MIN, MAX = P + "route-eni-ip-min-warm-target", P + "route-eni-ip-max-warm-target"
DMIN, DMAX = P + "direct-eni-min-warm-target", P + "direct-eni-max-warm-target"
SCHEDULE = "eni-pool.io/warm-schedule"
DIRECT_SCHEDULE = "eni-pool.io/direct-eni-warm-schedule"
OPT_OUT = "eni-pool.io/tuner-opt-out"


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    error: str
    """The one-line error ``main`` would print, or ""."""


def run(*args: str) -> Ran:
    """The command as ``eni-tuner`` runs it: our errors end it with their exit code."""
    result = CliRunner().invoke(cli, list(args))
    error = result.exception
    if isinstance(error, PoolEngineError):
        return Ran(error.exit_code, result.stdout, error_line(error))
    if error is not None and not isinstance(error, SystemExit):
        raise error
    return Ran(result.exit_code, result.stdout, result.output if result.exit_code else "")


def nec(api: client.ApiClient, name: str) -> dict[str, Any]:
    got: dict[str, Any] = client.CustomObjectsApi(api).get_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name
    )
    return got


def notes(api: client.ApiClient, name: str) -> dict[str, str]:
    return dict(nec(api, name)["metadata"].get("annotations") or {})


def pair(api: client.ApiClient, name: str, keys: tuple[str, str] = (MIN, MAX)) -> tuple[str, str]:
    got = notes(api, name)
    return got.get(keys[0], "-"), got.get(keys[1], "-")


def events(api: client.ApiClient, name: str, reason: str) -> list[client.CoreV1Event]:
    found = client.CoreV1Api(api).list_event_for_all_namespaces(
        field_selector=f"involvedObject.name={name}"
    )
    return [e for e in found.items if e.reason == reason]


def label(api: client.ApiClient, name: str, value: str) -> None:
    client.CustomObjectsApi(api).patch_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name, {"metadata": {"labels": {"run": value}}}
    )
