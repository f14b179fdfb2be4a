"""Foreign errors of the Kubernetes client, mapped into :mod:`pool_engine.errors`.

Every call into the ``kubernetes`` package runs inside :func:`map_kubernetes_errors`
(a context manager that also decorates functions), the way httpx maps httpcore's
exceptions at its transport boundary. Nothing outside this package catches
``ApiException`` or urllib3's errors::

    ApiException 409                      -> KubernetesConflict (re-read, retry)
    ApiException, any other status        -> KubernetesError(status=...)
    urllib3 HTTPError (MaxRetryError,     -> KubernetesError(status=None): one line,
      connection refused, DNS, TLS, ...)     the API server's address and the reason
    an answer that is not JSON            -> KubernetesError(status=None)
    (kube_adapter.client.answered: no whole answer within twice the request timeout,
      a server dripping bytes, is one too)
      (or nested past the decoder's depth)
    kubernetes.config.ConfigException     -> KubeconfigError (exit 2)

The messages are one line, fit for ``error: <message>`` (docs/contracts/cli.md).
The ``kubernetes`` package is imported only once an error needs mapping.
"""

from __future__ import annotations

import json
import logging
import re
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from pool_engine.errors import (
    KubeconfigError,
    KubernetesConflict,
    KubernetesError,
    PoolEngineError,
)

_OBJECT_REPR = re.compile(r"<[^<>]*\bobject at 0x[0-9a-fA-F]+>:?\s*")
_CONNECTION_REPR = re.compile(r"\b\w*Connection\(host='[^']*', port=\d+\):\s*")


@contextmanager
def map_kubernetes_errors(kubeconfig: str = "kubeconfig") -> Iterator[None]:
    """Raise the Kubernetes client's errors as :mod:`pool_engine.errors`.

    ``kubeconfig`` names the file a :class:`KubeconfigError` is about.
    """
    try:
        yield
    except PoolEngineError:
        raise
    except Exception as error:
        mapped = to_pool_error(error, kubeconfig)
        if mapped is None:
            raise
        raise mapped from error


def to_pool_error(error: BaseException, kubeconfig: str = "kubeconfig") -> PoolEngineError | None:
    """Our error for a foreign one, or None when it is not the client's to map."""
    import urllib3.exceptions
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    if isinstance(error, ApiException):
        status = int(error.status) if error.status else None
        message = f"Kubernetes API answered {_status_line(error)}"
        if status == 409:
            return KubernetesConflict(message, status=status)
        return KubernetesError(message, status=status)
    if isinstance(error, urllib3.exceptions.HTTPError):
        return KubernetesError(f"cannot reach the Kubernetes API{_where(error)}: {_reason(error)}")
    if isinstance(error, ConfigException):
        return KubeconfigError(kubeconfig, one_line(str(error)))
    if isinstance(error, json.JSONDecodeError | UnicodeDecodeError | RecursionError):
        # only the client's decoding of an answer raises these inside a mapped call
        return KubernetesError(f"the Kubernetes API answered something that is not JSON "
                               f"({type(error).__name__})")  # fmt: skip
    return None


def one_line(text: str) -> str:
    """Collapse whitespace, newlines included."""
    return " ".join(text.split())


def quiet_retry_warnings() -> None:
    """urllib3 logs a warning per retry; the final failure is reported once, mapped."""
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def _status_line(error: BaseException) -> str:
    """``403 Forbidden: <the API's message>`` from an ApiException."""
    status = getattr(error, "status", None)
    reason = one_line(str(getattr(error, "reason", "") or ""))
    line = " ".join(str(part) for part in (status, reason) if part)
    detail = _api_message(getattr(error, "body", None))
    return f"{line}: {detail}" if detail and detail != reason else line or "an error"


def _api_message(body: object) -> str:
    """The ``message`` of a Kubernetes Status body, if the body is one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body.strip():
        return ""
    try:
        status = json.loads(body)
    except ValueError:
        return ""
    message = status.get("message") if isinstance(status, dict) else None
    return one_line(message) if isinstance(message, str) else ""


def _where(error: BaseException) -> str:
    """`` at https://host:port`` when urllib3 knows the connection pool."""
    pool = getattr(error, "pool", None)
    host = getattr(pool, "host", None)
    if not host:
        return ""
    scheme = getattr(pool, "scheme", "https")
    port = getattr(pool, "port", None)
    return f" at {scheme}://{host}" + (f":{port}" if port else "")


def _reason(error: BaseException) -> str:
    """The root cause in a few words, without urllib3's object representations."""
    cause = _root_cause(error)
    if isinstance(cause, ssl.SSLCertVerificationError) and cause.verify_message:
        return f"certificate verify failed: {cause.verify_message}"
    if isinstance(cause, OSError) and cause.strerror:
        return one_line(cause.strerror).lower()
    parts = [a for a in cause.args if isinstance(a, str)] or [type(cause).__name__]
    text = _CONNECTION_REPR.sub("", _OBJECT_REPR.sub("", " ".join(parts)))
    return one_line(text) or type(cause).__name__


def _root_cause(error: BaseException) -> BaseException:
    """Follow MaxRetryError.reason, ``raise ... from`` and wrapped arguments down."""
    seen = {id(error)}
    while True:
        inner = getattr(error, "reason", None)
        if not isinstance(inner, BaseException):
            inner = error.__cause__
        if not isinstance(inner, BaseException):
            inner = next((a for a in error.args if isinstance(a, BaseException)), None)
        if inner is None or id(inner) in seen:
            return error
        seen.add(id(inner))
        error = inner
