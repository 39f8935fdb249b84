"""HTTP/2 on the write listener (DESIGN.md §3 `server.http2`, §4; GitHub issue 7): real clients
(`curl --http2`, `nghttp` from nghttp2-client) and the raw-frame client tests/support/h2_raw.py
against the real binary over mTLS.

- ALPN: with `http2: true` the gateway offers h2 and http/1.1 (HTTP/1.1 clients keep working);
  with `http2: false` a client offering h2 gets HTTP/1.1. The server's SETTINGS announce
  MAX_CONCURRENT_STREAMS (`server.http2_max_concurrent_streams`, default 100),
  MAX_HEADER_LIST_SIZE 65536 and large stream (~1 MiB) and connection (~16 MiB) windows.
- The h2 session feeds the HTTP/1.1 request pipeline: remote-write and Loki bodies reach the
  upstream byte for byte with X-Scope-OrgID overwritten, exactly as over HTTP/1.1; 403 (tenant,
  route clients), 404, 405, 413 (content-length and streamed DATA), 400, 415, 429 get the same
  status and body as over HTTP/1.1 and never reach the upstream; the upstream's status, headers
  (no connection-specific ones) and body are relayed.
- Many streams on one connection (100 at once with the raw client, 200 with `nghttp -m`) are all
  answered and all recorded; streams beyond MAX_CONCURRENT_STREAMS are refused (REFUSED_STREAM)
  and none is lost silently.
- Kill switch: a disabled tenant's stream gets disabled_status + Retry-After and its connection
  GOAWAY(NO_ERROR) then closes; disabling a tenant sends GOAWAY to its open connections (their
  in-flight streams finish); other tenants' connections are untouched.
- SIGTERM: GOAWAY, the in-flight stream finishes with the upstream's real answer, exit 0.

Every wait is bounded; nothing asserts on timing. Processes are stopped by PID only.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import types

import pytest

from support import gateway as gw
from support import h2_raw as h2
from support import ingest
from support import loki_proto as lp
from support import remote_write as rw
from support.recording_backend import RecordingBackend, Reply

RW = "/api/v1/push"
LOKI = "/loki/api/v1/push"
BODY_LIMIT = 64 * 1024  # server.max_request_body_bytes of the module gateway
CURL_HAS_HTTP2 = "HTTP2" in subprocess.run(["curl", "-V"], capture_output=True,
                                           text=True).stdout.split("Features:", 1)[-1]
NGHTTP = shutil.which("nghttp")
needs_curl_h2 = pytest.mark.skipif(not CURL_HAS_HTTP2, reason="curl built without HTTP2")
needs_nghttp = pytest.mark.skipif(NGHTTP is None,
                                  reason="nghttp missing (Debian package nghttp2-client)")


# --- clients ----------------------------------------------------------------------------------

def ctx(pki, client="tenant-a"):
    """A fresh client context (h2_raw sets ALPN on it, so never share one)."""
    return gw.client_context(pki, client)


def curl(port, path, leaf, ca_file, data: bytes | None = None, headers=(), method=None,
         http2=True, timeout=30.0) -> types.SimpleNamespace:
    """curl with --http2 (or --http1.1); status 0 when no response; version as curl reports it
    (%{http_version}: "2", "1.1")."""
    with tempfile.TemporaryDirectory(prefix="curl-h2-") as d:
        out = os.path.join(d, "out")
        args = ["curl", "-sS", "--max-time", str(int(timeout)), "--cacert", ca_file,
                "--cert", leaf.cert_file, "--key", leaf.key_file, "-o", out,
                "-w", "%{http_code} %{http_version}", "--http2" if http2 else "--http1.1"]
        if data is not None:
            body_file = os.path.join(d, "body")
            with open(body_file, "wb") as f:
                f.write(data)
            args += ["--data-binary", f"@{body_file}"]
        if method:
            args += ["-X", method]
        for hdr in headers:
            args += ["-H", hdr]
        args.append(f"https://localhost:{port}{path}")
        args += ["--resolve", f"localhost:{port}:127.0.0.1"]
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout + 10)
        body = open(out, "rb").read() if os.path.exists(out) else b""
    code, _, version = p.stdout.strip().partition(" ")
    return types.SimpleNamespace(rc=p.returncode, status=int(code) if code.isdigit() else 0,
                                 version=version, body=body, stderr=p.stderr)


_NGHTTP_STAT = re.compile(r"^\s*(\d+)\s+\+\S+\s+\+\S+\s+\S+\s+(\d{3})\s+", re.M)


def nghttp(port, path, leaf, data: bytes | None = None, headers=(), repeat=1,
           timeout=60.0) -> types.SimpleNamespace:
    """nghttp (HTTP/2 only: it fails unless ALPN selects h2) REPEAT times the same request on
    one connection; statuses from its -s statistics table, one per completed stream."""
    with tempfile.TemporaryDirectory(prefix="nghttp-") as d:
        args = [NGHTTP, "-n", "-s", "--cert", leaf.cert_file, "--key", leaf.key_file,
                "-m", str(repeat), "-t", str(int(timeout))]
        if data is not None:
            body_file = os.path.join(d, "body")
            with open(body_file, "wb") as f:
                f.write(data)
            args += ["-d", body_file]
        for hdr in headers:
            args += ["-H", hdr]
        args.append(f"https://localhost:{port}{path}")
        p = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout + 10)
    statuses = [int(code) for _, code in _NGHTTP_STAT.findall(p.stdout)]
    return types.SimpleNamespace(rc=p.returncode, statuses=statuses, out=p.stdout + p.stderr)


def h2_request(port, context, method, path, headers=(), body=None, content_length=True,
               timeout=15.0) -> h2.Stream:
    """One request on a fresh h2 connection (raw client)."""
    with h2.connect(port, context, timeout=timeout) as c:
        sid = c.request(method, path, headers=headers, body=body, content_length=content_length)
        st = c.wait_response(sid, timeout=timeout)
        assert st.done, (st, c.goaways, c.close_reason)
        return st


def header_lines(headers) -> list[str]:
    return [f"{k}: {v}" for k, v in (headers.items() if isinstance(headers, dict) else headers)]


def lower_headers(headers) -> list[tuple[str, str]]:
    return [(k.lower(), v) for k, v in (headers.items() if isinstance(headers, dict) else headers)]


# --- admin --------------------------------------------------------------------------------------

def admin_call(port, method, path, body=None, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=body, headers=hdrs)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def disable(g, tenant, **fields):
    status, text = admin_call(g.admin_port, "POST", f"/api/v1/tenants/{tenant}/disable",
                              json.dumps(fields) if fields else None)
    assert status == 200, (status, text)


# --- gateways -----------------------------------------------------------------------------------

def start_h2(pool, upstreams, server=None, admin=False, routes=None, extra=None):
    """A gateway with server.http2 true (+ SERVER overrides), optionally an admin listener
    (g.admin_port) with a state file."""
    srv = {"http2": True}
    srv.update(server or {})
    for attempt in range(3):
        adm = None
        if admin:
            port = gw.free_port()
            state = tempfile.mkdtemp(prefix="h2st", dir=pool.base_dir)
            adm = {"listen": f"127.0.0.1:{port}", "state_file": os.path.join(state, "s.json")}
        try:
            g = pool.start(upstreams, routes=routes, server=srv, admin=adm, extra=extra)
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
            continue
        if admin:
            g.admin_port = int(adm["listen"].rsplit(":", 1)[1])
            gw.wait_until(lambda: admin_call(g.admin_port, "GET", "/-/ready")[0] == 200,
                          timeout=10, what="admin /-/ready")
        return g
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    """One h2 gateway (max_request_body_bytes 64 KiB, no rate limits) with cortex and loki
    recording backends and a dead upstream."""
    cortex = RecordingBackend().start()
    loki = RecordingBackend().start()
    dead = gw.ReservedPort()
    routes = gw.DEFAULT_ROUTES + [
        {"path_prefix": "/dead/", "kind": "passthrough", "upstream": "dead"}]
    limits = {"defaults": {"metrics": {"samples_per_second": 0, "burst_samples": 0},
                           "logs": {"bytes_per_second": 0, "burst_bytes": 0}}}
    g = start_h2(module_gateways, {"cortex": cortex.url, "loki": loki.url, "dead": dead.url},
                 server={"max_request_body_bytes": f"{BODY_LIMIT // 1024}KiB"}, routes=routes,
                 extra={"limits": limits})
    yield types.SimpleNamespace(gw=g, port=g.port, cortex=cortex, loki=loki, pki=test_pki,
                                ca=test_pki.ca.cert_file)
    cortex.stop()
    loki.stop()
    dead.close()


@pytest.fixture(autouse=True)
def _fresh(request):
    if "env" in request.fixturenames:
        e = request.getfixturevalue("env")
        e.cortex.reset()
        e.loki.reset()


# --- ALPN and SETTINGS --------------------------------------------------------------------------

def test_alpn_offers_h2_and_http11(env):
    """ALPN h2 is selected when offered; a client offering only http/1.1, or no ALPN at all, is
    served HTTP/1.1 on the same listener."""
    with h2.H2Connection(env.port, ctx(env.pki), alpn=("h2", "http/1.1")) as c:
        assert c.alpn_protocol == "h2"
    with h2.H2Connection(env.port, ctx(env.pki), alpn=("http/1.1",), require_h2=False) as c:
        assert c.alpn_protocol == "http/1.1"
    r = gw.https_request(env.port, ctx(env.pki), "POST", "/raw/h1", b"x")  # no ALPN
    assert r.status == 200, r.text
    c11 = ctx(env.pki)
    c11.set_alpn_protocols(["http/1.1"])
    r = gw.https_request(env.port, c11, "POST", "/raw/h1", b"x")
    assert r.status == 200, r.text
    assert len(env.cortex.wait_for_requests(2, 5)) == 2


def test_server_settings(env):
    """The server's SETTINGS: MAX_CONCURRENT_STREAMS 100 (the default of
    server.http2_max_concurrent_streams), MAX_HEADER_LIST_SIZE 65536, an initial stream window
    of at least 256 KiB and a connection window opened to about 16 MiB; a PING is answered."""
    with h2.connect(env.port, ctx(env.pki)) as c:
        s = c.server_settings
        assert s.get(h2.SETTINGS_MAX_CONCURRENT_STREAMS) == 100, s
        assert s.get(h2.SETTINGS_MAX_HEADER_LIST_SIZE) == 65536, s
        # Larger than the protocol default, so a big body is not a round trip per 64 KiB.
        assert s.get(h2.SETTINGS_INITIAL_WINDOW_SIZE, h2.DEFAULT_WINDOW) >= 256 * 1024, s
        c.pump(lambda: c.conn_send_window >= 15 * 1024 * 1024, timeout=5,
               what="connection window WINDOW_UPDATE")
        assert c.ping_roundtrip(), (c.goaways, c.close_reason)
        assert not c.goaways


def test_max_concurrent_streams_setting_follows_config(gateways, backend, test_pki):
    """server.http2_max_concurrent_streams: 7 is what SETTINGS announces."""
    g = start_h2(gateways, {"cortex": backend.url, "loki": backend.url},
                 server={"http2_max_concurrent_streams": 7})
    with h2.connect(g.port, ctx(test_pki)) as c:
        assert c.server_settings.get(h2.SETTINGS_MAX_CONCURRENT_STREAMS) == 7, c.server_settings


def test_http2_false_negotiates_http11(gateways, backend, test_pki):
    """With server.http2 false, a client offering h2 gets http/1.1: ALPN, curl --http2 (served
    as HTTP/1.1) and nghttp (which needs h2, so it fails)."""
    g = gateways.start({"cortex": backend.url, "loki": backend.url}, server={"http2": False})
    with h2.H2Connection(g.port, ctx(test_pki), alpn=("h2", "http/1.1"), require_h2=False) as c:
        assert c.alpn_protocol in ("http/1.1", None), c.alpn_protocol
    if CURL_HAS_HTTP2:
        r = curl(g.port, "/raw/x", test_pki.clients["tenant-a"], test_pki.ca.cert_file,
                 data=b"x")
        assert (r.rc, r.status, r.version) == (0, 200, "1.1"), r
    if NGHTTP:  # it offers only h2: the handshake fails (no_application_protocol) or no answer
        r = nghttp(g.port, "/raw/x", test_pki.clients["tenant-a"], data=b"x", timeout=10)
        assert r.statuses == [], r.out
    assert len(backend.requests) == (1 if CURL_HAS_HTTP2 else 0)


# --- forwarding ---------------------------------------------------------------------------------

RW_CLIENTS = ["raw", pytest.param("curl", marks=needs_curl_h2),
              pytest.param("nghttp", marks=needs_nghttp)]


def send_h2(env, client, leaf_name, path, body, headers):
    """POST BODY with HEADERS over HTTP/2 by CLIENT; (status, response body)."""
    leaf = env.pki.clients[leaf_name]
    if client == "raw":
        st = h2_request(env.port, ctx(env.pki, leaf_name), "POST", path,
                        lower_headers(headers), body)
        return st.status, st.body
    if client == "curl":
        r = curl(env.port, path, leaf, env.ca, data=body, headers=header_lines(headers))
        assert r.rc == 0 and r.version == "2", r  # --http2 really negotiated h2
        return r.status, r.body
    r = nghttp(env.port, path, leaf, data=body, headers=header_lines(lower_headers(headers)))
    assert r.rc == 0 and len(r.statuses) == 1, r.out
    return r.statuses[0], None


@pytest.mark.parametrize("client", RW_CLIENTS)
def test_remote_write_same_as_http11(env, client):
    """A snappy remote-write body pushed over HTTP/1.1 and over HTTP/2 (CLIENT): both 200 with the
    upstream's body; the upstream receives both byte for byte with the same Content-Type,
    Content-Encoding and remote-write version, and X-Scope-OrgID tenant-a although the client sent
    another (client-sent X-Scope-OrgID never reaches the upstream)."""
    body = rw.remote_write_body(metric="mla_h2_test", labels={"client": client}, samples=50)
    headers = dict(rw.REMOTE_WRITE_HEADERS, **{"X-Scope-OrgID": "spoofed"})
    r1 = gw.https_request(env.port, ctx(env.pki), "POST", RW, body, list(headers.items()))
    status, resp_body = send_h2(env, client, "tenant-a", RW, body, headers)
    assert (r1.status, status) == (200, 200), (r1.text, resp_body)
    if resp_body is not None:
        assert resp_body == r1.body == b"ok\n"
    h1, h2_req = env.cortex.wait_for_requests(2, 10)
    for req in (h1, h2_req):
        assert req.method == "POST" and req.path == RW, req
        assert req.body == body
        assert req.header_all("X-Scope-OrgID") == ["tenant-a"], req.headers
        assert req.header("Content-Length") == str(len(body)) or \
            req.header("Transfer-Encoding") is not None, req.headers
        for name in ("Content-Type", "Content-Encoding", "X-Prometheus-Remote-Write-Version"):
            assert req.header(name) == h1.header(name) == headers[name], (name, req.headers)
    assert rw.decode_write_request(rw.snappy_decompress(h2_req.body))[0][0]["client"] == client


LOKI_BODIES = {
    "protobuf": (lambda: lp.snappy_proto_body([lp.Stream('{job="h2"}', [
        lp.Entry(int(time.time()), i, b"line %d" % i) for i in range(20)])]),
        {"Content-Type": "application/x-protobuf"}),
    "json": (lambda: rw.loki_json_body({"job": "h2"}, [f"l{i}" for i in range(20)]),
             {"Content-Type": "application/json"}),
}


@pytest.mark.parametrize("client", RW_CLIENTS)
@pytest.mark.parametrize("shape", sorted(LOKI_BODIES))
def test_loki_push_same_as_http11(env, client, shape):
    """A Loki push (snappy protobuf or JSON) from the route's allowed client over HTTP/1.1 and over
    HTTP/2: both get the upstream's answer and reach it byte for byte with X-Scope-OrgID set to
    the client's tenant."""
    make, headers = LOKI_BODIES[shape]
    body = make()
    env.loki.set_reply(LOKI, Reply(status=204, body=b""))
    r1 = gw.https_request(env.port, ctx(env.pki, "logging-agent"), "POST", LOKI, body,
                          list(headers.items()))
    status, resp_body = send_h2(env, client, "logging-agent", LOKI, body, headers)
    assert (r1.status, status) == (204, 204), (r1.text, resp_body)
    h1, h2_req = env.loki.wait_for_requests(2, 10)
    for req in (h1, h2_req):
        assert req.body == body
        assert req.header_all("X-Scope-OrgID") == ["logging-agent"], req.headers
        assert req.header("Content-Type") == headers["Content-Type"]


