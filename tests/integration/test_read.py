"""The read listener (DESIGN.md §3 `read`): Grafana's side of the gateway.

- A query through the read listener reaches a real Prometheus's HTTP API through a `rewrite` and
  returns the same JSON as asking Prometheus directly.
- Methods Grafana uses (GET, POST with a form body, PUT, DELETE) reach the upstream with target,
  query string and body intact, X-Scope-OrgID set to the tenant, hop-by-hop headers dropped;
  exact-path rewrites and prefix rewrites.
- tenant_from header: a bad, missing, doubled or not-allowed X-Scope-OrgID gets 403 and nothing
  is forwarded; a disabled tenant gets disabled_status; the query limit gives limited_status with
  Retry-After; the read token gives 401 without it and is not passed on.
- Responses are streamed: a 200 MB chunked response passes intact while the gateway's resident
  memory grows by less than RSS_BOUND (read from /proc, a memory bound, not a timing).
- read.tls: the same listener over TLS (curl with the test CA).
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from support import gateway as gw
from support import processes

RSS_BOUND = 16 * 1024 * 1024  # bytes the gateway may grow while relaying 200 MB
STREAM_BYTES = int(os.environ.get("MLA_TEST_STREAM_BYTES", 200 * 1024 * 1024))
TOKEN = "read-token-0123456789"


def read_request(port: int, method: str, target: str, body: bytes | None = None,
                 headers: dict | None = None, timeout: float = 30.0):
    """(status, headers dict with lower-case names, body) of one plain-HTTP request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def start_read_gateway(gateways, upstreams: dict, read: dict, tenant: dict | None = None,
                       limits: dict | None = None):
    """A gateway with a read listener on a free port (retried on a port race)."""
    for attempt in range(3):
        port = gw.free_port()
        extra = {"read": {"listen": f"127.0.0.1:{port}", **read}}
        if limits:
            extra["limits"] = limits
        try:
            g = gateways.start(upstreams, tenant=tenant, extra=extra, log_level="info")
            g.read_port = port
            return g
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


HEADER_TENANT = {"source": "subject_cn", "allowed": ["tenant-a", "tenant-b", "grafana-org"]}


@pytest.fixture(scope="module")
def prometheus(session_dir):
    if not Path(processes.PROMETHEUS).exists():
        pytest.skip("prometheus (Debian package) not installed")
    prom = processes.Prometheus(Path(session_dir) / "read-prometheus",
                                processes.receiver_config(), agent=False).start()
    yield prom
    prom.stop()


