"""Answers the gateway gives itself (DESIGN.md §4): 404, 405, 413, 400 for conflicting framing,
slowloris cut-off. None of these requests may reach the upstream, and every error body is one
line of text saying why."""

import os
import socket
import time
import types

import pytest

from support import gateway as gw
from support import remote_write as rw
from support.recording_backend import RecordingBackend

LIMIT = 1024 * 1024  # server.max_request_body_bytes: 1MiB
READ_HEADER_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def env(module_gateways, test_pki, tmp_path_factory):
    backend = RecordingBackend().start()
    g = module_gateways.start({"cortex": backend.url, "loki": backend.url},
                              server={"max_request_body_bytes": "1MiB",
                                      "read_header_timeout": "1s"})
    yield types.SimpleNamespace(gw=g, backend=backend, pki=test_pki,
                                tmp=tmp_path_factory.mktemp("errors"))
    backend.stop()


@pytest.fixture(autouse=True)
def _fresh_backend(env):
    env.backend.reset()


def _ctx(env, client="tenant-a"):
    return gw.client_context(env.pki, client)


def _assert_gateway_error(env, r, status):
    assert r.status == status, (r.status, r.text)
    assert gw.one_line_reason(r.body), f"error body is not one line of text: {r.body!r}"
    assert env.backend.requests == [], "the upstream must not see this request"


@pytest.mark.parametrize("path", ["/nope", "/", "/api/v1/push/extra", "/api/v1", "/raw",
                                  "/loki/api/v1/push2", "/API/V1/PUSH"])
def test_unknown_path_is_404(env, path):
    """Paths matching no exact route or prefix route get 404 (exact paths are exact)."""
    r = gw.https_request(env.gw.port, _ctx(env), "POST", path, rw.remote_write_body(),
                         rw.REMOTE_WRITE_HEADERS)
    _assert_gateway_error(env, r, 404)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_non_post_on_push_route_is_405(env, method):
    """Any method other than POST on the remote-write push route is 405."""
    body = b"" if method in ("GET", "DELETE") else rw.remote_write_body()
    r = gw.https_request(env.gw.port, _ctx(env), method, "/api/v1/push", body,
                         rw.REMOTE_WRITE_HEADERS)
    _assert_gateway_error(env, r, 405)


def test_get_on_loki_route_is_405(env):
    """GET on the Loki push route (by an allowed client) is 405."""
    r = gw.https_request(env.gw.port, _ctx(env, "logging-agent"), "GET", "/loki/api/v1/push")
    _assert_gateway_error(env, r, 405)


def test_body_at_limit_is_forwarded(env):
    """A body of exactly max_request_body_bytes is accepted and forwarded intact."""
    body = os.urandom(LIMIT)
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/raw/at-limit", body, timeout=30)
    assert r.status == 200, r.text
    assert env.backend.wait_for_requests(1, 10)[0].body == body


