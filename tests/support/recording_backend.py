"""A recording HTTP/1.1 upstream for integration tests (stands in for Cortex/Loki distributors).

Runs in-process on 127.0.0.1:0 in daemon threads. Keeps connections alive, records every request
(method, target, headers in wire order with duplicates, de-chunked body, the client's source port
and a per-connection id to detect connection reuse) and answers with a configurable Reply per
path (exact path first, then the longest matching prefix, then the default):

    with RecordingBackend() as backend:
        backend.set_reply("/api/v1/push", Reply(status=429, headers=[("Retry-After", "7")]))
        ... drive the gateway ...
        req = backend.wait_for_requests(1, timeout=5)[0]
        assert req.header("X-Scope-OrgID") == "tenant-a"
"""

from __future__ import annotations

import dataclasses
import http.server
import socket
import socketserver
import threading
import time


@dataclasses.dataclass
class Reply:
    """What the backend answers. action: None (answer), "close" (close the connection without
    answering), "hang" (never answer; the connection is closed only when the backend stops)."""

    status: int = 200
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    body: bytes = b"ok\n"
    delay: float = 0.0  # seconds before answering (after the request body was read)
    action: str | None = None
    chunked: bool = False  # send the body with Transfer-Encoding: chunked
    close: bool = False  # add "Connection: close" and close after answering
    interim: list[int] = dataclasses.field(default_factory=list)  # 1xx sent before the answer


@dataclasses.dataclass
class RecordedRequest:
    method: str
    target: str  # request target as received, e.g. /api/v1/push?x=1
    version: str
    headers: list[tuple[str, str]]
    body: bytes
    client_port: int
    connection_id: int  # 1, 2, ... per accepted TCP connection
    index_on_connection: int  # 0 for the first request on that connection
    received_at: float  # time.monotonic() when the request head was parsed

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]

    def header(self, name: str) -> str | None:
        """First value of header NAME (case-insensitive), or None."""
        values = self.header_all(name)
        return values[0] if values else None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    def header_names(self) -> set[str]:
        return {k.lower() for k, _ in self.headers}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "recording-backend/1"
    backend: "RecordingBackend"  # set on the per-instance subclass

    def setup(self) -> None:
        super().setup()
        self.connection_id = self.backend._register_connection(self.connection)
        self.requests_on_connection = 0

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.backend._unregister_connection(self.connection)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        pass

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ConnectionError("EOF in chunk size")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers until the empty line
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            return bytes(body)
                body += self.rfile.read(size)
                self.rfile.readline(3)  # CRLF after the chunk data
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        return self.rfile.read(int(length))

    def _handle(self) -> None:
        started = time.monotonic()
        body = self._read_body()
        req = RecordedRequest(
            method=self.command, target=self.path, version=self.request_version,
            headers=list(self.headers.items()), body=body,
            client_port=self.client_address[1], connection_id=self.connection_id,
            index_on_connection=self.requests_on_connection, received_at=started)
        self.requests_on_connection += 1
        reply = self.backend.reply_for(req.path)
        self.backend._record(req)
        if reply.delay and self.backend._stopping.wait(reply.delay):
            self.close_connection = True
            return
        if reply.action == "close":
            self.close_connection = True
            return
        if reply.action == "hang":
            self.backend._stopping.wait(3600)
            self.close_connection = True
            return
        try:
            for code in reply.interim:
                self.wfile.write(b"HTTP/1.1 %d %s\r\n\r\n"
                                 % (code, self.responses.get(code, ("Info",))[0].encode()))
            self.send_response_only(reply.status)
            names = {k.lower() for k, _ in reply.headers}
            for k, v in reply.headers:
                self.send_header(k, v)
            if reply.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            elif "content-length" not in names:
                self.send_header("Content-Length", str(len(reply.body)))
            if reply.close:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                if reply.chunked:
                    for i in range(0, len(reply.body), 1000):
                        part = reply.body[i:i + 1000]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.wfile.write(reply.body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        if reply.close:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # the gateway may open hundreds of upstream connections at once


class RecordingBackend:
    """See the module docstring. idle_timeout (seconds) closes idle keep-alive connections."""

    def __init__(self, default: Reply | None = None, idle_timeout: float | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self._lock = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._replies: dict[str, Reply] = {}
        self._prefix_replies: dict[str, Reply] = {}
        self._default = default or Reply()
        self._connections: dict[socket.socket, int] = {}
        self._next_connection_id = 0
        self._connections_total = 0
        self._stopping = threading.Event()
        handler = type("BoundHandler", (_Handler,), {"backend": self, "timeout": idle_timeout})
        self._server = _Server((host, port), handler)
        self._thread: threading.Thread | None = None

    # lifecycle
    def start(self) -> "RecordingBackend":
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name="recording-backend", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self) -> "RecordingBackend":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # configuration
    def set_reply(self, path: str, reply: Reply) -> None:
        """Answer REPLY for requests whose path (without query) equals PATH."""
        with self._lock:
            self._replies[path] = reply

    def set_prefix_reply(self, prefix: str, reply: Reply) -> None:
        with self._lock:
            self._prefix_replies[prefix] = reply

    def set_default(self, reply: Reply) -> None:
        with self._lock:
            self._default = reply

    def reply_for(self, path: str) -> Reply:
        with self._lock:
            if path in self._replies:
                return self._replies[path]
            best = None
            for prefix, reply in self._prefix_replies.items():
                if path.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
                    best = (prefix, reply)
            return best[1] if best else self._default

    def reset(self) -> None:
        """Forget recorded requests and per-path replies (connections stay open)."""
        with self._lock:
            self._requests.clear()
            self._replies.clear()
            self._prefix_replies.clear()
            self._default = Reply()

    # observations
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def connections_total(self) -> int:
        """TCP connections accepted so far."""
        with self._lock:
            return self._connections_total

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._connections)

    def wait_for_requests(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """Block until at least COUNT requests were recorded; raise TimeoutError after TIMEOUT s."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"backend saw {len(self._requests)} requests, wanted {count} in {timeout}s")
                self._lock.wait(left)
            return list(self._requests)

    def wait_for_connections_closed(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._connections:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    # called from handler threads
    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)
            self._lock.notify_all()

    def _register_connection(self, conn: socket.socket) -> int:
        with self._lock:
            self._next_connection_id += 1
            self._connections_total += 1
            self._connections[conn] = self._next_connection_id
            self._lock.notify_all()
            return self._next_connection_id

    def _unregister_connection(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.pop(conn, None)
            self._lock.notify_all()


if __name__ == "__main__":  # python3 tests/support/recording_backend.py [PORT]: serve until ^C
    import sys

    b = RecordingBackend(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print(f"listening on {b.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        b.stop()
