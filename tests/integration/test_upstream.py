"""Proxying to the upstream (DESIGN.md §4): status/headers/body passed through unchanged,
hop-by-hop headers dropped both ways, body forwarded byte for byte, 502 when the upstream refuses
or drops the connection, 504 when it is slower than its timeout, Expect: 100-continue."""

import os
import time
import types

import pytest

from support import gateway as gw
from support import remote_write as rw
from support.recording_backend import RecordingBackend, Reply

UPSTREAM_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def env(module_gateways, test_pki, tmp_path_factory):
    cortex = RecordingBackend().start()
    loki = RecordingBackend().start()
    dead = gw.ReservedPort()
    routes = gw.DEFAULT_ROUTES + [
        {"path_prefix": "/slow/", "kind": "passthrough", "upstream": "slow"},
        {"path_prefix": "/dead/", "kind": "passthrough", "upstream": "dead"},
        {"path_prefix": "/raw/special/", "kind": "passthrough", "upstream": "loki"},
        {"path": "/raw/exact", "kind": "passthrough", "upstream": "loki"},
    ]
    g = module_gateways.start(
        {"cortex": {"url": cortex.url, "timeout": "30s"}, "loki": loki.url,
         "slow": {"url": cortex.url, "timeout": "1s"}, "dead": {"url": dead.url}},
        routes=routes)
    yield types.SimpleNamespace(gw=g, cortex=cortex, loki=loki, pki=test_pki,
                                tmp=tmp_path_factory.mktemp("upstream"))
    cortex.stop()
    loki.stop()
    dead.close()


@pytest.fixture(autouse=True)
def _fresh_backends(env):
    env.cortex.reset()
    env.loki.reset()


def _ctx(env, client="tenant-a"):
    return gw.client_context(env.pki, client)


def _push(env, headers=(), body=None, path="/api/v1/push"):
    hdrs = list(rw.REMOTE_WRITE_HEADERS.items()) + list(headers)
    return gw.https_request(env.gw.port, _ctx(env), "POST", path,
                            rw.remote_write_body() if body is None else body, hdrs)


@pytest.mark.parametrize("reply", [
    Reply(status=200, body=b""),
    Reply(status=204, body=b""),
    Reply(status=400, body=b"err: out of order sample\n"),
    Reply(status=413, body=b"request too large\n"),
    Reply(status=429, headers=[("Retry-After", "7")], body=b"ingestion rate limit exceeded\n"),
    Reply(status=500, body=b"internal error\n"),
    Reply(status=503, headers=[("Retry-After", "3")], body=b"unavailable\n"),
], ids=lambda r: str(r.status))
def test_upstream_status_and_body_passed_through(env, reply):
    """The upstream's status, Retry-After and body reach the client unchanged (4xx stays 4xx)."""
    env.cortex.set_reply("/api/v1/push", reply)
    r = _push(env)
    assert r.status == reply.status, r.text
    assert r.body == reply.body
    for k, v in reply.headers:
        assert r.header(k) == v, r.headers
    assert len(env.cortex.wait_for_requests(1, 5)) == 1


def test_upstream_headers_passed_through(env):
    """Remote-write 2.0 response headers and other end-to-end headers are passed through."""
    hdrs = [("X-Prometheus-Remote-Write-Samples-Written", "3"),
            ("X-Prometheus-Remote-Write-Histograms-Written", "0"),
            ("X-Prometheus-Remote-Write-Exemplars-Written", "1"),
            ("Content-Type", "text/plain; charset=utf-8"), ("X-Custom", "a, b")]
    env.cortex.set_reply("/api/v1/push", Reply(status=204, headers=hdrs, body=b""))
    r = _push(env)
    assert r.status == 204
    for k, v in hdrs:
        assert r.header(k) == v, (k, r.headers)


def test_upstream_hop_by_hop_response_headers_dropped(env):
    """Hop-by-hop response headers (and those named in Connection) don't reach the client."""
    env.cortex.set_reply("/api/v1/push", Reply(headers=[
        ("Connection", "X-Hop-Resp"), ("X-Hop-Resp", "1"), ("Keep-Alive", "timeout=5"),
        ("Proxy-Authenticate", "Basic"), ("Trailer", "X-T"), ("Upgrade", "foo/1"),
        ("X-Kept", "yes")]))
    r = _push(env)
    assert r.status == 200
    names = {k.lower() for k, _ in r.headers}
    assert r.header("X-Kept") == "yes"
    for hop in ("x-hop-resp", "keep-alive", "proxy-authenticate", "trailer", "upgrade"):
        assert hop not in names, (hop, r.headers)
    assert "x-hop-resp" not in (r.header("Connection") or "").lower()


def test_chunked_upstream_response_body_intact(env):
    """A chunked upstream response body reaches the client intact."""
    payload = os.urandom(10_000)
    env.cortex.set_reply("/raw/chunked-reply", Reply(chunked=True, body=payload))
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/raw/chunked-reply", b"x")
    assert r.status == 200 and r.body == payload