def test_streamed_body_without_content_length_forwarded(env):
    """A body in many DATA frames without content-length reaches the upstream intact."""
    body = os.urandom(40_000)
    with h2.connect(env.port, ctx(env.pki)) as c:
        sid = c.new_stream_id()
        c.send_headers(sid, h2.request_headers("POST", "/raw/streamed"))
        for i in range(0, len(body), 1000):
            c.send_data(sid, body[i:i + 1000], end_stream=i + 1000 >= len(body))
        st = c.wait_response(sid)
    assert st.status == 200, st
    assert env.cortex.wait_for_requests(1, 10)[0].body == body


# --- rejections: same as HTTP/1.1 ---------------------------------------------------------------

GOOD_RW = rw.remote_write_body(metric="mla_h2_reject")
REJECTIONS = {
    # name: (client cert, method, path, headers, body, status)
    "403-no-tenant": ("bad-cn", "POST", RW, rw.REMOTE_WRITE_HEADERS, GOOD_RW, 403),
    "403-route-clients": ("tenant-a", "POST", LOKI, {"Content-Type": "application/json"},
                          rw.loki_json_body(), 403),
    "404": ("tenant-a", "POST", "/no/such/route", {}, b"x", 404),
    "405-get-on-push": ("tenant-a", "GET", RW, {}, None, 405),
    "413-content-length": ("tenant-a", "POST", "/raw/big", {}, b"\0" * (BODY_LIMIT + 1), 413),
    "400-bad-snappy": ("tenant-a", "POST", RW, rw.REMOTE_WRITE_HEADERS, b"\xff" * 11, 400),
    "415-content-type": ("tenant-a", "POST", RW, dict(rw.REMOTE_WRITE_HEADERS,
                                                       **{"Content-Type": "text/plain"}),
                         GOOD_RW, 415),
}


