"""HTTP/2 abuse on the write listener (DESIGN.md §4 "HTTP/2: ... rapid stream resets bounded";
GitHub issue 7), with the raw-frame client tests/support/h2_raw.py against the real binary:

- rapid reset (CVE-2023-44487): more than a burst of 100 RST_STREAMs on unanswered streams;
- CONTINUATION flood (CVE-2024-27316 and kin): more than 8 CONTINUATION frames in one header
  block (a block beyond the advertised 64 KiB header list within 8 frames is not a flood: 431 on
  its stream, the connection goes on);
- PING / SETTINGS flood: more than a burst of 100 PING+SETTINGS frames;
each gets GOAWAY with ENHANCE_YOUR_CALM and the connection is closed, while the same frames in
amounts below the limits are served normally (the controls). After every flood the gateway is
healthy (/-/healthy 200, a normal h2 request 200); over hundreds of flood connections its RSS
grows by a bounded amount (a memory bound, read from /proc) and no connection is left open.
- Slow readers: a client whose stream window stays 0, or that never reads at all, has its
  stalled stream reset and its connection closed after server.request_timeout (2 s here).

Floods are bounded in count (a few hundred frames per connection, a few hundred connections) and
every wait has a deadline; nothing asserts on timing.
"""

from __future__ import annotations

import http.client
import os
import re
import tempfile
import time
import types
from pathlib import Path

import pytest

from support import gateway as gw
from support import h2_raw as h2
from support.recording_backend import RecordingBackend, Reply

FLOOD = 300  # frames per flood connection: 3x the burst of 100 (refill 20/s or 10/s)
BELOW = 50  # frames in a control connection: half the burst
CONTINUATION_LIMIT = 8
HEADER_BLOCK_LIMIT = 64 * 1024
RSS_BOUND = 16 * 1024 * 1024  # growth allowed over the 200 measured flood connections (~3 MiB seen)
HUGE = 32 * 1024 * 1024  # answer a never-reading client asks for (> loopback socket buffers)
MEMORY_ROUNDS = 50  # flood connections of each of 4 kinds in the measured phase


# --- helpers ------------------------------------------------------------------------------------

def ctx(pki, client="tenant-a"):
    return gw.client_context(pki, client)