HOP_BY_HOP_REQUEST = [
    ("connection-token", [("Connection", "X-Custom-Hop"), ("X-Custom-Hop", "1")], "x-custom-hop"),
    ("keep-alive", [("Keep-Alive", "timeout=5, max=100")], "keep-alive"),
    ("proxy-authorization", [("Proxy-Authorization", "Basic Zm9vOmJhcg==")],
     "proxy-authorization"),
    ("proxy-connection", [("Proxy-Connection", "keep-alive")], "proxy-connection"),
    ("te", [("TE", "trailers")], "te"),
    ("trailer", [("Trailer", "X-Checksum")], "trailer"),
    ("upgrade", [("Upgrade", "foo/1")], "upgrade"),
]


@pytest.mark.parametrize("headers,dropped", [h[1:] for h in HOP_BY_HOP_REQUEST],
                         ids=[h[0] for h in HOP_BY_HOP_REQUEST])
def test_hop_by_hop_request_headers_not_forwarded(env, headers, dropped):
    """Hop-by-hop request headers (and those named in Connection) never reach the upstream."""
    r = _push(env, headers=headers + [("X-End-To-End", "kept")])
    assert r.status == 200, r.text
    req = env.cortex.wait_for_requests(1, 5)[0]
    assert dropped not in req.header_names(), req.headers
    assert dropped not in (req.header("Connection") or "").lower(), req.headers
    assert req.header("X-End-To-End") == "kept"


def test_end_to_end_request_headers_forwarded(env):
    """Content-Type, Content-Encoding, the remote-write version, User-Agent and custom headers
    reach the upstream as sent."""
    r = _push(env, headers=[("X-Custom", "v1")])
    assert r.status == 200
    req = env.cortex.wait_for_requests(1, 5)[0]
    for k, v in list(rw.REMOTE_WRITE_HEADERS.items()) + [("X-Custom", "v1")]:
        assert req.header(k) == v, (k, req.headers)


def test_remote_write_body_forwarded_byte_for_byte(env):
    """A remote-write body reaches the upstream unchanged (no re-encoding)."""
    body = rw.remote_write_body("mla_bytes", {"job": "x"}, samples=500)
    r = _push(env, body=body)
    assert r.status == 200
    req = env.cortex.wait_for_requests(1, 5)[0]
    assert req.body == body
    if req.header("Content-Length") is not None:
        assert int(req.header("Content-Length")) == len(body)


def test_binary_body_forwarded_byte_for_byte(env):
    """256 KiB of random bytes (all byte values) pass the passthrough route unchanged."""
    body = bytes(range(256)) + os.urandom(256 * 1024)
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/raw/binary", body,
                         [("Content-Type", "application/octet-stream")])
    assert r.status == 200
    assert env.cortex.wait_for_requests(1, 5)[0].body == body


def test_chunked_request_body_forwarded(env):
    """A chunked request body reaches the upstream de-chunked and complete."""
    chunks = [os.urandom(n) for n in (1, 100, 5000, 70_000)]
    r = gw.HttpsClient(env.gw.port, _ctx(env)).request("POST", "/raw/chunked", chunks=chunks)
    assert r.status == 200
    assert env.cortex.wait_for_requests(1, 5)[0].body == b"".join(chunks)


@pytest.mark.parametrize("target", ["/raw/a/b?x=1&y=%2F", "/raw/", "/api/v1/push?foo=bar"])
def test_request_target_forwarded(env, target):
    """Path and query string reach the upstream unchanged."""
    r = gw.https_request(env.gw.port, _ctx(env), "POST", target, rw.remote_write_body(),
                         rw.REMOTE_WRITE_HEADERS)
    assert r.status == 200, r.text
    assert env.cortex.wait_for_requests(1, 5)[0].target == target


def test_loki_route_uses_loki_upstream(env):
    """Requests are sent to their route's upstream: Loki pushes go to the Loki backend only."""
    body = rw.loki_json_body(lines=["a", "b"])
    r = gw.https_request(env.gw.port, _ctx(env, "logging-agent"), "POST", "/loki/api/v1/push",
                         body, [("Content-Type", "application/json")])
    assert r.status == 200
    assert env.loki.wait_for_requests(1, 5)[0].body == body
    assert env.cortex.requests == []


@pytest.mark.parametrize("target,upstream", [
    ("/raw/special/x", "loki"), ("/raw/special/", "loki"), ("/raw/specialx", "cortex"),
    ("/raw/exact", "loki"), ("/raw/exact/more", "cortex"), ("/raw/exactly", "cortex"),
])
def test_longest_route_match_wins(env, target, upstream):
    """Among exact and prefix routes the longest match decides the upstream."""
    r = gw.https_request(env.gw.port, _ctx(env), "POST", target, b"route")
    assert r.status == 200, r.text
    backend = env.loki if upstream == "loki" else env.cortex
    other = env.cortex if upstream == "loki" else env.loki
    assert backend.wait_for_requests(1, 5)[0].target == target
    assert other.requests == []


