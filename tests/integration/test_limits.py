"""Per-tenant token buckets over TLS (DESIGN.md §3 `limits`, §4): a tenant over a limit gets
`limited_status` + Retry-After and nothing reaches the upstream, other tenants are unaffected,
oversized batches are admitted from a full bucket (leaving debt), `replicas` divides rates.

The numbers are chosen so that no result depends on milliseconds: rates are small against the
costs, so whatever refills between two requests (even a slow second under load) changes no
outcome, and Retry-After values are checked with a tolerance for that time."""

import concurrent.futures
import gzip
import re
import time

import pytest

from support import gateway as gw
from support import ingest
from support import loki_proto as lp
from support.loki_backend import LokiBackend

RW = "/api/v1/push"
LOKI = "/loki/api/v1/push"
ROUTES = [
    {"path": RW, "kind": "prometheus_remote_write", "upstream": "cortex"},
    {"path": LOKI, "kind": "loki_push", "upstream": "loki"},
]
UNLIMITED_LOGS = {"bytes_per_second": 0, "burst_bytes": 0}


@pytest.fixture
def loki():
    b = LokiBackend().start()
    yield b
    b.stop()


def _start(gateways, backend, loki, limits):
    return ingest.start_gateway(gateways, {"cortex": backend.url, "loki": loki.url},
                                routes=ROUTES, limits=limits)


def _metrics_limits(samples_per_second, burst_samples, **extra):
    return {"samples_per_second": samples_per_second, "burst_samples": burst_samples, **extra}


def _push(g, pki, client, samples):
    return ingest.push_remote_write(g.port, gw.client_context(pki, client),
                                    ingest.samples_body(samples, series=2))


def _push_logs(g, pki, client, body, headers):
    return gw.https_request(g.port, gw.client_context(pki, client), "POST", LOKI, body,
                            list(headers.items()))


def _assert_limited(r, status=429, min_retry=1, text=None):
    assert r.status == status, (r.status, r.text)
    value = r.header("Retry-After")
    assert value is not None and re.fullmatch(r"\d+", value.strip()), r.headers
    assert int(value) >= min_retry, (value, r.text)
    assert gw.one_line_reason(r.body), r.body
    if text is not None:
        assert text in r.text, r.text
    return int(value)


def test_tenant_over_sample_rate_gets_429_and_nothing_is_forwarded(gateways, backend, loki,
                                                                   test_pki):
    """tenant-a (10 samples/s, burst 100) sends 100 samples (admitted), then 100 more: 429,
    Retry-After ~10 s, a Cortex-like one-line message, and the upstream saw only the first."""
    g = _start(gateways, backend, loki, {"defaults": {"metrics": _metrics_limits(10, 100)}})
    assert _push(g, test_pki, "tenant-a", 100).status == 200
    r = _push(g, test_pki, "tenant-a", 100)
    ra = _assert_limited(r, text="exceeded while adding 100 samples")
    assert "ingestion rate limit" in r.text and "100" in r.text, r.text
    assert 8 <= ra <= 10, ra
    for _ in range(3):  # still refused (a full bucket takes 10 s), still nothing forwarded
        _assert_limited(_push(g, test_pki, "tenant-a", 100))
    time.sleep(0.3)
    assert len(backend.requests) == 1
    assert [rec["samples"] for rec in ingest.forwarded(g.log_text(), "tenant-a")] == ["100"]


def test_other_tenant_is_unaffected_at_the_same_time(gateways, backend, loki, test_pki):
    """1 sample/s, burst 100 each: while tenant-a is refused (concurrently, from several
    threads; 10 samples take it 10 s to earn), tenant-b with its own bucket gets every one of its
    ten 10-sample pushes through."""
    g = _start(gateways, backend, loki, {"defaults": {"metrics": _metrics_limits(1, 100)}})
    assert _push(g, test_pki, "tenant-a", 100).status == 200

    def push(client, samples):
        return client, _push(g, test_pki, client, samples).status

    jobs = [("tenant-a", 10)] * 10 + [("tenant-b", 10)] * 10
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda j: push(*j), jobs))
    a = [s for c, s in results if c == "tenant-a"]
    b = [s for c, s in results if c == "tenant-b"]
    assert a == [429] * 10, a
    assert b == [200] * 10, b
    tenants = [req.header("X-Scope-OrgID") for req in backend.requests]
    assert tenants.count("tenant-a") == 1 and tenants.count("tenant-b") == 10, tenants


def test_after_retry_after_the_tenant_passes_again(gateways, backend, loki, test_pki):
    """50 samples/s, burst 100: after a refusal (Retry-After 2), waiting Retry-After seconds is
    enough."""
    g = _start(gateways, backend, loki, {"defaults": {"metrics": _metrics_limits(50, 100)}})
    assert _push(g, test_pki, "tenant-a", 100).status == 200
    ra = _assert_limited(_push(g, test_pki, "tenant-a", 100))
    assert 1 <= ra <= 2, ra
    time.sleep(ra)
    r = _push(g, test_pki, "tenant-a", 100)
    assert r.status == 200, (r.status, r.text)
    assert len(backend.requests) == 2


