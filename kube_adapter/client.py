"""The Kubernetes API client both programs use, from --kubeconfig and --context.

Where the configuration comes from, in order: the file given, else (without a
context) the in-cluster ServiceAccount, else ``$KUBECONFIG`` or ``~/.kube/config``.
A file that is missing, malformed or lacks the context is a
:class:`~pool_engine.errors.KubeconfigError` naming the file (exit 2).

``kubernetes`` is imported when a client is built, not when this module is: the
programs' command lines load without it.
"""

from __future__ import annotations

import binascii
import logging
import os
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar, cast

from kube_adapter.errors import map_kubernetes_errors, one_line, quiet_retry_warnings
from pool_engine.errors import KubeconfigError, KubernetesError

REQUEST_TIMEOUT = 30.0
"""Seconds one call (a list, a read, a patch, an Event) waits for the API server when
its caller gives no timeout: one that accepts the connection and never answers is an
error (exit 4), not a hang."""


def request_timeout(given: float | None) -> float:
    """``given``, else :data:`REQUEST_TIMEOUT`."""
    return REQUEST_TIMEOUT if given is None else given


T = TypeVar("T")


def answered(call: Callable[[], T], timeout: float | None = None) -> T:
    """``call()`` (one API call, its answer read whole), given twice the request timeout
    to finish: urllib3's timeout bounds each read, so a server that drips bytes held a
    call for ever. Past it, a :class:`KubernetesError` (the call is left to end on its
    own, in a daemon thread)."""
    deadline = 2 * request_timeout(timeout)
    got: list[tuple[bool, object]] = []

    def run() -> None:
        try:
            got.append((True, call()))
        except BaseException as error:  # raised in the caller's thread, mapped there
            got.append((False, error))

    worker = threading.Thread(target=run, name="kubernetes-call", daemon=True)
    worker.start()
    worker.join(deadline)
    if not got:
        raise KubernetesError(f"the Kubernetes API sent no whole answer within {deadline:g} s")
    done, value = got[0]
    if not done:
        assert isinstance(value, BaseException)
        raise value
    return cast(T, value)


if TYPE_CHECKING:  # for annotations elsewhere, without importing kubernetes at run time
    import yaml
    from kubernetes.client import ApiClient as ApiClient
    from kubernetes.client import Configuration
    from kubernetes.client import CustomObjectsApi as CustomObjectsApi


MAX_YAML_VALUES = 1_000_000
"""The most values a kubeconfig may hold, its aliases expanded (one holds hundreds)."""


@dataclass(frozen=True)
class ClientSettings:
    """How to reach the API server."""

    kubeconfig: Path | None = None
    """--kubeconfig; None: in-cluster, then $KUBECONFIG or ~/.kube/config."""
    context: str | None = None
    """--context: a context of the kubeconfig; None: its current-context."""


def connect(settings: ClientSettings) -> ApiClient:
    """A client for ``settings``; its own configuration, not the process-wide default."""
    from kubernetes import client
    from kubernetes import config as kube_config

    quiet_retry_warnings()
    configuration = client.Configuration()
    _no_retry_after_a_read_timeout(configuration)
    if settings.kubeconfig is None and settings.context is None:
        try:
            kube_config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
        except kube_config.ConfigException:
            pass  # not in a cluster: a kubeconfig file, then
    _load_kubeconfig(configuration, settings)
    if not configuration.verify_ssl:  # insecure-skip-tls-verify: the user's choice, as
        # kubectl takes it; urllib3's warning per request would break the one-line errors
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return client.ApiClient(configuration)


def _no_retry_after_a_read_timeout(configuration: Configuration) -> None:
    """urllib3 sends an idempotent call again after a read timed out, three times: a
    server that never answers held each call four times :data:`REQUEST_TIMEOUT`.
    Connections refused or reset are still retried."""
    from urllib3.util.retry import Retry

    configuration.retries = Retry(total=3, read=0, redirect=3)


def _load_kubeconfig(configuration: Configuration, settings: ClientSettings) -> None:
    import yaml
    from kubernetes import config as kube_config

    where = _kubeconfig_files(settings.kubeconfig)
    logged = _LibraryErrors()
    with map_kubernetes_errors(kubeconfig=where), logged:
        try:
            _check_aliases(where)
            if settings.context is not None:
                _check_context(where, settings.context)
            kube_config.load_kube_config(
                where, context=settings.context, client_configuration=configuration
            )
        except yaml.YAMLError as error:
            raise KubeconfigError(where, f"not valid YAML: {_yaml_problem(error)}") from error
        except RecursionError:  # the YAML reader recurses per level of nesting
            raise KubeconfigError(where, "not valid YAML: nested too deep") from None
        except OSError as error:
            raise KubeconfigError(where, one_line(error.strerror or str(error))) from error
        except UnicodeDecodeError as error:  # before ValueError-like catch-alls: not text
            raise KubeconfigError(where, f"not text (not UTF-8 at byte {error.start})") from error
        except binascii.Error as error:  # certificate-authority-data and the like
            raise KubeconfigError(where, f"a *-data field is not base64: {error}") from error
        except (TypeError, AttributeError, KeyError) as error:  # YAML, but not a kubeconfig
            raise KubeconfigError(where, "not a kubeconfig (no clusters/contexts/users)") from error
        except ValueError as error:  # the library's own checks: an unclosed [IPv6 bracket
            raise KubeconfigError(where, f"not usable: {one_line(str(error))}") from error
    if logged.messages:
        problem = f"the exec plugin gave no credentials: {one_line(logged.messages[0])}"
        raise KubeconfigError(where, problem)
    _check_server(configuration.host, where)
    _check_certificates(configuration, where)