def test_upstream_refused_is_502(env):
    """An upstream refusing connections gives 502 with a one-line reason."""
    started = time.monotonic()
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/dead/x", b"data")
    assert r.status == 502, r.text
    assert gw.one_line_reason(r.body), r.body
    assert time.monotonic() - started < 5


def test_upstream_closing_without_answer_is_502(env):
    """An upstream that closes the connection without answering gives 502."""
    env.cortex.set_reply("/raw/drop", Reply(action="close"))
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/raw/drop", b"data")
    assert r.status == 502, r.text
    assert gw.one_line_reason(r.body), r.body


def test_upstream_slower_than_timeout_is_504(env):
    """An upstream slower than its `timeout` (1 s) gives 504 shortly after the timeout."""
    env.cortex.set_reply("/slow/x", Reply(delay=10))
    started = time.monotonic()
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/slow/x", b"data", timeout=15)
    elapsed = time.monotonic() - started
    assert r.status == 504, r.text
    assert gw.one_line_reason(r.body), r.body
    assert UPSTREAM_TIMEOUT * 0.8 <= elapsed < UPSTREAM_TIMEOUT + 3, elapsed


def test_upstream_within_timeout_is_served(env):
    """An upstream answering within its timeout (0.3 s of 1 s) is served normally."""
    env.cortex.set_reply("/slow/ok", Reply(delay=0.3, body=b"late but fine\n"))
    r = gw.https_request(env.gw.port, _ctx(env), "POST", "/slow/ok", b"data")
    assert r.status == 200 and r.body == b"late but fine\n"


@pytest.mark.parametrize("interim", [[100], [103], [100, 102]], ids=["100", "103", "100-102"])
def test_upstream_interim_responses_are_not_final(env, interim):
    """1xx interim responses from the upstream (e.g. a Go server's 100 Continue) are not taken
    for the final answer: the client gets the upstream's real status and body."""
    env.cortex.set_reply("/raw/interim", Reply(interim=interim, status=201, body=b"final\n"))
    env.cortex.set_reply("/raw/other", Reply(status=202, body=b"other\n"))
    try:
        _interim_exchange(env)
    finally:
        # Whatever happened, a later request (another tenant, another client connection) must
        # get its own answer, not the rest of that exchange left in a pooled upstream connection.
        for _ in range(3):
            r = gw.https_request(env.gw.port, _ctx(env, "tenant-b"), "POST", "/raw/other", b"o")
            assert (r.status, r.body) == (202, b"other\n"), "upstream responses out of step"


def _interim_exchange(env):
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/interim HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\ndata")
        # Forwarding 1xx to the client is allowed (RFC 9110 15.2); taking one as final is not.
        r, _ = c.read_final_response(timeout=5)
        assert (r.status, r.body) == (201, b"final\n"), r
        c.send(b"POST /raw/after HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        r2, _ = c.read_final_response(timeout=5)
        assert r2.status == 200, "the connection is out of step after the 1xx"


def test_expect_100_continue_raw(env):
    """Expect: 100-continue gets '100 Continue' before the body, then the final answer; the
    connection stays usable."""
    body = os.urandom(200_000)
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(f"POST /raw/expect HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
               f"Content-Length: {len(body)}\r\n\r\n".encode())
        interim = c.read_response(timeout=5)
        assert interim.status == 100, interim
        c.send(body)
        final, _ = c.read_final_response(timeout=10)
        assert final.status == 200 and final.body == b"ok\n", final
        c.send(b"POST /raw/after HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nz")
        after, _ = c.read_final_response(timeout=5)
        assert after.status == 200, after
    reqs = env.cortex.wait_for_requests(2, 5)
    assert reqs[0].body == body and reqs[1].body == b"z"


def test_expect_100_continue_too_large_is_413_without_continue(env):
    """Expect: 100-continue with a Content-Length over the limit is answered 413, no 100."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/expect-big HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
               b"Content-Length: 5000000\r\n\r\n")
        r = c.read_response(timeout=5)
    assert r.status == 413, r
    assert env.cortex.requests == []


def test_expect_100_continue_curl(env):
    """curl with Expect: 100-continue (expect100-timeout 10 s) is answered promptly."""
    f = env.tmp / "512k.bin"
    data = os.urandom(512 * 1024)
    f.write_bytes(data)
    r = gw.curl(env.gw.port, "/raw/curl-expect", env.pki.clients["tenant-a"],
                env.pki.ca.cert_file, data_file=str(f),
                headers=("Expect: 100-continue", "Content-Type: application/octet-stream"),
                extra=("--expect100-timeout", "10"), timeout=10)
    assert r.rc == 0 and r.status == 200, r
    assert r.elapsed < 5, f"curl waited {r.elapsed:.1f}s: no 100 Continue?"
    assert env.cortex.wait_for_requests(1, 5)[0].body == data