def admin_get(port, path, timeout=10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read().decode()
    finally:
        conn.close()


def open_connections(g) -> float | None:
    status, text = admin_get(g.admin_port, "/metrics")
    assert status == 200, text
    m = re.search(r"^mla_gateway_open_connections(?:\{[^}]*\})? (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def start_h2(pool, backend, server=None):
    """An h2 gateway with an admin listener (g.admin_port)."""
    srv = {"http2": True}
    srv.update(server or {})
    for attempt in range(3):
        port = gw.free_port()
        state = tempfile.mkdtemp(prefix="h2fl", dir=pool.base_dir)
        admin = {"listen": f"127.0.0.1:{port}", "state_file": os.path.join(state, "s.json")}
        try:
            g = pool.start({"cortex": backend.url, "loki": backend.url}, server=srv,
                           admin=admin)
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
            continue
        g.admin_port = port
        gw.wait_until(lambda: admin_get(port, "/-/ready")[0] == 200, timeout=10,
                      what="admin /-/ready")
        return g
    raise AssertionError("unreachable")


def assert_healthy(g, pki):
    """/-/healthy 200 and a normal h2 request answered 200 on a new connection."""
    status, text = admin_get(g.admin_port, "/-/healthy")
    assert status == 200, (status, text)
    assert g.running(), g.log_text()[-3000:]
    with h2.connect(g.port, ctx(pki)) as c:
        st = c.wait_response(c.request("POST", "/raw/healthy", body=b"ping"))
        assert st.status == 200, (st, c.goaways, c.close_reason)


def send_flood(c: h2.H2Connection, data: bytes) -> str | None:
    """Send DATA in one go; the gateway may close while we send (returns the error then)."""
    try:
        c.send(data)
        return None
    except OSError as e:
        return f"{type(e).__name__}: {e}"


def assert_calm(c: h2.H2Connection, what: str, send_error: str | None = None) -> h2.GoAway:
    """The connection got GOAWAY(ENHANCE_YOUR_CALM) and was then closed."""
    try:
        ga = c.wait_goaway(timeout=15)
    except TimeoutError:
        answered = [st for st in c.streams.values() if st.status is not None]
        raise AssertionError(f"{what}: neither GOAWAY nor close within 15 s; streams answered "
                             f"instead: {answered}; last frames {c.frames[-6:]}") from None
    assert ga is not None, (f"{what}: connection ended without GOAWAY ({c.close_reason}; send "
                            f"error {send_error}); last frames {c.frames[-6:]}")
    assert ga.error_code == h2.ENHANCE_YOUR_CALM, \
        f"{what}: GOAWAY {h2.error_name(ga.error_code)} instead of ENHANCE_YOUR_CALM: {ga}"
    assert c.wait_closed(15), f"{what}: connection still open 15 s after GOAWAY {ga}"
    return ga


# --- the floods (each returns the open connection after sending) --------------------------------

def block_for(path: str, extra=(), content_length: int | None = None) -> bytes:
    hdrs = h2.request_headers("POST", path, extra)
    if content_length is not None:
        hdrs.append(("content-length", str(content_length)))
    return h2.encode_headers(hdrs)


def rapid_reset_bytes(c: h2.H2Connection, n: int, complete: bool) -> bytes:
    """N streams, each opened and at once reset (CANCEL) before any answer. COMPLETE: the request
    is whole (HEADERS with END_STREAM, sent on to the slow upstream); else the gateway still
    waits for the announced body."""
    out = []
    for _ in range(n):
        sid = c.new_stream_id()
        if complete:
            out.append(h2.frame(h2.HEADERS, h2.FLAG_END_HEADERS | h2.FLAG_END_STREAM, sid,
                                block_for("/raw/slow")))
        else:
            out.append(h2.frame(h2.HEADERS, h2.FLAG_END_HEADERS, sid,
                                block_for("/raw/slow", content_length=100)))
        out.append(h2.rst_stream_frame(sid, h2.CANCEL))
    return b"".join(out)


def continuation_bytes(c: h2.H2Connection, kind: str) -> tuple[int, bytes]:
    """(stream id, one header block split over HEADERS + CONTINUATION frames).
    many: 50 CONTINUATIONs, each one small header field (END_HEADERS on the last).
    empty: HEADERS + 1000 empty CONTINUATIONs, END_HEADERS never comes.
    big: ~80 KiB of small header fields in HEADERS + 4 CONTINUATIONs (<= 8 frames, > 64 KiB)."""
    sid = c.new_stream_id()
    first = block_for("/raw/cont")
    if kind == "many":
        parts = [first] + [h2.encode_header(f"x-c-{i}", "v") for i in range(50)]
    elif kind == "empty":
        return sid, (h2.frame(h2.HEADERS, h2.FLAG_END_STREAM, sid, first)
                     + h2.frame(h2.CONTINUATION, 0, sid, b"") * 1000)
    else:
        fields = b"".join(h2.encode_header(f"x-big-{i}", "v" * 100) for i in range(760))
        assert len(first + fields) > HEADER_BLOCK_LIMIT + 10_000
        data = first + fields
        size = 16384  # the default SETTINGS_MAX_FRAME_SIZE
        parts = [data[i:i + size] for i in range(0, len(data), size)]
        assert len(parts) - 1 <= CONTINUATION_LIMIT
    out = []
    for i, p in enumerate(parts):
        flags = h2.FLAG_END_HEADERS if i == len(parts) - 1 else 0
        if i == 0:
            out.append(h2.frame(h2.HEADERS, flags | h2.FLAG_END_STREAM, sid, p))
        else:
            out.append(h2.frame(h2.CONTINUATION, flags, sid, p))
    return sid, b"".join(out)


def ping_bytes(n: int) -> bytes:
    return b"".join(h2.ping_frame(i.to_bytes(8, "big")) for i in range(n))


def settings_bytes(n: int) -> bytes:
    return h2.frame(h2.SETTINGS, 0, 0) * n


def mixed_bytes(n: int) -> bytes:
    """N PINGs and N SETTINGS interleaved."""
    return b"".join(h2.ping_frame(i.to_bytes(8, "big")) + h2.frame(h2.SETTINGS, 0, 0)
                    for i in range(n))


FLOODS = {
    "rapid-reset-headers-only": lambda c: rapid_reset_bytes(c, FLOOD, complete=False),
    "rapid-reset-complete-requests": lambda c: rapid_reset_bytes(c, FLOOD, complete=True),
    "continuation-many-frames": lambda c: continuation_bytes(c, "many")[1],
    "continuation-never-ending": lambda c: continuation_bytes(c, "empty")[1],
    "ping": lambda c: ping_bytes(FLOOD),
    "settings": lambda c: settings_bytes(FLOOD),
    "ping-and-settings": lambda c: mixed_bytes(FLOOD // 4),  # 75 + 75 > 100
}


def flood_once(g, pki, kind: str) -> h2.GoAway:
    with h2.connect(g.port, ctx(pki)) as c:
        err = send_flood(c, FLOODS[kind](c))
        return assert_calm(c, kind, err)


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fenv(module_gateways, test_pki):
    backend = RecordingBackend().start()
    backend.set_reply("/raw/slow", Reply(delay=1.0))
    g = start_h2(module_gateways, backend)
    yield types.SimpleNamespace(gw=g, backend=backend, pki=test_pki)
    backend.stop()


# --- floods -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", list(FLOODS))
def test_flood_gets_enhance_your_calm(fenv, kind):
    """Each flood: GOAWAY with ENHANCE_YOUR_CALM, the connection closed, the gateway healthy."""
    flood_once(fenv.gw, fenv.pki, kind)
    assert_healthy(fenv.gw, fenv.pki)


@pytest.mark.parametrize("complete", [False, True], ids=["headers-only", "complete-requests"])
def test_resets_below_burst_are_tolerated(fenv, complete):
    """50 opened-and-reset streams (half the burst) do not end the connection: no GOAWAY, and a
    normal request on the same connection is answered 200."""
    with h2.connect(fenv.gw.port, ctx(fenv.pki)) as c:
        c.send(rapid_reset_bytes(c, BELOW, complete))
        st = c.wait_response(c.request("POST", "/raw/after-resets", body=b"x"), timeout=15)
        assert st.status == 200, (st, c.goaways, c.close_reason)
        assert not c.goaways, c.goaways


def test_eight_continuations_are_tolerated(fenv):
    """A header block in HEADERS + exactly 8 CONTINUATION frames is a normal request (200)."""
    with h2.connect(fenv.gw.port, ctx(fenv.pki)) as c:
        sid = c.new_stream_id()
        parts = [block_for("/raw/eight")] + [h2.encode_header(f"x-c-{i}", "v")
                                              for i in range(CONTINUATION_LIMIT)]
        data = h2.frame(h2.HEADERS, h2.FLAG_END_STREAM, sid, parts[0])
        for i, p in enumerate(parts[1:]):
            last = i == CONTINUATION_LIMIT - 1
            data += h2.frame(h2.CONTINUATION, h2.FLAG_END_HEADERS if last else 0, sid, p)
        c.send(data)
        st = c.wait_response(sid)
        assert st.status == 200, (st, c.goaways)
        assert not c.goaways, c.goaways
    req = gw.wait_until(lambda: [r for r in fenv.backend.requests if r.path == "/raw/eight"],
                        timeout=5, what="/raw/eight at the upstream")[0]
    assert req.header("x-c-0") == "v" and req.header("x-c-7") == "v", req.headers


def test_header_block_over_64kib_gets_431(fenv):
    """~80 KiB of header fields in HEADERS + 4 CONTINUATIONs (within the frame limit, beyond the
    advertised SETTINGS_MAX_HEADER_LIST_SIZE): 431 on that stream with a one-line reason, nothing
    forwarded, no GOAWAY, and the next request on the connection is served."""
    with h2.connect(fenv.gw.port, ctx(fenv.pki)) as c:
        sid, data = continuation_bytes(c, "big")
        c.send(data)
        st = c.wait_response(sid, timeout=15)
        assert st.status == 431, (st, c.goaways)
        assert b"header list exceeds 65536 bytes" in st.data, st
        assert not c.goaways, c.goaways
        after = c.wait_response(c.request("POST", "/raw/after-431", body=b"x"), timeout=15)
        assert after.status == 200, after
    assert not [r for r in fenv.backend.requests if r.path == "/raw/cont"]


@pytest.mark.parametrize("frame_kind", ["ping", "settings"])
def test_pings_and_settings_below_burst_are_answered(fenv, frame_kind):
    """50 PINGs (or 50 empty SETTINGS) are each acknowledged; no GOAWAY; requests still work."""
    with h2.connect(fenv.gw.port, ctx(fenv.pki)) as c:
        acks_before = c.settings_acks
        c.send(ping_bytes(BELOW) if frame_kind == "ping" else settings_bytes(BELOW))
        if frame_kind == "ping":
            c.pump(lambda: len(c.ping_acks) >= BELOW, timeout=15, what="50 PING ACKs")
            assert sorted(c.ping_acks) == [i.to_bytes(8, "big") for i in range(BELOW)]
        else:
            c.pump(lambda: c.settings_acks - acks_before >= BELOW, timeout=15,
                   what="50 SETTINGS ACKs")
        assert not c.goaways and not c.closed, (c.goaways, c.close_reason)
        st = c.wait_response(c.request("POST", "/raw/after-pings", body=b"x"))
        assert st.status == 200, st


def test_flood_does_not_affect_other_connections(fenv):
    """A connection busy with a slow request on another tenant is untouched by a flood next to
    it: its stream completes and it gets no GOAWAY."""
    with h2.connect(fenv.gw.port, ctx(fenv.pki, "tenant-b"), timeout=20) as other:
        sid = other.request("POST", "/raw/slow", body=b"busy")
        flood_once(fenv.gw, fenv.pki, "rapid-reset-complete-requests")
        flood_once(fenv.gw, fenv.pki, "ping")
        st = other.wait_response(sid, timeout=15)
        assert st.status == 200, (st, other.goaways)
        assert not other.goaways, other.goaways


# --- memory -------------------------------------------------------------------------------------

@pytest.fixture
def memory_gateway(gateways, backend, test_pki, monkeypatch):
    """An h2 gateway for the RSS test. Under ASan, freed memory sits in a quarantine of up to
    256 MB before reuse, so RSS would measure churn, not retention: keep it small (a no-op for
    builds without ASan)."""
    opts = os.environ.get("ASAN_OPTIONS", "")
    monkeypatch.setenv("ASAN_OPTIONS", ":".join(
        x for x in (opts, "quarantine_size_mb=8", "thread_local_quarantine_size_kb=256") if x))
    backend.set_reply("/raw/slow", Reply(delay=0.2))
    g = start_h2(gateways, backend)
    return types.SimpleNamespace(gw=g, backend=backend, pki=test_pki)


MEMORY_KINDS = ["rapid-reset-complete-requests", "continuation-never-ending",
                "continuation-many-frames", "ping-and-settings"]


def test_rss_bounded_over_many_flood_connections(memory_gateway):
    """After a warm-up (5 flood connections of each kind), 50 more of each kind (200 flood
    connections, each ending in GOAWAY ENHANCE_YOUR_CALM) grow the gateway's RSS by less than
    RSS_BOUND, the gateway stays healthy, and no connection stays open."""
    g, pki = memory_gateway.gw, memory_gateway.pki
    for _ in range(5):
        for kind in MEMORY_KINDS:
            flood_once(g, pki, kind)
    assert_healthy(g, pki)
    gw.wait_until(lambda: open_connections(g) == 0, timeout=20,
                  what="open_connections back to 0 after the warm-up")
    baseline = rss_bytes(g.pid)
    peak = baseline
    deadline = time.monotonic() + 300  # a bound on the loop, not a check: stop early if slow
    rounds = 0
    while rounds < MEMORY_ROUNDS and time.monotonic() < deadline:
        for kind in MEMORY_KINDS:
            flood_once(g, pki, kind)
        rounds += 1
        peak = max(peak, rss_bytes(g.pid))
    gw.wait_until(lambda: open_connections(g) == 0, timeout=30,
                  what="open_connections back to 0 after the floods")
    final = rss_bytes(g.pid)
    assert_healthy(g, pki)
    growth = max(peak, final) - baseline
    print(f"{rounds} rounds: RSS baseline {baseline / 2**20:.1f} MiB, peak "
          f"{peak / 2**20:.1f} MiB, final {final / 2**20:.1f} MiB")
    assert growth < RSS_BOUND, \
        f"RSS grew by {growth / 2**20:.1f} MiB over {4 * rounds} flood connections"


# --- slow readers -------------------------------------------------------------------------------

@pytest.fixture
def slow_env(gateways, backend, test_pki):
    """request_timeout 2s; /raw/big answers 64 KiB, /raw/huge HUGE bytes."""
    backend.set_reply("/raw/big", Reply(body=os.urandom(64 * 1024)))
    backend.set_reply("/raw/huge", Reply(body=b"\x5a" * HUGE))
    g = start_h2(gateways, backend, server={"request_timeout": "2s"})
    return types.SimpleNamespace(gw=g, backend=backend, pki=test_pki)


def test_zero_window_reader_is_cut_off(slow_env):
    """A client announcing a stream window of 0 (and never opening it) gets the response HEADERS
    of its request but no body; the connection is alive meanwhile (PING answered), then the
    stalled stream is reset and the connection closed after request_timeout."""
    g, pki = slow_env.gw, slow_env.pki
    with h2.connect(g.port, ctx(pki), settings={h2.SETTINGS_INITIAL_WINDOW_SIZE: 0},
                    auto_window=False, timeout=30) as c:
        sid = c.request("POST", "/raw/big", body=b"x")
        st = c.streams[sid]
        c.pump(lambda: st.status is not None or st.done, timeout=15,
               what="response HEADERS")
        assert st.status == 200 and not st.ended, st
        assert c.ping_roundtrip(timeout=5), f"connection closed at once ({c.close_reason})"
        assert c.wait_closed(30), "stalled zero-window connection still open after 30 s"
        assert not st.ended and len(st.data) == 0, st
        assert st.reset is not None or c.goaways, \
            f"connection closed without RST_STREAM or GOAWAY ({c.close_reason})"
    assert_healthy(g, pki)


def test_never_reading_client_is_cut_off(slow_env):
    """A client that sends a request for a 32 MiB answer (windows wide open) and then never reads
    a byte: the gateway gives up after request_timeout and closes the connection (seen on its
    open_connections gauge while the client still reads nothing), and stays healthy."""
    g, pki = slow_env.gw, slow_env.pki
    c = h2.connect(g.port, ctx(pki), settings={h2.SETTINGS_INITIAL_WINDOW_SIZE: h2.MAX_WINDOW},
                   connection_window=h2.MAX_WINDOW, timeout=30)
    try:
        c.request("POST", "/raw/huge", body=b"x")
        slow_env.backend.wait_for_requests(1, 10)
        gw.wait_until(lambda: open_connections(g) == 0, timeout=60, interval=0.5,
                      what="the gateway closing the never-reading connection")
        assert c.wait_closed(60), "connection not closed"
        got = sum(len(s.data) for s in c.streams.values())
        assert got < HUGE, "the whole answer fitted in the socket buffers"
    finally:
        c.close()
    assert_healthy(g, pki)