def _check_server(server: str, where: str) -> None:
    """An http(s) URL with a host and a port number, as urllib3 will read it; else a
    malformed kubeconfig (exit 2), not an API server that cannot be reached."""
    from urllib3.util import parse_url

    try:
        url = parse_url(server)
        ok = url.scheme in ("http", "https") and bool(url.host) and url.port != 0
    except ValueError:  # a port that is no number or above 65535, a space in the host
        ok = False
    if not ok:
        raise KubeconfigError(where, f"server {server!r} is not an http(s) URL")


def _check_certificates(configuration: Configuration, where: str) -> None:
    """Load the kubeconfig's certificates as a connection will: ones that do not load
    are a malformed kubeconfig (exit 2), not an API server that cannot be reached."""
    try:
        if configuration.verify_ssl and configuration.ssl_ca_cert:
            ssl.create_default_context(cafile=configuration.ssl_ca_cert)
    except ssl.SSLError as error:
        problem = f"certificate-authority is not PEM certificates ({error.reason})"
        raise KubeconfigError(where, problem) from None
    try:
        if configuration.cert_file:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_cert_chain(configuration.cert_file, configuration.key_file)
    except ssl.SSLError:  # its reason is often empty: "PEM lib"
        problem = "client-certificate and client-key are not a PEM certificate and its key"
        raise KubeconfigError(where, problem) from None


class _LibraryErrors(logging.Filter):
    """What the client library logs on the root logger instead of raising while it loads a
    kubeconfig (a failing exec plugin: it goes on without credentials, and the API
    answers 401 later): kept, to be raised as one error line, and not printed."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def __enter__(self) -> None:
        logging.getLogger().addFilter(self)

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeFilter(self)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.module in ("kube_config", "exec_provider"):
            self.messages.append(record.getMessage())
            return False
        return True


def _kubeconfig_files(path: Path | None) -> str:
    """The file(s) to load; an existing one, or a KubeconfigError that names it."""
    if path is not None:
        if not path.exists():
            raise KubeconfigError(str(path), "no such file")
        return str(path)
    from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION

    # KUBECONFIG set but empty is unset, as for kubectl
    default = KUBE_CONFIG_DEFAULT_LOCATION or "~/.kube/config"
    files = [os.path.expanduser(f) for f in default.split(os.pathsep) if f]
    if not any(os.path.exists(f) for f in files):
        raise KubeconfigError(
            os.pathsep.join(files),
            "no such file, and not inside a cluster (KUBERNETES_SERVICE_HOST is not set)"
            if "KUBERNETES_SERVICE_HOST" not in os.environ
            else "no such file, and the in-cluster ServiceAccount is not usable",
        )
    return os.pathsep.join(files)


def _check_aliases(where: str) -> None:
    """Refuse a kubeconfig whose YAML aliases expand to more than :data:`MAX_YAML_VALUES`
    values (a "billion laughs"): the client library formats every cluster, context and
    user as text, aliases expanded, and would fill memory. kubectl's YAML reader refuses
    excessive aliasing too. A file that is not a regular one (a pipe) reads only once:
    the library's read is that one."""
    import yaml

    for name in where.split(os.pathsep):
        if not os.path.isfile(name):
            continue
        try:
            with open(name, "rb") as source:
                documents = list(yaml.compose_all(source, Loader=yaml.SafeLoader))
        except yaml.YAMLError:
            continue  # the library's own read names the problem, as it always has
        sizes: dict[int, int] = {}
        if sum(_expanded(document, sizes) for document in documents) > MAX_YAML_VALUES:
            problem = f"its aliases expand to more than {MAX_YAML_VALUES:,} values"
            raise KubeconfigError(where, f"not valid YAML: {problem}")


def _expanded(node: yaml.Node | None, sizes: dict[int, int]) -> int:
    """How many values ``node`` holds with its aliases expanded; ``sizes`` by node id, as
    an alias is the node it names."""
    import yaml

    if node is None or id(node) in sizes:
        return sizes.get(id(node), 0)
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    sizes[id(node)] = 1 + sum(_expanded(child, sizes) for child in children)
    return sizes[id(node)]


def _check_context(where: str, context: str) -> None:
    """--context must name one of the file's contexts; say which ones there are."""
    from kubernetes import config as kube_config

    contexts, _ = kube_config.list_kube_config_contexts(where)
    names = sorted(str(c.get("name")) for c in contexts or [] if isinstance(c, dict))
    if context not in names:
        known = ", ".join(names) if names else "none"
        raise KubeconfigError(where, f"no context {context!r} (contexts: {known})")


def _yaml_problem(error: Exception) -> str:
    problem = getattr(error, "problem", None) or str(error)
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return one_line(f"{problem}{where}")
