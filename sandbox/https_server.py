"""A small threaded HTTPS/1.1 server: parse a request, hand it to the app, write the answer.

The TLS handshake happens in the connection's own thread (not in accept), so one slow
client cannot stall the others. Keep-alive with Content-Length on every response, as
requests' connection pool expects. Open connections are tracked so `stop()` can close
them instead of waiting for idle keep-alive sockets to time out.
"""
from __future__ import annotations

import json
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

from sandbox.errors import SalesforceError


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern
    version: str = ""  # API version of /services/data/vXX.X/ routes
    token: str | None = None
    user_id: str | None = None
    soql: str | None = None  # a query's, for the request log (sandbox/counters.py)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        if not self.body:
            raise SalesforceError(400, "JSON_PARSER_ERROR", "The request body is empty; expected a JSON document")
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SalesforceError(400, "JSON_PARSER_ERROR", f"Unexpected character in the JSON body: {exc}") from None


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-encodable, bytes, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


class Drop(Exception):
    """Close the connection without answering (a fault)."""


def _encode(body: Any) -> tuple[bytes, str | None]:
    if body is None:
        return b"", None
    if isinstance(body, bytes):
        return body, None
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(), "application/json;charset=UTF-8"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive sockets are closed after a minute

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def version_string(self) -> str:
        return "leadrouter-sandbox"

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header tells clients what time it is in the org (Salesforce's clock is
        # the truth a connector bounds its reads by), so it follows the simulated clock.
        if timestamp is None and self.server.clock is not None:
            timestamp = self.server.clock().timestamp()
        return super().date_time_string(timestamp)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet by design
        pass

    def _serve(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        body = self._read_body()
        request = Request(
            method=self.command,
            path=split.path,
            query=query,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = self.server.app(request)
        except Drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        payload, content_type = _encode(response.body)
        self.send_response(response.status)
        headers = dict(response.headers)
        if content_type and "Content-Type" not in headers:
            headers["Content-Type"] = content_type
        headers["Content-Length"] = str(len(payload))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # some HTTP clients stream JSON bodies chunked instead of sending Content-Length
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve


class HttpsServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, port: int, context: ssl.SSLContext, app: Callable[[Request], Response],
                 clock: Callable[[], Any] | None = None):
        self.app = app
        self.clock = clock  # () -> aware datetime: the org's "now" for the Date header
        self._context = context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def finish_request(self, request: socket.socket, client_address: Any) -> None:
        # runs in the connection's thread: the handshake cannot block accept()
        try:
            request.settimeout(_Handler.timeout)
            # headers and body go out as separate writes: without this, Nagle's algorithm
            # and the client's delayed ACK add ~40 ms to every keep-alive response
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self._context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-request is not the server's problem

    def track(self, conn: socket.socket, is_open: bool) -> None:
        with self._open_lock:
            (self._open.add if is_open else self._open.discard)(conn)

    def close_all(self) -> None:
        with self._open_lock:
            conns = list(self._open)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
