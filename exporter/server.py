"""HTTP endpoints: ``/metrics`` (Prometheus text or OpenMetrics), ``/healthz``, ``/readyz``.

Handlers only read what the engine loop published; they never wait for it and
never call the Kubernetes or cloud API.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.openmetrics.exposition import CONTENT_TYPE_LATEST as OPENMETRICS

log = logging.getLogger(__name__)


class Endpoints:
    """What the HTTP handlers may ask: rendered metrics and the loop's health."""

    def __init__(
        self,
        render: Callable[[bool], bytes],
        healthy: Callable[[], bool],
        ready: Callable[[], bool],
    ) -> None:
        self.render = render
        self.healthy = healthy
        self.ready = ready


def serve(endpoints: Endpoints, host: str, port: int) -> ThreadingHTTPServer:
    """Start serving in a background thread; ``shutdown()`` the result to stop."""

    class Handler(BaseHTTPRequestHandler):
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
            elif path == "/healthz":
                ok = endpoints.healthy()
                self._reply(200 if ok else 503, b"ok\n" if ok else b"engine loop stalled\n")
            elif path == "/readyz":
                ok = endpoints.ready()
                self._reply(200 if ok else 503, b"ready\n" if ok else b"first sync pending\n")
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

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    return server
