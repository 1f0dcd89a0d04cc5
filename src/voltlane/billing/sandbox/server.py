"""The sandbox on a local HTTP port (standard library server, one thread per request)."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from voltlane.billing.sandbox.core import Request
from voltlane.billing.sandbox.psp import Sandbox

log = logging.getLogger(__name__)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "VoltlaneSandboxPSP"
    sys_version = ""
    sandbox: Sandbox  # set on the subclass made per server

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request.of(self.command, self.path, dict(self.headers.items()), body)
        response = self.sandbox.handle(request)
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up waiting (a timeout the tests provoke): the work is done.
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = _answer  # noqa: N815 - http.server's names

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        log.debug("sandbox psp: " + format, *args)  # noqa: G003 - http.server's own format


class SandboxServer:
    """``sandbox`` answering on ``host``:``port`` (0: a free port) until stopped."""

    def __init__(self, sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0) -> None:
        handler = type("SandboxHandler", (_Handler,), {"sandbox": sandbox})
        self.sandbox = sandbox
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-psp", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.sandbox.outbox.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)


@contextlib.contextmanager
def serve(sandbox: Sandbox, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``sandbox`` on a local port; yields its base URL. The hosted pages' addresses
    start with it unless the sandbox was given another ``public_url``."""
    server = SandboxServer(sandbox, host=host, port=port)
    url = f"http://{host}:{server.port}"
    if not sandbox.public_url:
        sandbox.public_url = url
    server.start()
    try:
        yield url
    finally:
        server.stop()
