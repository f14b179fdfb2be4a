"""An API server that answers nonsense, or nothing: one line and exit 4, within the
request timeout (adversarial review, session 12: a traceback, and a hang forever)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kube_adapter import client as kube_client
from kube_adapter.client import ClientSettings, connect
from pool_engine.errors import KubernetesError
from tuner.apply import list_necs

if TYPE_CHECKING:
    from kube_adapter.client import ApiClient

TUNER = [sys.executable, "-c", "from tuner.cli import main; main()"]


def serve(body: bytes, delay: float = 0.0) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(delay)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (timed out): nothing to print on stderr
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = start(Handler)
    return server, server.server_address[1]


def start(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server of ``handler`` on 127.0.0.1, serving in a daemon thread."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def api_behind(
    kubeconfig: tuple[Path, list[ThreadingHTTPServer]], handler: type[BaseHTTPRequestHandler]
) -> ApiClient:
    """A client of a kubeconfig whose API server is one of ``handler``."""
    path, servers = kubeconfig
    servers.append(server := start(handler))
    return connect(ClientSettings(write_kubeconfig(path, server.server_address[1])))


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Iterator[tuple[Path, list[ThreadingHTTPServer]]]:
    servers: list[ThreadingHTTPServer] = []
    yield tmp_path / "kubeconfig", servers
    for server in servers:
        server.shutdown()
        server.server_close()


def write_kubeconfig(path: Path, port: int) -> Path:
    path.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: x\n"
        f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
    )
    return path


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all", b"[" * 5000, b'"a string"', b'{"items": 3}', b'{"items": [1]}',
        # session 12, a second review: a traceback in apply and switch
        b'{"items": [{"metadata": {"name": "a", "annotations": ["x"]}}]}',
        b'{"items": [{"metadata": {"name": "a", "annotations": {"eni-pool.io/warm-schedule": 5}}}]}',
    ],
)  # fmt: skip
def test_an_answer_that_is_no_list_of_necs_is_one_line_and_exit_4(
    kubeconfig: tuple[Path, list[ThreadingHTTPServer]], body: bytes
) -> None:
    path, servers = kubeconfig
    server, port = serve(body)
    servers.append(server)
    config = write_kubeconfig(path, port)
    for args in (["switch"], ["apply", "--trace", "docs/examples/churn-sample.csv", "--dry-run"]):
        done = subprocess.run([*TUNER, *args, "--kubeconfig", str(config)],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert done.returncode == 4, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, done.stderr)
        assert "Kubernetes API" in lines[0]


def test_an_api_server_that_never_answers_times_out(
    kubeconfig: tuple[Path, list[ThreadingHTTPServer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, servers = kubeconfig
    server, port = serve(b'{"items": []}', delay=30.0)
    servers.append(server)
    monkeypatch.setattr(kube_client, "REQUEST_TIMEOUT", 1.0)
    api = connect(ClientSettings(write_kubeconfig(path, port)))
    began = time.monotonic()
    with pytest.raises(KubernetesError, match="timed out"):
        list_necs(api)
    assert time.monotonic() - began < 3.0  # one try: a read that timed out is not sent again


def test_a_kubeconfig_that_skips_tls_verification_warns_nothing_per_request(
    tmp_path: Path,
) -> None:
    # Before (adversarial review, session 12): urllib3's InsecureRequestWarning and its
    # source line came before the one-line error of every call.
    import urllib3

    config = write_kubeconfig(tmp_path / "kubeconfig", 1)
    text = config.read_text().replace(
        "server: 'http://", "insecure-skip-tls-verify: true, server: 'https://"
    )
    config.write_text(text)
    connect(ClientSettings(config))
    with warnings.catch_warnings(record=True) as seen:
        warnings.warn("per request", urllib3.exceptions.InsecureRequestWarning, stacklevel=1)
    assert seen == []


def test_an_api_server_that_drips_its_answer_times_out_as_a_whole(
    kubeconfig: tuple[Path, list[ThreadingHTTPServer]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before (adversarial review, session 12): a byte every half second kept each read
    within the timeout, and `apply`/`switch` waited for ever."""

    class Drip(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(120):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.5)
            except OSError:
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    monkeypatch.setattr(kube_client, "REQUEST_TIMEOUT", 1.0)
    api = api_behind(kubeconfig, Drip)
    began = time.monotonic()
    with pytest.raises(KubernetesError, match="no whole answer within 2 s"):
        list_necs(api)
    assert time.monotonic() - began < 5.0


def test_an_event_answer_that_is_no_event_is_a_warning_not_a_traceback(
    kubeconfig: tuple[Path, list[ThreadingHTTPServer]], caplog: pytest.LogCaptureFixture
) -> None:
    """Before (adversarial review, session 12): the client's validation error for an
    answer without `involvedObject` escaped post_event, and `switch` ended in a
    traceback (exit 1); an Event is a record, its failure a warning."""
    from kube_adapter.events import EventType, NecEvent, post_event

    class Answer(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = b'{"kind": "Event", "apiVersion": "v1"}'
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    api = api_behind(kubeconfig, Answer)
    event = NecEvent("node-a", "uid-1", "WarmTargetsTuned", "set", EventType.NORMAL, "eni-tuner")
    assert post_event(api, event) is False
    assert "could not record an Event for NEC node-a" in caplog.text
