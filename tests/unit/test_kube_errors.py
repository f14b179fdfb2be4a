"""kube_adapter.errors: the Kubernetes client's errors become ours, on one line."""

from __future__ import annotations

import http.client
import json
import logging
import socket
from pathlib import Path

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from kube_adapter.client import ClientSettings, connect
from kube_adapter.errors import map_kubernetes_errors, to_pool_error
from pool_engine.errors import (
    ExitCode,
    KubeconfigError,
    KubernetesConflict,
    KubernetesError,
    PoolEngineError,
)
from support.prom import free_port


def raised(error: Exception) -> PoolEngineError:
    with pytest.raises(PoolEngineError) as caught, map_kubernetes_errors():
        raise error
    assert caught.value.__cause__ is error  # the original stays reachable for debugging
    return caught.value


def one_line(error: PoolEngineError) -> str:
    text = str(error)
    assert "\n" not in text and "object at 0x" not in text and "Connection(host=" not in text
    return text


def status_body(message: str, code: int) -> str:
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                       "message": message, "code": code})  # fmt: skip


def test_409_is_a_conflict_to_retry() -> None:
    error = raised(ApiException(status=409, reason="Conflict", body=status_body(
        'Operation cannot be fulfilled on nodeeniconfigs "n1": the object has been modified', 409)))  # fmt: skip
    assert type(error) is KubernetesConflict and error.status == 409
    assert error.exit_code == ExitCode.KUBERNETES_UNAVAILABLE == 4
    assert one_line(error) == (
        "Kubernetes API answered 409 Conflict: Operation cannot be fulfilled on "
        'nodeeniconfigs "n1": the object has been modified'
    )


@pytest.mark.parametrize(
    ("status", "reason"), [(403, "Forbidden"), (404, "Not Found"), (500, "Internal Server Error")]
)
def test_other_statuses_are_kubernetes_errors_with_the_status(status: int, reason: str) -> None:
    message = (
        'nodeeniconfigs "n1" is forbidden: User "system:serviceaccount:x:y" cannot patch\nresource'
    )
    error = raised(ApiException(status=status, reason=reason, body=status_body(message, status)))
    assert type(error) is KubernetesError and error.status == status and error.exit_code == 4
    assert one_line(error).startswith(f"Kubernetes API answered {status} {reason}: nodeeniconfigs")
    assert "cannot patch resource" in str(error)


def test_a_body_that_is_not_a_status_is_left_out() -> None:
    error = raised(ApiException(status=502, reason="Bad Gateway", body="<html>\n<h1>oops</h1>"))
    assert one_line(error) == "Kubernetes API answered 502 Bad Gateway"


def test_an_unreachable_api_server_is_one_line_with_its_address_and_no_retry_noise(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    port = free_port()
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": f"https://127.0.0.1:{port}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    }))  # fmt: skip
    api = connect(ClientSettings(kubeconfig))
    nodes = client.CoreV1Api(api)
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(KubernetesError) as caught,
        map_kubernetes_errors(),
    ):
        nodes.list_node()
    assert isinstance(caught.value.__cause__, urllib3.exceptions.MaxRetryError)
    assert caught.value.status is None and caught.value.exit_code == 4
    assert one_line(caught.value) == (
        f"cannot reach the Kubernetes API at https://127.0.0.1:{port}: connection refused"
    )
    noise = [
        r for r in caplog.records if r.name.startswith("urllib3") and r.levelno >= logging.INFO
    ]
    assert noise == []  # no "Retrying (...) after connection broken by ..." per retry


def test_name_resolution_and_dropped_connections_read_plainly() -> None:
    connection = urllib3.connection.HTTPSConnection("api.example.invalid", 6443)
    pool = urllib3.HTTPSConnectionPool("api.example.invalid", 6443)
    gai = socket.gaierror(-2, "Name or service not known")
    unresolved = urllib3.exceptions.NameResolutionError("api.example.invalid", connection, gai)
    unresolved.__cause__ = gai
    error = to_pool_error(urllib3.exceptions.MaxRetryError(pool, "/api", unresolved))
    assert isinstance(error, KubernetesError)
    assert one_line(error) == (
        "cannot reach the Kubernetes API at https://api.example.invalid:6443: name or service not known"
    )
    dropped = urllib3.exceptions.ProtocolError(
        "Connection aborted.",
        http.client.RemoteDisconnected("Remote end closed connection without response"),
    )
    assert one_line(raised(dropped)) == (
        "cannot reach the Kubernetes API: Remote end closed connection without response"
    )


def test_a_config_exception_is_a_kubeconfig_error_exit_2() -> None:
    with (
        pytest.raises(KubeconfigError) as caught,
        map_kubernetes_errors(kubeconfig="/etc/kube.yaml"),
    ):
        raise ConfigException("Invalid kube-config file.\nExpected key contexts in /etc/kube.yaml")
    assert caught.value.exit_code == ExitCode.BAD_INPUT == 2
    assert one_line(caught.value) == (
        "/etc/kube.yaml: Invalid kube-config file. Expected key contexts in /etc/kube.yaml"
    )


def test_other_errors_pass_through_untouched_and_ours_are_not_wrapped() -> None:
    with pytest.raises(ZeroDivisionError), map_kubernetes_errors():
        _ = 1 / 0
    ours = KubernetesError("already ours", status=500)
    with pytest.raises(KubernetesError) as caught, map_kubernetes_errors():
        raise ours
    assert caught.value is ours
    assert to_pool_error(ValueError("x")) is None


def test_it_decorates_functions_too() -> None:
    @map_kubernetes_errors()
    def patch() -> None:
        raise ApiException(status=409, reason="Conflict")

    with pytest.raises(KubernetesConflict):
        patch()
