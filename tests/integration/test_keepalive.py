"""Connection handling on both sides: client keep-alive, idle_timeout, pipelining,
Connection: close, and pooled keep-alive upstream connections (several requests per TCP
connection, recovery when the upstream closes an idle pooled connection)."""

import time
import types

import pytest

from support import gateway as gw
from support import remote_write as rw
from support.recording_backend import RecordingBackend, Reply

IDLE_TIMEOUT = 2.0
BACKEND_IDLE_CLOSE = 0.3


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    cortex = RecordingBackend().start()
    # An upstream that closes idle keep-alive connections quickly, like a server-side idle timeout.
    flaky = RecordingBackend(idle_timeout=BACKEND_IDLE_CLOSE).start()
    routes = gw.DEFAULT_ROUTES + [
        {"path_prefix": "/flaky/", "kind": "passthrough", "upstream": "flaky"}]
    g = module_gateways.start({"cortex": cortex.url, "loki": cortex.url, "flaky": flaky.url},
                              routes=routes, server={"idle_timeout": "2s"})
    yield types.SimpleNamespace(gw=g, cortex=cortex, flaky=flaky, pki=test_pki)
    cortex.stop()
    flaky.stop()


@pytest.fixture(autouse=True)
def _fresh_backends(env):
    env.cortex.reset()
    env.flaky.reset()


def _ctx(env, client="tenant-a"):
    return gw.client_context(env.pki, client)


def test_client_connection_is_kept_alive(env):
    """Ten requests on one client connection are all served on that same TLS connection."""
    with gw.HttpsClient(env.gw.port, _ctx(env)).connect() as c:
        first = c.sock
        for i in range(10):
            r = c.request("POST", "/api/v1/push", rw.remote_write_body(value=i),
                          rw.REMOTE_WRITE_HEADERS)
            assert r.status == 200
            assert (r.header("Connection") or "").lower() != "close"
            assert c.sock is first, f"the gateway closed the connection after request {i}"
    assert len(env.cortex.wait_for_requests(10, 5)) == 10


def test_upstream_connection_is_reused_for_one_client(env):
    """Sequential requests from one client share pooled upstream connections."""
    with gw.HttpsClient(env.gw.port, _ctx(env)) as c:
        for _ in range(10):
            assert c.request("POST", "/raw/reuse", b"x").status == 200
    reqs = env.cortex.wait_for_requests(10, 5)
    ids = [r.connection_id for r in reqs]
    assert len(set(ids)) <= 2, f"upstream connections used: {ids}"
    assert max(r.index_on_connection for r in reqs) >= 4


def test_upstream_connection_is_reused_across_clients(env):
    """Sequential requests on separate client connections still share upstream connections."""
    for _ in range(8):
        r = gw.https_request(env.gw.port, _ctx(env), "POST", "/raw/reuse2", b"x")
        assert r.status == 200
    ids = [r.connection_id for r in env.cortex.wait_for_requests(8, 5)]
    assert len(set(ids)) <= 4, f"upstream connections used: {ids}"


def test_upstream_idle_close_is_recovered(env):
    """When the upstream closes an idle pooled connection, the next request still succeeds."""
    with gw.HttpsClient(env.gw.port, _ctx(env)) as c:
        for i in range(3):
            r = c.request("POST", "/flaky/x", b"n%d" % i)
            assert r.status == 200, (i, r.status, r.text)
            assert env.flaky.wait_for_connections_closed(timeout=5), \
                "the flaky backend kept its connection open"
            time.sleep(0.1)  # let the gateway's side see the FIN
    assert [r.body for r in env.flaky.requests] == [b"n0", b"n1", b"n2"]


def test_upstream_connection_close_answer_is_honoured(env):
    """An upstream answer with Connection: close is not reused; the next request succeeds."""
    env.cortex.set_reply("/raw/close", Reply(close=True))
    with gw.HttpsClient(env.gw.port, _ctx(env)) as c:
        for i in range(3):
            r = c.request("POST", "/raw/close", b"%d" % i)
            assert r.status == 200, (i, r.text)
    reqs = env.cortex.wait_for_requests(3, 5)
    assert len({r.connection_id for r in reqs}) == 3


def test_idle_client_connection_closed_after_idle_timeout(env):
    """An idle client connection is closed by the gateway after server.idle_timeout (2 s)."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/idle HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        assert c.read_response(timeout=5).status == 200
        started = time.monotonic()
        assert c.wait_closed(timeout=IDLE_TIMEOUT + 5), "idle connection still open"
        elapsed = time.monotonic() - started
    assert IDLE_TIMEOUT * 0.5 <= elapsed <= IDLE_TIMEOUT + 3, elapsed


def test_connection_close_request_is_honoured(env):
    """A request with Connection: close is answered and then the connection is closed."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/bye HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
               b"Content-Length: 3\r\n\r\nbye")
        assert c.read_response(timeout=5).status == 200
        assert c.wait_closed(timeout=3)


def test_pipelined_requests_answered_in_order(env):
    """Two pipelined requests in one write get two answers, in order."""
    env.cortex.set_reply("/raw/p1", Reply(body=b"first\n", delay=0.2))
    env.cortex.set_reply("/raw/p2", Reply(body=b"second\n"))
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/p1 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\na"
               b"POST /raw/p2 HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nb")
        r1 = c.read_response(timeout=5)
        r2 = c.read_response(timeout=5)
    assert (r1.status, r1.body, r2.status, r2.body) == (200, b"first\n", 200, b"second\n")


def test_http10_client_is_served(env):
    """An HTTP/1.0 request with Content-Length is served and the connection then closed."""
    with gw.RawTls(env.gw.port, _ctx(env)) as c:
        c.send(b"POST /raw/old HTTP/1.0\r\nHost: localhost\r\nContent-Length: 2\r\n\r\nhi")
        r = c.read_response(timeout=5)
        assert r.status == 200 and r.body == b"ok\n"
        assert c.wait_closed(timeout=3)
    assert env.cortex.wait_for_requests(1, 5)[0].body == b"hi"