def test_query_through_rewrite_equals_direct_prometheus(gateways, backend, prometheus):
    """Grafana's Cortex paths (/api/prom/api/v1/...) are rewritten to Prometheus's own
    (/api/v1/...): the JSON is byte for byte what Prometheus answers directly."""
    g = start_read_gateway(
        gateways, {"cortex": backend.url, "loki": backend.url, "prom": prometheus.url},
        {"tenant_from": "fixed",
         "routes": [{"path_prefix": "/api/prom/", "rewrite": "/", "upstream": "prom"}]},
        tenant={"source": "fixed", "fixed": "cluster-abc"})
    for target in ["/api/v1/query?query=vector(42)&time=1700000000",
                   "/api/v1/query_range?query=vector(1)%2Bvector(2)&start=1700000000"
                   "&end=1700000060&step=15",
                   "/api/v1/status/buildinfo",
                   "/api/v1/query?query=sum(rate(nope%5B5m%5D))&time=1700000000"]:
        direct = processes.http_get(prometheus.url + target)
        status, headers, body = read_request(g.read_port, "GET", "/api/prom" + target)
        assert (status, body) == direct, target
        assert headers["content-type"].startswith("application/json")
    # A form POST, as Grafana sends long queries.
    form = urllib.parse.urlencode({"query": "vector(7)", "time": "1700000000"}).encode()
    status, _, body = read_request(g.read_port, "POST", "/api/prom/api/v1/query", form,
                                   {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200
    assert json.loads(body)["data"]["result"][0]["value"] == [1700000000, "7"]


def test_methods_rewrites_and_headers_reach_the_upstream(gateways, backend):
    """Every method goes through with target, query string and body intact; the tenant header
    is the fixed tenant whatever the caller sent; exact and prefix rewrites apply."""
    g = start_read_gateway(
        gateways, {"cortex": backend.url, "loki": backend.url},
        {"tenant_from": "fixed",
         "routes": [
             {"path_prefix": "/api/prom/alertmanager/", "upstream": "cortex"},
             {"path": "/api/prom/api/v1/alerts", "rewrite": "/api/v1/alerts",
              "upstream": "cortex"},
             {"path": "/api/prom/api/v1/rules", "rewrite": "/prometheus/api/v1/rules",
              "upstream": "cortex"},
             {"path_prefix": "/api/prom/", "upstream": "cortex"},
             {"path_prefix": "/loki/api/", "upstream": "loki"},
         ]},
        tenant={"source": "fixed", "fixed": "cluster-abc"})
    cases = [
        ("GET", "/api/prom/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=1", None,
         "/api/prom/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=1"),
        ("POST", "/api/prom/api/v1/query_range", b"query=up&start=1&end=2&step=1",
         "/api/prom/api/v1/query_range"),
        ("GET", "/api/prom/api/v1/alerts", None, "/api/v1/alerts"),
        ("GET", "/api/prom/api/v1/rules?type=alert", None, "/prometheus/api/v1/rules?type=alert"),
        ("PUT", "/api/prom/alertmanager/api/v2/silences", b'{"matchers": []}',
         "/api/prom/alertmanager/api/v2/silences"),
        ("DELETE", "/api/prom/alertmanager/api/v2/silence/abc", None,
         "/api/prom/alertmanager/api/v2/silence/abc"),
        ("GET", "/loki/api/v1/query_range?query=%7Bapp%3D%22x%22%7D&limit=10", None,
         "/loki/api/v1/query_range?query=%7Bapp%3D%22x%22%7D&limit=10"),
    ]
    for method, target, body, upstream_target in cases:
        backend.reset()
        status, _, answer = read_request(
            g.read_port, method, target, body,
            {"X-Scope-OrgID": "spoofed", "Connection": "close, X-Drop", "X-Drop": "1",
             "Content-Type": "application/x-www-form-urlencoded"})
        assert (status, answer) == (200, b"ok\n"), (method, target)
        [req] = backend.wait_for_requests(1, timeout=5)
        assert (req.method, req.target) == (method, upstream_target)
        assert req.body == (body or b"")
        assert req.header_all("X-Scope-OrgID") == ["cluster-abc"]
        assert req.header("X-Drop") is None

    status, _, body = read_request(g.read_port, "GET", "/nope")
    assert status == 404 and b"no read route" in body


def test_header_tenant_checks(gateways, backend):
    """tenant_from header: the caller's X-Scope-OrgID is used when valid and allowed; anything
    else is 403 with a reason and is not forwarded."""
    g = start_read_gateway(
        gateways, {"cortex": backend.url, "loki": backend.url},
        {"tenant_from": "header", "routes": [{"path_prefix": "/api/prom/", "upstream": "cortex"}]},
        tenant=HEADER_TENANT)
    status, _, _ = read_request(g.read_port, "GET", "/api/prom/api/v1/labels",
                                headers={"X-Scope-OrgID": "grafana-org"})
    assert status == 200
    assert backend.wait_for_requests(1)[0].header_all("X-Scope-OrgID") == ["grafana-org"]
    backend.reset()
    bad = [
        ({}, "missing X-Scope-OrgID"),
        ({"X-Scope-OrgID": "a|b"}, "not a valid tenant ID"),
        ({"X-Scope-OrgID": ".."}, "not a valid tenant ID"),
        ({"X-Scope-OrgID": "tenant-z"}, "not in tenant.allowed"),
    ]
    for headers, reason in bad:
        status, _, body = read_request(g.read_port, "GET", "/api/prom/api/v1/labels",
                                       headers=headers)
        assert status == 403, headers
        assert reason in body.decode() and gw.one_line_reason(body), body
    # Two tenant headers: one request, one tenant.
    with socket.create_connection(("127.0.0.1", g.read_port), timeout=5) as s:
        s.sendall(b"GET /api/prom/api/v1/labels HTTP/1.1\r\nHost: x\r\n"
                  b"X-Scope-OrgID: tenant-a\r\nX-Scope-OrgID: tenant-b\r\n"
                  b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 403"), answer[:100]
    assert b"more than one X-Scope-OrgID" in answer
    time.sleep(0.2)
    assert backend.requests == []


def test_disabled_tenant_query_limit_and_token(gateways, backend, tmp_path):
    """A disabled tenant gets disabled_status + Retry-After; over limits.queries the caller gets
    limited_status + Retry-After; the read token is required and not forwarded."""
    token_file = tmp_path / "read-token"
    token_file.write_text(TOKEN + "\n")
    admin_port = gw.free_port()
    g = None
    for attempt in range(3):
        try:
            read_port = gw.free_port()
            g = gateways.start(
                {"cortex": backend.url, "loki": backend.url}, tenant=HEADER_TENANT,
                admin={"listen": f"127.0.0.1:{admin_port}"},
                extra={"read": {"listen": f"127.0.0.1:{read_port}", "tenant_from": "header",
                                "token_file": str(token_file),
                                "routes": [{"path_prefix": "/api/prom/", "upstream": "cortex"}]},
                       "limits": {"overrides": {"tenant-b": {"queries": {
                           "requests_per_second": 1, "burst_requests": 2}}}}})
            break
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
            admin_port = gw.free_port()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    status, headers, _ = read_request(read_port, "GET", "/api/prom/api/v1/labels",
                                      headers={"X-Scope-OrgID": "tenant-a"})
    assert status == 401 and "www-authenticate" in headers
    status, _, _ = read_request(read_port, "GET", "/api/prom/api/v1/labels",
                                headers={"X-Scope-OrgID": "tenant-a",
                                         "Authorization": "Bearer wrong"})
    assert status == 401
    status, _, _ = read_request(read_port, "GET", "/api/prom/api/v1/labels",
                                headers={"X-Scope-OrgID": "tenant-a", **auth})
    assert status == 200
    assert backend.wait_for_requests(1)[0].header("Authorization") is None

    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=5)
    conn.request("POST", "/api/v1/tenants/tenant-a/disable", body=b'{"duration": "1h"}')
    assert conn.getresponse().status == 200
    conn.close()
    status, headers, body = read_request(read_port, "GET", "/api/prom/api/v1/labels",
                                         headers={"X-Scope-OrgID": "tenant-a", **auth})
    assert status == 503 and b"disabled" in body
    assert 0 < int(headers["retry-after"]) <= 3600

    statuses = []
    for _ in range(5):
        status, headers, _ = read_request(read_port, "GET", "/api/prom/api/v1/labels",
                                          headers={"X-Scope-OrgID": "tenant-b", **auth})
        statuses.append(status)
        if status == 429:
            assert int(headers["retry-after"]) >= 1
    assert statuses[:2] == [200, 200] and 429 in statuses, statuses


class StreamingServer:
    """An upstream that answers every request with BYTES of chunked body, 1 MiB per chunk,
    deterministic content; serves one connection at a time."""

    def __init__(self, total: int):
        self.total = total
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.chunk = hashlib.sha256(b"mla").digest() * (1024 * 1024 // 32)
        self.sent = 0  # body bytes handed to the kernel so far (this thread only writes it)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(60)
                try:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        part = conn.recv(65536)
                        if not part:
                            raise OSError("closed")
                        data += part
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream"
                                 b"\r\nTransfer-Encoding: chunked\r\n\r\n")
                    left = self.total
                    self.sent = 0
                    while left > 0:
                        piece = self.chunk[:min(left, len(self.chunk))]
                        conn.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
                        left -= len(piece)
                        self.sent += len(piece)
                    conn.sendall(b"0\r\n\r\n")
                except OSError:
                    pass

    def expected_digest(self) -> str:
        h = hashlib.sha256()
        left = self.total
        while left > 0:
            piece = self.chunk[:min(left, len(self.chunk))]
            h.update(piece)
            left -= len(piece)
        return h.hexdigest()

    def close(self):
        self.sock.close()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_200mb_response_is_streamed_with_bounded_memory(gateways, backend):
    """A 200 MB chunked answer reaches the client intact (SHA-256), chunked, while the gateway's
    RSS (sampled every 20 ms) stays within RSS_BOUND of what it was before."""
    upstream = StreamingServer(STREAM_BYTES)
    try:
        g = start_read_gateway(
            gateways, {"cortex": backend.url, "loki": backend.url, "big": upstream.url},
            {"tenant_from": "fixed", "routes": [{"path_prefix": "/loki/api/", "upstream": "big"}]},
            tenant={"source": "fixed", "fixed": "cluster-abc"})
        # Warm up (first request allocates pools, buffers), then take the baseline.
        status, _, _ = read_request(g.read_port, "GET", "/api/nothing")
        assert status == 404
        baseline = rss_bytes(g.pid)
        peak = [baseline]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], rss_bytes(g.pid))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        conn = http.client.HTTPConnection("127.0.0.1", g.read_port, timeout=60)
        conn.request("GET", "/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D")
        r = conn.getresponse()
        assert r.status == 200
        assert r.getheader("Transfer-Encoding") == "chunked", r.getheaders()
        digest, received = hashlib.sha256(), 0
        while block := r.read(1024 * 1024):
            digest.update(block)
            received += len(block)
        conn.close()
        done.set()
        sampler.join(timeout=5)
        assert received == STREAM_BYTES, r.getheaders()
        assert digest.hexdigest() == upstream.expected_digest()
        growth = peak[0] - baseline
        assert growth < RSS_BOUND, f"RSS grew by {growth / 2**20:.1f} MiB relaying 200 MB"
    finally:
        upstream.close()


