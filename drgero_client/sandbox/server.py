"""A threaded WSGI server for the sandbox, usable in-process (port 0) or from the command line."""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.handlers import SimpleHandler
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from drgero_client.client import is_loopback_host
from drgero_client.sandbox.app import DropConnection, SandboxApp
from drgero_client.sandbox.clock import SandboxClock
from drgero_client.sandbox.persist import load, save
from drgero_client.sandbox.state import Fault, SandboxState


class _Handler(ServerHandler):
    # Set by the request handler below, as wsgiref's own server does.
    request_handler: WSGIRequestHandler
    status: str | None

    def close(self) -> None:
        if self.status is None:  # a dropped connection answered nothing: nothing to log
            SimpleHandler.close(self)
            return
        super().close()

    def handle_error(self) -> None:
        # A DropConnection is a wanted fault, not a server error: let it reach the request
        # handler, which closes the socket without answering.
        if isinstance(sys.exc_info()[1], DropConnection):
            raise DropConnection
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet: tests and the demo read the control API, not access logs

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, delayed ACKs add ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        """Serve requests on this connection until the client closes it (keep-alive)."""
        self.close_connection = True
        self._serve_one()
        while not self.close_connection:
            self._serve_one()

    def _serve_one(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536 or not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        handler = _Handler(
            self.rfile,
            self.wfile,  # type: ignore[arg-type]  # a buffered socket file is an IO[bytes]
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self
        handler.http_version = "1.1"
        try:
            handler.run(self.server.get_app())  # type: ignore[attr-defined]  # a WSGIServer
        except DropConnection:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.headers.get("Connection", "").lower() == "close":
            self.close_connection = True


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class SandboxServer:
    """The sandbox on a background thread. ``port=0`` picks a free port (see ``url``)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        seed: str = "demo",
        latency_ms: int = 0,
        speed: float = 1.0,
        allow_remote: bool = False,
        keep_in: str | os.PathLike[str] | None = None,
    ) -> None:
        """``keep_in``: a file where the world is kept across restarts (the demo's); it is
        read at start when it exists, and written after every change."""
        if not is_loopback_host(host) and not allow_remote:
            raise ValueError(
                "the sandbox's control API is unauthenticated; bind it to a loopback address "
                "or pass --force-remote"
            )
        self.state = SandboxState(clock=SandboxClock(speed))
        self.state.latency_ms = latency_ms
        self.keep_in = Path(keep_in) if keep_in is not None else None
        self.app = SandboxApp(self.state, seed_name=seed, on_change=self._keep)
        self.resumed = self.keep_in is not None and load(self.state, self.keep_in)
        self.httpd = _ThreadingServer((host, port), _RequestHandler)
        self.httpd.set_app(self.app)
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    def _keep(self) -> None:
        if self.keep_in is not None:
            save(self.state, self.keep_in)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # Conveniences for in-process tests.
    def arm(self, path: str, **kwargs: Any) -> Fault:
        fault = Fault(path=path, **kwargs)
        self.state.arm(fault)
        return fault

    def reset(self, seed: str = "demo") -> None:
        from drgero_client.sandbox.seed import seed as apply_seed

        self.state.clear_faults()
        with self.state.lock:
            self.state.seen.clear()
            self.state.next_outcomes.clear()
        apply_seed(self.state, seed)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
