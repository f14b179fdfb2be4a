"""HTTP endpoints: ``/metrics`` (Prometheus text or OpenMetrics), ``/healthz``, ``/readyz``.

Handlers only read what the engine loop (or, on a standby, the replica's state)
published; they never wait for the engine and never call the Kubernetes or cloud API.
Each connection runs in a daemon thread whose socket times out after
:data:`REQUEST_TIMEOUT` seconds, so a client that connects and sends nothing (a
half-open connection) costs a thread for a while and never delays other requests.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

log = logging.getLogger(__name__)

REQUEST_TIMEOUT = 10.0
"""Seconds a connection may stay silent (reading the request, or a blocked write)."""


@dataclass(frozen=True)
class Status:
    """The answer of /healthz or /readyz: 200 when ``ok``, else 503; ``text`` as body."""

    ok: bool
    text: str


class Endpoints:
    """What the HTTP handlers may ask: rendered metrics, liveness and readiness."""

    def __init__(
        self,
        render: Callable[[bool], bytes],
        healthy: Callable[[], Status],
        ready: Callable[[], Status],
    ) -> None:
        self.render = render
        self.healthy = healthy
        self.ready = ready


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class _Server6(_Server):
    address_family = socket.AF_INET6


def hostport(host: str, port: int) -> str:
    """``host:port`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bound(server: ThreadingHTTPServer) -> str:
    """Where ``server`` listens, its port as bound (``--listen 127.0.0.1:0`` picks one)."""
    host, port = server.server_address[:2]
    return hostport(str(host), int(port))


def serve(endpoints: Endpoints, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving in a background thread; ``shutdown()`` the result to stop. An IPv6
    address (``::`` is every address, both families where the system allows) needs an
    IPv6 socket."""

    class Handler(BaseHTTPRequestHandler):
        timeout = REQUEST_TIMEOUT

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                openmetrics = "application/openmetrics-text" in self.headers.get("Accept", "")
                try:
                    body = endpoints.render(openmetrics)
                except Exception:  # one bad source must not take /metrics down
                    log.exception("rendering /metrics failed")
                    self._reply(500, b"rendering metrics failed\n", "text/plain")
                    return
                self._reply(200, body, OPENMETRICS if openmetrics else CONTENT_TYPE_LATEST)
            elif path in ("/healthz", "/readyz"):
                status = endpoints.healthy() if path == "/healthz" else endpoints.ready()
                self._reply(200 if status.ok else 503, f"{status.text}\n".encode())
            else:
                self._reply(404, b"not found: try /metrics, /healthz or /readyz\n")

        def _reply(self, code: int, body: bytes, kind: str = "text/plain; charset=utf-8") -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http: " + format, *args)

    server = (_Server6 if ":" in host else _Server)((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