def test_limited_status_503(gateways, backend, loki, test_pki):
    """limited_status: 503 answers 503 with Retry-After (and still nothing forwarded)."""
    g = _start(gateways, backend, loki, {"limited_status": 503,
                                         "defaults": {"metrics": _metrics_limits(10, 50)}})
    assert _push(g, test_pki, "tenant-a", 50).status == 200
    _assert_limited(_push(g, test_pki, "tenant-a", 50), status=503,
                    text="exceeded while adding 50 samples")
    time.sleep(0.2)
    assert len(backend.requests) == 1


def test_batch_larger_than_burst_admitted_from_full_bucket(gateways, backend, loki, test_pki):
    """10 samples/s, burst 10: a 100-sample batch is admitted from the full bucket and leaves
    ~9 s of debt, so the next 1-sample push is refused with Retry-After >= 2 (~10)."""
    g = _start(gateways, backend, loki, {"defaults": {"metrics": _metrics_limits(10, 10)}})
    r = _push(g, test_pki, "tenant-a", 100)
    assert r.status == 200, (r.status, r.text)
    ra = _assert_limited(_push(g, test_pki, "tenant-a", 1), min_retry=2)
    assert 8 <= ra <= 10, ra
    assert len(backend.requests) == 1


def test_oversized_batch_waits_for_a_full_bucket_and_is_never_starved(gateways, backend, loki,
                                                                      test_pki):
    """2 samples/s, burst 10: after 5 samples the bucket is not full, so a 100-sample batch is
    refused with Retry-After = time to refill (2.5 s -> 3); after that wait it is admitted."""
    g = _start(gateways, backend, loki, {"defaults": {"metrics": _metrics_limits(2, 10)}})
    assert _push(g, test_pki, "tenant-a", 5).status == 200
    ra = _assert_limited(_push(g, test_pki, "tenant-a", 100), text="100 samples")
    assert 1 <= ra <= 3, ra
    time.sleep(ra)
    r = _push(g, test_pki, "tenant-a", 100)
    assert r.status == 200, (r.status, r.text)
    assert len(backend.requests) == 2


def test_overrides_apply_per_tenant(gateways, backend, loki, test_pki):
    """An override for tenant-b (burst 1000) lets it send what the defaults (burst 10, 1/s)
    refuse for tenant-a."""
    limits = {"defaults": {"metrics": _metrics_limits(1, 10)},
              "overrides": {"tenant-b": {"metrics": {"burst_samples": 1000}}}}
    g = _start(gateways, backend, loki, limits)
    assert _push(g, test_pki, "tenant-a", 10).status == 200
    _assert_limited(_push(g, test_pki, "tenant-a", 10))
    for _ in range(3):
        assert _push(g, test_pki, "tenant-b", 300).status == 200
    _assert_limited(_push(g, test_pki, "tenant-b", 300), min_retry=60)


def test_metrics_request_and_byte_limits(gateways, backend, loki, test_pki):
    """requests_per_second (burst 2) refuses the third request; bytes_per_second counts the
    body as received (burst 1000 bytes: two ~600-byte bodies do not fit)."""
    limits = {"defaults": {"metrics": _metrics_limits(0, 0, requests_per_second=0.01,
                                                      burst_requests=2)},
              "overrides": {"tenant-b": {"metrics": _metrics_limits(
                  0, 0, bytes_per_second=1, burst_bytes=1000)}}}
    g = _start(gateways, backend, loki, limits)
    assert [_push(g, test_pki, "tenant-a", 1).status for _ in range(2)] == [200, 200]
    _assert_limited(_push(g, test_pki, "tenant-a", 1), min_retry=50, text="request")
    body = ingest.samples_body(26, series=2)
    assert 500 < len(body) <= 1000, len(body)
    ctx = gw.client_context(test_pki, "tenant-b")
    assert ingest.push_remote_write(g.port, ctx, body).status == 200
    r = ingest.push_remote_write(g.port, ctx, body)
    wait = 2 * len(body) - 1000  # 1000 - len(body) bytes left, len(body) needed, 1 byte/s
    ra = _assert_limited(r, text=f"exceeded while adding {len(body)} bytes")
    assert wait - 2 <= ra <= wait, (ra, wait)
    assert len(backend.requests) == 3


# --- logs ---------------------------------------------------------------------------------------

def _lines(n, size=10, meta=None):
    now = time.time_ns()
    return lp.json_body([({"job": "limits"}, [(now + i, "x" * size, meta) for i in range(n)])])


JSON = {"Content-Type": "application/json"}