def wait_for_stall(upstream: StreamingServer, timeout: float = 20.0) -> int:
    """Bytes the upstream had sent once it sent nothing more for 0.5 s."""
    deadline = time.monotonic() + timeout
    before = upstream.sent
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = upstream.sent
        if now == before and now > 0:
            return now
        before = now
    raise AssertionError(f"upstream still sending after {timeout}s ({upstream.sent} bytes)")


def test_slow_client_holds_back_the_upstream(gateways, backend):
    """A client that stops reading stalls the upstream (TCP back-pressure through the gateway)
    instead of the gateway buffering the answer: while the client pauses, the upstream gets
    rid of no more than the socket buffers hold, and the gateway's RSS stays within RSS_BOUND;
    then the client reads on and gets every byte."""
    upstream = StreamingServer(STREAM_BYTES)
    try:
        g = start_read_gateway(
            gateways, {"cortex": backend.url, "loki": backend.url, "big": upstream.url},
            {"tenant_from": "fixed", "routes": [{"path_prefix": "/loki/api/", "upstream": "big"}]},
            tenant={"source": "fixed", "fixed": "cluster-abc"})
        baseline = rss_bytes(g.pid)
        sock = socket.create_connection(("127.0.0.1", g.read_port), timeout=60)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(b"GET /loki/api/v1/query_range HTTP/1.1\r\nHost: x\r\n\r\n")
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200"), head[:100]
        # Paused: the upstream fills the socket buffers on its way and then blocks.
        stalled = wait_for_stall(upstream)
        assert 0 < stalled < 32 * 1024 * 1024, stalled
        assert rss_bytes(g.pid) - baseline < RSS_BOUND
        received = len(head)
        while upstream.sent < STREAM_BYTES or received < STREAM_BYTES:
            block = sock.recv(1024 * 1024)
            if not block:
                break
            received += len(block)
            if block.endswith(b"0\r\n\r\n"):
                break
        sock.close()
        assert upstream.sent == STREAM_BYTES
        assert received > STREAM_BYTES  # the body plus chunk framing and the header
    finally:
        upstream.close()


def test_read_listener_over_tls(gateways, backend, test_pki):
    """With read.tls, the read listener speaks HTTPS (server certificate of the test PKI)."""
    g = start_read_gateway(
        gateways, {"cortex": backend.url, "loki": backend.url},
        {"tenant_from": "fixed",
         "tls": {"cert_file": test_pki.server.cert_file, "key_file": test_pki.server.key_file},
         "routes": [{"path_prefix": "/api/prom/", "upstream": "cortex"}]},
        tenant={"source": "fixed", "fixed": "cluster-abc"})
    result = gw.curl(g.read_port, "/api/prom/api/v1/labels", None, test_pki.ca.cert_file)
    assert result.status == 200, result
    assert backend.wait_for_requests(1)[0].header("X-Scope-OrgID") == "cluster-abc"
