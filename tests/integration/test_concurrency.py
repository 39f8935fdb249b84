"""Many clients at once: 200 concurrent mTLS connections (threads), two tenants interleaved,
each request's tenant header and body checked at the upstream; slow upstream answers do not
serialise the gateway."""

import http.client
import ssl
import threading
import time
import types

import pytest

from support import gateway as gw
from support import remote_write as rw
from support.recording_backend import RecordingBackend, Reply

CONNECTIONS = 200
REQUESTS_PER_CONNECTION = 3


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    backend = RecordingBackend().start()
    g = module_gateways.start({"cortex": backend.url, "loki": backend.url},
                              server={"threads": 2}, log_level="info")
    ctxs = {t: gw.client_context(test_pki, t) for t in ("tenant-a", "tenant-b")}
    yield types.SimpleNamespace(gw=g, backend=backend, pki=test_pki, ctxs=ctxs)
    backend.stop()


@pytest.fixture(autouse=True)
def _fresh_backend(env):
    env.backend.reset()


def _run_threads(count, target, timeout):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except Exception as e:  # collected and reported below
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=wrapped, args=(i,), daemon=True) for i in range(count)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    alive = sum(t.is_alive() for t in threads)
    assert alive == 0, f"{alive} client threads still running after {timeout}s"
    assert not errors, f"{len(errors)} clients failed, e.g. {errors[:3]}"


def test_200_concurrent_connections_two_tenants(env):
    """200 simultaneous connections x 3 keep-alive requests: all 200, every upstream request
    carries the tenant of the certificate that sent it and its exact body."""
    barrier = threading.Barrier(CONNECTIONS, timeout=60)
    sent = {}

    def client(i):
        tenant = "tenant-a" if i % 2 == 0 else "tenant-b"
        with gw.HttpsClient(env.gw.port, env.ctxs[tenant], timeout=30) as c:
            c.connect()
            barrier.wait()  # all connections are open (handshaken) at the same time
            for j in range(REQUESTS_PER_CONNECTION):
                body = rw.remote_write_body("mla_conc", {"conn": str(i), "seq": str(j),
                                                         "tenant": tenant})
                sent[(i, j)] = (tenant, body)
                r = c.request("POST", "/api/v1/push", body,
                              list(rw.REMOTE_WRITE_HEADERS.items()) +
                              [("X-Scope-OrgID", "tenant-a" if tenant == "tenant-b" else "x")])
                assert r.status == 200, (i, j, r.status, r.text)

    _run_threads(CONNECTIONS, client, timeout=90)
    reqs = env.backend.wait_for_requests(CONNECTIONS * REQUESTS_PER_CONNECTION, timeout=10)
    assert len(reqs) == CONNECTIONS * REQUESTS_PER_CONNECTION
    seen = set()
    for req in reqs:
        labels = rw.decode_write_request(rw.snappy_decompress(req.body))[0][0]
        key = (int(labels["conn"]), int(labels["seq"]))
        tenant, body = sent[key]
        assert req.body == body, key
        assert req.header_all("X-Scope-OrgID") == [tenant], (key, req.headers)
        seen.add(key)
    assert len(seen) == CONNECTIONS * REQUESTS_PER_CONNECTION


def test_slow_upstream_does_not_serialise(env):
    """100 concurrent requests to an upstream taking 0.5 s each finish in a few seconds."""
    env.backend.set_reply("/raw/slow", Reply(delay=0.5))
    started = time.monotonic()

    def client(i):
        r = gw.https_request(env.gw.port, env.ctxs["tenant-a"], "POST", "/raw/slow", b"%d" % i,
                             timeout=30)
        assert r.status == 200, (i, r.status, r.text)

    _run_threads(100, client, timeout=60)
    elapsed = time.monotonic() - started
    assert elapsed < 10, f"100 x 0.5 s upstream requests took {elapsed:.1f}s"
    assert len(env.backend.requests) == 100


def test_max_connections_bounds_open_connections(gateways, backend, test_pki):
    """With server.max_connections 3, a 4th simultaneous connection is not served; once one of
    the three closes, new connections are served again."""
    g = gateways.start({"cortex": backend.url, "loki": backend.url},
                       server={"max_connections": 3})
    ctx = gw.client_context(test_pki, "tenant-a")
    held = [gw.RawTls(g.port, ctx) for _ in range(3)]
    try:
        for c in held:
            c.send(b"POST /raw/held HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
            assert c.read_response(timeout=5).status == 200
        served = False
        try:
            with gw.RawTls(g.port, ctx, timeout=3) as extra:
                extra.send(b"POST /raw/extra HTTP/1.1\r\nHost: localhost\r\n"
                           b"Content-Length: 0\r\n\r\n")
                served = extra.read_response(timeout=3).status == 200
        except (OSError, EOFError, TimeoutError, ssl.SSLError):
            pass
        assert not served, "a 4th connection was served with max_connections 3"
    finally:
        held.pop().close()

    def served_again():
        try:
            return gw.https_request(g.port, ctx, "POST", "/raw/again", b"", timeout=3).status == 200
        except (OSError, ssl.SSLError, http.client.HTTPException):
            return False

    try:
        gw.wait_until(served_again, timeout=10, interval=0.2, what="service after a slot freed")
    finally:
        for c in held:
            c.close()