@pytest.mark.parametrize("name", list(REJECTIONS))
def test_rejection_matches_http11(env, name):
    """Each gateway rejection gets the same status and the same one-line body over HTTP/2 (raw
    client and curl --http2) as over HTTP/1.1, and none reaches an upstream."""
    client, method, path, headers, body, status = REJECTIONS[name]
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in headers.items())
    if body is not None:
        head += f"Content-Length: {len(body)}\r\n"
    r1, _ = gw.send_then_read(env.port, ctx(env.pki, client), (head + "\r\n").encode(),
                              body or b"")
    assert r1.status == status, (r1.status, r1.text)
    assert gw.one_line_reason(r1.body), r1.body
    st = h2_request(env.port, ctx(env.pki, client), method, path, lower_headers(headers), body)
    assert st.status == status, st
    assert st.body == r1.body, (st.body, r1.body)
    if CURL_HAS_HTTP2 and name != "413-content-length":  # see test_curl_early_413_upload
        r = curl(env.port, path, env.pki.clients[client], env.ca, data=body,
                 headers=header_lines(headers), method=method if body is None else None)
        assert (r.rc, r.version, r.status) == (0, "2", status), r
        assert r.body == r1.body
    time.sleep(0.2)  # let a wrongly forwarded request arrive before looking
    assert env.cortex.requests == [] and env.loki.requests == [], "a rejected request was forwarded"