def test_log_line_limit(gateways, backend, loki, test_pki):
    """logs.lines_per_second 0.1, burst_lines 20: 20 lines pass, one more line is refused with
    a 'lines' message; the Loki backend saw only the first push."""
    limits = {"defaults": {"logs": {"lines_per_second": 0.1, "burst_lines": 20,
                                    **UNLIMITED_LOGS}}}
    g = _start(gateways, backend, loki, limits)
    assert _push_logs(g, test_pki, "logging-agent", _lines(20), JSON).status == 204
    r = _push_logs(g, test_pki, "logging-agent", _lines(1), JSON)
    _assert_limited(r, text="exceeded while adding 1 lines")
    assert "log ingestion rate limit" in r.text, r.text
    # Another tenant on the same route is unaffected.
    assert _push_logs(g, test_pki, "tenant-b", _lines(20), JSON).status == 204
    time.sleep(0.2)
    assert [p.tenant for p in loki.decoded()] == ["logging-agent", "tenant-b"]
    assert backend.requests == []


def test_log_byte_limit_counts_line_and_structured_metadata_bytes(gateways, backend, loki,
                                                                  test_pki):
    """logs.bytes_per_second 1, burst 100: a 40-byte line with 40 bytes of structured metadata
    costs 80, so a following 25-byte line no longer fits (20 left) and is refused."""
    limits = {"defaults": {"logs": {"bytes_per_second": 1, "burst_bytes": 100}}}
    g = _start(gateways, backend, loki, limits)
    first = _lines(1, size=40, meta={"k" * 10: "v" * 30})
    assert _push_logs(g, test_pki, "logging-agent", first, JSON).status == 204
    r = _push_logs(g, test_pki, "logging-agent", _lines(1, size=25), JSON)
    _assert_limited(r, text="exceeded while adding 25 bytes")
    assert _push_logs(g, test_pki, "logging-agent", _lines(1, size=15), JSON).status == 204
    assert loki.totals("logging-agent") == (2, 80 + 15)


def test_log_byte_limit_counts_decompressed_bytes(gateways, backend, loki, test_pki):
    """The log byte bucket is charged with decoded line bytes, not wire bytes: a gzip JSON push
    of one 5000-byte line (~100 bytes on the wire) empties a 1000-byte bucket (1000 bytes/s)
    and leaves ~4 s of debt."""
    limits = {"defaults": {"logs": {"bytes_per_second": 1000, "burst_bytes": 1000}}}
    g = _start(gateways, backend, loki, limits)
    body = gzip.compress(_lines(1, size=5000))
    assert len(body) < 200
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    assert _push_logs(g, test_pki, "logging-agent", body, headers).status == 204
    ra = _assert_limited(_push_logs(g, test_pki, "logging-agent", _lines(1, size=10), JSON),
                         min_retry=3, text="bytes")
    assert ra <= 5, ra
    assert loki.totals() == (1, 5000)


def test_log_limits_on_snappy_protobuf(gateways, backend, loki, test_pki):
    """The line bucket is charged for snappy-protobuf pushes too (3 entries of 2 streams)."""
    limits = {"defaults": {"logs": {"lines_per_second": 0.01, "burst_lines": 3,
                                    **UNLIMITED_LOGS}}}
    g = _start(gateways, backend, loki, limits)
    streams = [lp.Stream('{job="a"}', [lp.Entry(1, 0, b"one"), lp.Entry(2, 0, b"two")]),
               lp.Stream('{job="b"}', [lp.Entry(3, 0, b"three")])]
    headers = {"Content-Type": "application/x-protobuf"}
    assert _push_logs(g, test_pki, "logging-agent", lp.snappy_proto_body(streams),
                      headers).status == 204
    _assert_limited(_push_logs(g, test_pki, "logging-agent", lp.snappy_proto_body(streams[1:]),
                               headers), min_retry=50, text="1 lines")
    assert loki.totals() == (3, 11)


# --- replicas -----------------------------------------------------------------------------------

def test_replicas_divide_rates_not_bursts(gateways, backend, loki, test_pki):
    """1 sample/s, burst 10. A 110-sample batch leaves 100 samples of debt; the wait for 5
    more samples is 105 s with replicas 1 and 210 s with replicas 2 (rate 0.5/s). The burst is
    not divided: with replicas 2, 6 + 4 samples still fit in the full bucket."""
    waits = {}
    for replicas in (1, 2):
        g = _start(gateways, backend, loki, {"replicas": replicas,
                                             "defaults": {"metrics": _metrics_limits(1, 10)}})
        assert _push(g, test_pki, "tenant-a", 110).status == 200
        waits[replicas] = _assert_limited(_push(g, test_pki, "tenant-a", 5), min_retry=2)
        if replicas == 2:
            assert _push(g, test_pki, "tenant-b", 6).status == 200
            assert _push(g, test_pki, "tenant-b", 4).status == 200
            _assert_limited(_push(g, test_pki, "tenant-b", 5))
        g.stop()
    assert 100 <= waits[1] <= 105, waits
    assert 205 <= waits[2] <= 210, waits