def test_body_over_limit_is_413(env):
    """One byte over max_request_body_bytes (by Content-Length) is 413. (The gateway may answer
    and close before the body is sent; the client still reads the 413.)"""
    body = os.urandom(LIMIT + 1)
    r, _ = gw.send_then_read(env.gw.port, _ctx(env),
                             b"POST /raw/over HTTP/1.1\r\nHost: localhost\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body), body)
    _assert_gateway_error(env, r, 413)


def test_content_length_over_limit_answered_before_body(env):
    """A too-large Content-Length is answered 413 without waiting for the body."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(f"POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\n"
               f"Content-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\n"
               f"Content-Length: {10 * LIMIT}\r\n\r\n".encode())
        started = time.monotonic()
        r = c.read_response(timeout=5)
        assert time.monotonic() - started < 3
    _assert_gateway_error(env, r, 413)


def test_chunked_body_over_limit_is_413(env):
    """A chunked body is cut off with 413 once it exceeds the limit while being read."""
    chunk = os.urandom(64 * 1024)
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/chunked HTTP/1.1\r\nHost: localhost\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(LIMIT // len(chunk) + 2):
                c.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            c.send(b"0\r\n\r\n")
        except OSError:
            pass  # the gateway may stop reading once it has answered
        r = c.read_response(timeout=10)
    _assert_gateway_error(env, r, 413)


def test_curl_large_upload_is_413(env):
    """curl uploading 2 MiB (it sends Expect: 100-continue) gets 413."""
    f = env.tmp / "2mib.bin"
    f.write_bytes(os.urandom(2 * LIMIT))
    r = gw.curl(env.gw.port, "/raw/curl-big", env.pki.clients["tenant-a"], env.pki.ca.cert_file,
                data_file=str(f), headers=("Content-Type: application/octet-stream",))
    assert r.status == 413, r
    assert gw.one_line_reason(r.body), r.body
    assert env.backend.requests == []


@pytest.mark.parametrize("framing", [
    b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
    b"Content-Length: 0\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: 5\r\nContent-Length: 6\r\n",
], ids=["cl-then-te", "te-then-cl", "cl0-and-te", "two-different-cl"])
def test_conflicting_framing_is_400(env, framing):
    """Content-Length with Transfer-Encoding (or two different Content-Lengths) is 400."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/smuggle HTTP/1.1\r\nHost: localhost\r\n" + framing +
               b"\r\n0\r\n\r\nGET /raw/smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n")
        r = c.read_response(timeout=5)
        assert r.status == 400, (r.status, r.body)
        assert gw.one_line_reason(r.body), r.body
        # The connection must not go on to serve the smuggled request.
        c.wait_closed(timeout=3)
    assert env.backend.requests == []


def test_slowloris_headers_cut_off(env):
    """Headers trickled byte by byte are cut off after read_header_timeout (1 s here)."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        started = time.monotonic()
        c.send(b"POST /raw/slow HTTP/1.1\r\n")
        closed_at = None
        for i in range(40):  # up to ~8 s of trickling
            try:
                c.send(b"X-Trickle-%d: y\r\n" % i)
            except OSError:
                closed_at = time.monotonic()
                break
            if c.wait_closed(timeout=0.2):
                closed_at = time.monotonic()
                break
        assert closed_at is not None, "the connection was still open after ~8 s of trickling"
        elapsed = closed_at - started
        print(f"slowloris cut after {elapsed:.2f}s, answer {c.buf[:60]!r}")
        assert elapsed < READ_HEADER_TIMEOUT + 2.5, f"cut off only after {elapsed:.1f}s"
        if c.buf:  # an answer is optional; if there is one it is 408 (or 400)
            assert c.buf.split(b" ", 2)[1] in (b"408", b"400"), c.buf[:100]
    assert env.backend.requests == []


def test_silent_tcp_connection_is_closed(env):
    """A TCP connection that never starts the TLS handshake is closed within a few seconds of
    read_header_timeout (every I/O step has a deadline)."""
    with socket.create_connection(("127.0.0.1", env.gw.port), timeout=10) as s:
        started = time.monotonic()
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
        except socket.timeout:
            pytest.fail("silent connection still open after 10 s")
        assert data == b"" and time.monotonic() - started < READ_HEADER_TIMEOUT + 3


def test_no_request_after_handshake_is_closed(env):
    """A TLS connection that sends no request is closed within a few seconds of
    read_header_timeout."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        started = time.monotonic()
        assert c.wait_closed(timeout=10), "idle new connection still open after 10 s"
        assert time.monotonic() - started < READ_HEADER_TIMEOUT + 3
    assert env.backend.requests == []


def test_slow_but_complete_headers_within_timeout_are_served(env):
    """Headers that arrive in pieces but within read_header_timeout are served normally."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        for piece in (b"POST /raw/pieces HTTP/1.1\r\n", b"Host: localhost\r\n",
                      b"Content-Length: 2\r\n", b"\r\nhi"):
            c.send(piece)
            time.sleep(0.1)
        r = c.read_response(timeout=5)
    assert r.status == 200
    assert env.backend.wait_for_requests(1, 5)[0].body == b"hi"


def test_gateway_error_keeps_serving_other_connections(env):
    """After all these errors the gateway still serves a normal request."""
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/api/v1/push",
                         rw.remote_write_body(), rw.REMOTE_WRITE_HEADERS)
    assert r.status == 200