@needs_curl_h2
def test_curl_early_413_upload(env):
    """curl --http2 uploading a body over the limit (by content-length) sees the 413, as it does
    over HTTP/1.1 (test_errors.py). The gateway answers from the HEADERS alone, before the body
    has been sent; 5 tries, every one must show the 413."""
    body = b"\0" * (BODY_LIMIT + 1)
    outcomes = []
    for _ in range(5):
        r = curl(env.port, "/raw/big", env.pki.clients["tenant-a"], env.ca, data=body)
        outcomes.append((r.rc, r.version, r.status, r.stderr.strip()[-120:]))
    assert all(o[:3] == (0, "2", 413) for o in outcomes), outcomes
    assert env.cortex.requests == []


def test_413_streamed_without_content_length(env):
    """DATA frames without content-length beyond max_request_body_bytes: 413 (same body as
    HTTP/1.1 chunked), nothing forwarded; the connection stays usable for the next stream."""
    with gw.RawTls(env.port, ctx(env.pki)) as raw:
        raw.send(b"POST /raw/big HTTP/1.1\r\nHost: localhost\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(BODY_LIMIT // 16384 + 2):
                raw.send(b"%x\r\n%s\r\n" % (16384, b"\0" * 16384))
            raw.send(b"0\r\n\r\n")
        except OSError:
            pass  # the gateway may stop reading once it has answered
        r1 = raw.read_response(timeout=10)
    assert r1.status == 413, r1.text
    with h2.connect(env.port, ctx(env.pki)) as c:
        sid = c.new_stream_id()
        c.send_headers(sid, h2.request_headers("POST", "/raw/big"))
        c.send_data(sid, b"\0" * (BODY_LIMIT * 3), end_stream=True)
        st = c.wait_response(sid)
        assert st.status == 413, st
        assert st.body == r1.body
        sid2 = c.request("POST", "/raw/after", body=b"next")
        st2 = c.wait_response(sid2)
        assert st2.status == 200, (st2, c.goaways)
    reqs = env.cortex.wait_for_requests(1, 5)
    assert [r.path for r in reqs] == ["/raw/after"]


def test_rate_limited_429_with_retry_after(gateways, backend, test_pki):
    """Over the tenant's sample bucket: 429 with Retry-After over HTTP/2 too, not forwarded."""
    limits = {"limited_status": 429, "defaults": {
        "metrics": {"samples_per_second": 1, "burst_samples": 10}}}
    g = start_h2(gateways, {"cortex": backend.url, "loki": backend.url},
                 extra={"limits": limits})
    body = ingest.samples_body(20)
    with h2.connect(g.port, ctx(test_pki)) as c:
        hdrs = lower_headers(rw.REMOTE_WRITE_HEADERS)
        first = c.wait_response(c.request("POST", RW, hdrs, body))
        assert first.status == 200, first  # admitted into debt (bucket was full)
        second = c.wait_response(c.request("POST", RW, hdrs, body))
        assert second.status == 429, second
        assert second.header("retry-after") is not None and \
            int(second.header("retry-after")) >= 1, second.headers
    time.sleep(0.2)
    assert len(backend.requests) == 1


# --- relaying the upstream's answer -------------------------------------------------------------

@pytest.mark.parametrize("reply", [
    Reply(status=204, body=b"", headers=[("X-Prometheus-Remote-Write-Samples-Written", "3"),
                                         ("X-Prometheus-Remote-Write-Exemplars-Written", "0")]),
    Reply(status=429, headers=[("Retry-After", "7")], body=b"ingestion rate limit exceeded\n"),
    Reply(status=500, body=b"internal error\n"),
    Reply(status=200, chunked=True, body=os.urandom(100_000),
          headers=[("Connection", "X-Hop"), ("X-Hop", "1"), ("Keep-Alive", "timeout=5"),
                   ("X-Kept", "yes")]),
], ids=["204-rw2-headers", "429", "500", "chunked-hop-by-hop"])
def test_upstream_answer_relayed(env, reply):
    """The upstream's status, end-to-end headers and body reach the h2 client unchanged; no
    connection-specific header (illegal in HTTP/2) is relayed."""
    env.cortex.set_reply(RW, reply)
    st = h2_request(env.port, ctx(env.pki), "POST", RW, lower_headers(rw.REMOTE_WRITE_HEADERS),
                    GOOD_RW)
    assert st.status == reply.status and st.ended, st
    assert st.body == reply.body
    names = [k for k, _ in st.headers]
    for k, v in reply.headers:
        if k.lower() not in ("connection", "keep-alive", "x-hop"):
            assert st.header(k) == v, (k, st.headers)
    for bad in ("connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection",
                "x-hop"):
        assert bad not in names, (bad, st.headers)
    assert all(k == k.lower() for k in names), st.headers


def test_upstream_refused_is_502(env):
    """An unreachable upstream gives 502 on the stream; the connection goes on."""
    with h2.connect(env.port, ctx(env.pki)) as c:
        st = c.wait_response(c.request("POST", "/dead/x", body=b"x"))
        assert st.status == 502, st
        st = c.wait_response(c.request("POST", "/raw/ok", body=b"x"))
        assert st.status == 200, st


# --- many streams -------------------------------------------------------------------------------

def test_100_concurrent_streams_on_one_connection(env):
    """100 remote-write requests sent at once on one connection (each a distinct body, while the
    upstream takes 0.3 s per answer): all answered 200 and all 100 bodies recorded once each with
    X-Scope-OrgID tenant-a."""
    env.cortex.set_reply(RW, Reply(delay=0.3))
    bodies = [rw.remote_write_body(metric="mla_h2_many", labels={"i": str(i)})
              for i in range(100)]
    hdrs = lower_headers(rw.REMOTE_WRITE_HEADERS)
    with h2.connect(env.port, ctx(env.pki), timeout=30) as c:
        ids = [c.request("POST", RW, hdrs, b) for b in bodies]
        sts = c.wait_all(ids, timeout=60)
        assert [s.status for s in sts] == [200] * 100, [s for s in sts if s.status != 200][:5]
        assert not c.goaways, c.goaways
    reqs = env.cortex.wait_for_requests(100, 10)
    assert sorted(r.body for r in reqs) == sorted(bodies)
    assert {r.header("X-Scope-OrgID") for r in reqs} == {"tenant-a"}


@needs_nghttp
def test_nghttp_200_requests_on_one_connection(env):
    """`nghttp -m 200` (200 pushes of the same body on one connection, nghttp keeping within
    MAX_CONCURRENT_STREAMS): 200 answers 200; the upstream records all 200, byte for byte."""
    body = rw.remote_write_body(metric="mla_h2_nghttp", samples=5)
    r = nghttp(env.port, RW, env.pki.clients["tenant-a"], data=body,
               headers=header_lines(lower_headers(rw.REMOTE_WRITE_HEADERS)), repeat=200,
               timeout=90)
    assert r.rc == 0, r.out[-3000:]
    assert r.statuses == [200] * 200, r.out[-3000:]
    reqs = env.cortex.wait_for_requests(200, 20)
    assert len(reqs) == 200 and all(q.body == body for q in reqs)
    assert {q.header("X-Scope-OrgID") for q in reqs} == {"tenant-a"}


@pytest.fixture
def limited(gateways, backend, test_pki):
    """A gateway with http2_max_concurrent_streams 10; the upstream takes 2 s to answer."""
    backend.set_default(Reply(delay=2.0))
    g = start_h2(gateways, {"cortex": backend.url, "loki": backend.url},
                 server={"http2_max_concurrent_streams": 10})
    return types.SimpleNamespace(gw=g, backend=backend, pki=test_pki)


def test_streams_beyond_limit_refused_none_lost(limited):
    """30 requests sent right behind the preface (before the client has even read the server's
    SETTINGS) against a limit of 10 while the upstream is slow: the streams beyond the limit get
    RST_STREAM REFUSED_STREAM (safe to retry), the others their 200, no stream is left without
    an outcome, and exactly the answered ones reached the upstream."""
    c = h2.H2Connection(limited.gw.port, ctx(limited.pki), timeout=30)
    with c:
        ids = [c.request("POST", f"/raw/s{i}", body=b"%d" % i) for i in range(30)]
        sts = c.wait_all(ids, timeout=60)
        assert c.server_settings.get(h2.SETTINGS_MAX_CONCURRENT_STREAMS) == 10
        answered = [s for s in sts if s.status is not None and s.ended]
        refused = [s for s in sts if s.reset == h2.REFUSED_STREAM and s.status is None]
        others = [s for s in sts if s not in answered and s not in refused]
        assert others == [], (others, c.goaways, c.close_reason)
        assert refused, "no stream refused although 30 were opened against a limit of 10"
        assert len(answered) >= 10, answered
        assert {s.status for s in answered} == {200}, answered
    time.sleep(0.5)
    got = sorted(r.path for r in limited.backend.requests)
    assert got == sorted(f"/raw/s{(s.id - 1) // 2}" for s in answered)


def test_client_ignoring_acknowledged_limit_never_exceeds_it(limited):
    """A client that acknowledged MAX_CONCURRENT_STREAMS 10 and still opens 30 streams at once
    (a protocol violation: RFC 9113 §5.1.2 allows REFUSED_STREAM/PROTOCOL_ERROR stream errors or a
    connection error): no more than 10 of them reach the upstream, and every stream the gateway
    did answer got the upstream's 200."""
    with h2.connect(limited.gw.port, ctx(limited.pki), timeout=30) as c:
        ids = [c.request("POST", f"/raw/v{i}", body=b"%d" % i) for i in range(30)]
        try:
            c.wait_all(ids, timeout=60)
        except TimeoutError:
            pass
        sts = [c.streams[i] for i in ids]
        answered = [s for s in sts if s.status is not None]
        assert {s.status for s in answered} <= {200}, answered
        assert c.goaways or any(s.reset is not None for s in sts), \
            "30 streams against a limit of 10: none refused and no GOAWAY"
    time.sleep(2.5)
    assert len(limited.backend.requests) <= 10, len(limited.backend.requests)


# --- kill switch --------------------------------------------------------------------------------

@pytest.fixture
def ks(gateways, backend, test_pki):
    g = start_h2(gateways, {"cortex": backend.url, "loki": backend.url}, admin=True)
    return types.SimpleNamespace(gw=g, backend=backend, pki=test_pki)


def test_disabled_tenant_stream_refused_and_connection_goaway(ks):
    """After disabling tenant-a, its h2 request gets 503 + Retry-After + a one-line reason, the
    connection gets GOAWAY(NO_ERROR) and is closed; nothing reaches the upstream; tenant-b's h2
    requests still pass."""
    disable(ks.gw, "tenant-a", reason="h2-test")
    with h2.connect(ks.gw.port, ctx(ks.pki)) as c:
        st = c.wait_response(c.request("POST", RW, lower_headers(rw.REMOTE_WRITE_HEADERS),
                                       GOOD_RW))
        assert_disabled_answer(st)
        ga = c.wait_goaway(timeout=10)
        assert ga is not None, f"no GOAWAY; connection ended: {c.close_reason}"
        assert ga.error_code == h2.NO_ERROR, ga
        assert c.wait_closed(10), "connection of a disabled tenant left open after GOAWAY"
    st = h2_request(ks.gw.port, ctx(ks.pki, "tenant-b"), "POST", "/raw/b", body=b"b")
    assert st.status == 200, st
    ks.backend.wait_for_requests(1, 5)
    time.sleep(0.2)
    assert [r.header("X-Scope-OrgID") for r in ks.backend.requests] == ["tenant-b"]


def assert_disabled_answer(st: h2.Stream, tenant="tenant-a"):
    assert st.status == 503, st
    assert st.header("retry-after") is not None and int(st.header("retry-after")) >= 1, \
        st.headers
    assert gw.one_line_reason(st.body) and tenant.encode() in st.body, st.body


def test_disabled_tenant_refused_from_headers_alone(ks):
    """A disabled tenant's stream that announced a 1000-byte body and sent none of it is answered
    503 + Retry-After from its HEADERS alone, then GOAWAY(NO_ERROR) and close."""
    disable(ks.gw, "tenant-a")
    with h2.connect(ks.gw.port, ctx(ks.pki)) as c:
        sid = c.new_stream_id()
        c.send_headers(sid, h2.request_headers("POST", RW, lower_headers(
            rw.REMOTE_WRITE_HEADERS)) + [("content-length", "1000")])
        st = c.wait_response(sid, timeout=10)
        assert_disabled_answer(st)
        ga = c.wait_goaway(timeout=10)
        assert ga is not None and ga.error_code == h2.NO_ERROR, (ga, c.close_reason)
        assert c.wait_closed(10)
    time.sleep(0.2)
    assert ks.backend.requests == []


def test_stream_waiting_for_body_refused_on_disable(ks):
    """A tenant-a stream that sent 300 of its 1000 announced body bytes and stalls is answered
    503 + Retry-After when tenant-a is disabled (request_timeout is 60 s, so nothing else would
    answer it), then the connection gets GOAWAY(NO_ERROR) and closes; the upstream sees nothing."""
    with h2.connect(ks.gw.port, ctx(ks.pki), timeout=20) as c:
        sid = c.new_stream_id()
        c.send_headers(sid, h2.request_headers("POST", RW, lower_headers(
            rw.REMOTE_WRITE_HEADERS)) + [("content-length", "1000")])
        c.send_data(sid, b"\0" * 300, end_stream=False)
        assert c.ping_roundtrip(timeout=5)  # the gateway has read what we sent
        assert not c.streams[sid].done, c.streams[sid]
        disable(ks.gw, "tenant-a")
        st = c.wait_response(sid, timeout=10)
        assert_disabled_answer(st)
        ga = c.wait_goaway(timeout=10)
        assert ga is not None and ga.error_code == h2.NO_ERROR, (ga, c.close_reason)
        assert c.wait_closed(10)
    time.sleep(0.2)
    assert ks.backend.requests == []


def test_disable_sends_goaway_to_open_connections(ks):
    """Open h2 connections of tenant-a (one idle, one with a stream waiting on a slow upstream)
    get GOAWAY(NO_ERROR) when tenant-a is disabled; the in-flight stream still gets the upstream's
    real answer, then the connections close. A tenant-b connection gets no GOAWAY and keeps
    working."""
    ks.backend.set_reply("/raw/slow", Reply(delay=2.0, body=b"slow but complete\n"))
    idle = h2.connect(ks.gw.port, ctx(ks.pki))
    busy = h2.connect(ks.gw.port, ctx(ks.pki))
    other = h2.connect(ks.gw.port, ctx(ks.pki, "tenant-b"))
    try:
        assert idle.wait_response(idle.request("POST", "/raw/a", body=b"a")).status == 200
        assert other.wait_response(other.request("POST", "/raw/b", body=b"b")).status == 200
        sid = busy.request("POST", "/raw/slow", body=b"in flight")
        ks.backend.wait_for_requests(3, 5)
        disable(ks.gw, "tenant-a")
        for name, c in (("idle", idle), ("busy", busy)):
            ga = c.wait_goaway(timeout=10)
            assert ga is not None, f"{name}: connection ended without GOAWAY ({c.close_reason})"
            assert ga.error_code == h2.NO_ERROR, (name, ga)
        st = busy.wait_response(sid, timeout=15)
        assert (st.status, st.body) == (200, b"slow but complete\n"), st
        assert all(g.last_stream_id >= sid for g in busy.goaways[-1:]), busy.goaways
        assert idle.wait_closed(10) and busy.wait_closed(10)
        assert other.ping_roundtrip(timeout=5) and not other.goaways, other.goaways
        st = other.wait_response(other.request("POST", "/raw/b2", body=b"b2"))
        assert st.status == 200, st
    finally:
        for c in (idle, busy, other):
            c.close()


# --- drain --------------------------------------------------------------------------------------

def test_sigterm_goaway_in_flight_stream_finishes(gateways, backend, test_pki):
    """SIGTERM with an h2 stream waiting on a slow upstream: the connection gets GOAWAY
    (NO_ERROR), the stream finishes with the upstream's real answer, the connection is closed and
    the process exits 0; an idle h2 connection is closed too."""
    backend.set_reply("/raw/slow", Reply(delay=2.0, body=b"slow but complete\n"))
    g = start_h2(gateways, {"cortex": backend.url, "loki": backend.url})
    idle = h2.connect(g.port, ctx(test_pki))
    busy = h2.connect(g.port, ctx(test_pki), timeout=20)
    try:
        sid = busy.request("POST", "/raw/slow", body=b"in flight")
        backend.wait_for_requests(1, 5)
        g.send_signal(signal.SIGTERM)
        ga = busy.wait_goaway(timeout=10)
        assert ga is not None, f"no GOAWAY before the connection ended ({busy.close_reason})"
        assert all(x.error_code == h2.NO_ERROR for x in busy.goaways), busy.goaways
        st = busy.wait_response(sid, timeout=15)
        assert (st.status, st.body) == (200, b"slow but complete\n"), (st, busy.goaways)
        assert busy.wait_closed(10), "connection still open after its last stream finished"
        assert idle.wait_closed(10), "idle h2 connection held open during the drain"
        assert all(x.error_code == h2.NO_ERROR for x in idle.goaways), idle.goaways
    finally:
        idle.close()
        busy.close()
    assert g.wait_exit(10) == 0, g.log_text()[-2000:]
