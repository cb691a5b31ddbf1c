"""``GET /metrics`` served by ``consume`` or ``worker`` themselves (``metrics.port``), for a
host or container without an API sharing their metrics directory.

It answers what the admin API's endpoint answers but the ledger gauges (those come from
the database; one API serves them for the deployment): the counters of every process
sharing this one's metrics directory, a worker's pool children included. Same tokens as the
API (``admin.tokens``, any role), compared in constant time, for the same reason: task names
and volumes tell an outsider what the service manages.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from canvasbridge.engine.api.auth import TokenBook
from canvasbridge.engine.api.metrics import process_registry
from canvasbridge.engine.config import AppConfig
from canvasbridge.errors import ConfigError

log = logging.getLogger(__name__)


def serve_metrics(config: AppConfig) -> ThreadingHTTPServer | None:
    """Start serving ``/metrics`` in a daemon thread when ``metrics.port`` is set; the server
    (its ``server_address`` says the port chosen for port 0), or None."""
    if config.metrics.port is None:
        return None
    tokens = TokenBook.from_config(config.admin.tokens)
    if not tokens:
        raise ConfigError("metrics.port: /metrics needs a token; add one to admin.tokens (any role)")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self._answer(404, b"not found: only /metrics is served here\n", "text/plain")
                return
            scheme, _, presented = self.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or tokens.identify(presented.strip()) is None:
                self._answer(401, b"a valid bearer token is required\n", "text/plain")
                return
            self._answer(200, generate_latest(process_registry()), CONTENT_TYPE_LATEST)

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            if status == 401:
                self.send_header("WWW-Authenticate", "Bearer")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("metrics: " + format, *args)

    try:
        server = ThreadingHTTPServer((config.metrics.host, config.metrics.port), Handler)
    except OSError as exc:
        raise ConfigError(
            f"metrics.port: cannot listen on {config.metrics.host}:{config.metrics.port}: {exc.strerror}"
        ) from None
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    host, port = server.server_address[:2]
    log.info("serving /metrics on %s:%s (metrics.port)", host, port)
    return server
