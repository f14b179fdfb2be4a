"""A throwaway Kubernetes control plane: etcd and kube-apiserver on loopback.

Only the API server and its store run: no kubelet, scheduler or
controller-manager. Nodes and Pods are plain API objects whose status tests
write through the status subresource, and deleted namespaces are never
finalized, so tests use fresh names instead of cleaning up.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from kubernetes import client, config

from .process import ControlPlaneError, Process, spawn

# Admission plugins that need a controller this harness does not run:
# ServiceAccount rejects Pods until the (absent) token controller has created
# the namespace's "default" ServiceAccount.
DISABLED_ADMISSION = "ServiceAccount"


@dataclass
class ControlPlane:
    """A running etcd + kube-apiserver pair and an admin client for it."""

    server: str
    """API server URL, https://127.0.0.1:<port>."""
    etcd_url: str
    """etcd client URL (plain HTTP, with etcd's JSON gateway under /v3/)."""
    ca_file: Path
    """The API server's self-signed serving certificate bundle."""
    admin_token: str
    """Bearer token of user "admin" in group system:masters."""
    kubeconfig: Path
    """Kubeconfig for the admin user (JSON, which is valid YAML)."""
    api_client: client.ApiClient
    """Official-client ApiClient configured from kubeconfig."""
    etcd: Process
    apiserver: Process

    def client_for_token(self, token: str) -> client.ApiClient:
        """An ApiClient that authenticates with the given bearer token."""
        configuration = client.Configuration()
        configuration.host = self.server
        configuration.ssl_ca_cert = str(self.ca_file)
        configuration.api_key = {"authorization": token}
        configuration.api_key_prefix = {"authorization": "Bearer"}
        return client.ApiClient(configuration)

    def restart_apiserver(self) -> None:
        """Stop kube-apiserver and start it again on the same port, state and certificate.

        Its watch caches then begin at etcd's current revision, so a watch resumed
        from any earlier resourceVersion gets 410 Gone, as after an API server
        rollout in a real cluster. (etcd compaction alone does not do this: the
        watch cache keeps serving history since the API server started.)
        """
        self.stop_apiserver()
        self.start_apiserver()

    def stop_apiserver(self) -> None:
        """Kill kube-apiserver at once (etcd keeps running): the API is unreachable
        from this instant until :meth:`start_apiserver`."""
        self.apiserver.kill()

    def start_apiserver(self) -> None:
        """Start the stopped kube-apiserver again and wait until it is ready."""
        self.apiserver.start()
        self.apiserver.wait_until(
            "/readyz", lambda: _apiserver_ready(self.server, self.ca_file, self.admin_token)
        )

    def compact_etcd(self) -> int:
        """Compact etcd's history up to its current revision and return it.

        Afterwards etcd has no history below the returned revision, as in a real
        cluster every few minutes: requests that the API server sends to etcd at
        an older resourceVersion (uncached resources such as Events, exact-version
        lists after a restart) get 410 Gone.
        """
        header = _etcd_call(self.etcd_url, "/v3/kv/range", {"key": _b64("/"), "limit": 1})
        revision = int(header["header"]["revision"])
        _etcd_call(self.etcd_url, "/v3/kv/compaction", {"revision": revision, "physical": True})
        return revision


@contextlib.contextmanager
def running_control_plane(bin_dir: Path, workdir: Path) -> Iterator[ControlPlane]:
    """Start etcd and kube-apiserver from bin_dir, yield them ready, then stop both."""
    started: list[Process] = []
    try:
        etcd, etcd_url = _start_etcd(bin_dir / "etcd", workdir, started)
        apiserver, server, ca_file, token = _start_apiserver(
            bin_dir / "kube-apiserver", workdir, etcd_url, started
        )
        kubeconfig = _write_kubeconfig(workdir / "kubeconfig", server, ca_file, token)
        api_client = config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
        with contextlib.closing(api_client):
            yield ControlPlane(
                server, etcd_url, ca_file, token, kubeconfig, api_client, etcd, apiserver
            )
    finally:
        for process in reversed(started):
            process.stop()


def _start_etcd(binary: Path, workdir: Path, started: list[Process]) -> tuple[Process, str]:
    client_url = f"http://127.0.0.1:{_free_port()}"
    peer_url = f"http://127.0.0.1:{_free_port()}"
    process = spawn(
        "etcd",
        [
            str(binary),
            "--name=harness",
            f"--data-dir={workdir / 'etcd-data'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=harness={peer_url}",
            "--unsafe-no-fsync",  # throwaway data: durability only costs time
        ],
        workdir,
        started,
    )
    process.wait_until("/health", lambda: _etcd_healthy(client_url))
    return process, client_url


def _start_apiserver(
    binary: Path, workdir: Path, etcd_url: str, started: list[Process]
) -> tuple[Process, str, Path, str]:
    token = secrets.token_urlsafe(32)
    tokens = workdir / "tokens.csv"
    tokens.write_text(f'{token},admin,admin,"system:masters"\n')
    signing_key, public_key = _write_service_account_keys(workdir)
    cert_dir = workdir / "certs"
    port = _free_port()
    process = spawn(
        "kube-apiserver",
        [
            str(binary),
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",  # it refuses a loopback advertise address
            f"--secure-port={port}",
            f"--cert-dir={cert_dir}",
            "--authorization-mode=RBAC",
            f"--token-auth-file={tokens}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={public_key}",
            f"--service-account-signing-key-file={signing_key}",
            "--service-cluster-ip-range=10.96.0.0/16",
            f"--disable-admission-plugins={DISABLED_ADMISSION}",
        ],
        workdir,
        started,
    )
    server = f"https://127.0.0.1:{port}"
    ca_file = cert_dir / "apiserver.crt"
    process.wait_until("/readyz", lambda: _apiserver_ready(server, ca_file, token))
    return process, server, ca_file, token


def _write_service_account_keys(workdir: Path) -> tuple[Path, Path]:
    """A fresh ECDSA key pair for signing and checking ServiceAccount tokens."""
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = workdir / "service-account.key", workdir / "service-account.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def _write_kubeconfig(path: Path, server: str, ca_file: Path, token: str) -> Path:
    cluster = {"server": server, "certificate-authority": str(ca_file)}
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "harness", "cluster": cluster}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [{"name": "harness", "context": {"cluster": "harness", "user": "admin"}}],
        "current-context": "harness",
    }
    path.write_text(json.dumps(kubeconfig, indent=2))
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _etcd_healthy(client_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{client_url}/health", timeout=2) as response:
            return bool(json.load(response).get("health") == "true")
    except (OSError, ValueError):
        return False


def _apiserver_ready(server: str, ca_file: Path, token: str) -> bool:
    if not ca_file.exists():
        return False
    request = urllib.request.Request(
        f"{server}/readyz", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        context = ssl.create_default_context(cafile=str(ca_file))
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except (OSError, ssl.SSLError):
        return False


def _etcd_call(etcd_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{etcd_url}{path}", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.load(response)
            return result
    except urllib.error.HTTPError as error:
        with error:  # it holds the connection
            detail = error.read().decode(errors="replace")
        raise ControlPlaneError(f"etcd {path}: HTTP {error.code} {detail}") from error


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def altered_kubeconfig(control_plane: ControlPlane, tmp_path: Path, **changes: str) -> Path:
    """The control plane's kubeconfig with its ``server`` or ``token`` replaced."""
    document = json.loads(control_plane.kubeconfig.read_text())
    if "server" in changes:
        document["clusters"][0]["cluster"]["server"] = changes["server"]
    if "token" in changes:
        document["users"][0]["user"]["token"] = changes["token"]
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(document))
    return path
