"""Admin listener (DESIGN.md §6, §7): /metrics in Prometheus text format (checked with
`promtool check metrics`) with values that follow the traffic sent, /-/healthy, /-/ready (503
during a drain), 404/405. Each test starts its own gateway with the admin listener on a free
loopback port; the other integration tests run with the admin listener off."""

from __future__ import annotations

import http.client
import re
import shutil
import signal
import socket
import subprocess

import pytest

from support import gateway as gw
from support import ingest
from support.recording_backend import Reply

PROMTOOL = shutil.which("promtool")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')


def _start(gateways, backend, server=None):
    """A gateway with its admin listener on a free port; retried on a port race."""
    for attempt in range(3):
        admin_port = gw.free_port()
        try:
            g = gateways.start({"cortex": backend.url, "loki": backend.url}, server=server,
                               admin={"listen": f"127.0.0.1:{admin_port}"})
            g.admin_port = admin_port
            return g
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _admin(g, method, path, timeout=5.0):
    """(status, headers dict with lower-case names, body text) of one admin request."""
    conn = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=timeout)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def _scrape(g) -> str:
    status, headers, body = _admin(g, "GET", "/metrics")
    assert status == 200, body
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    return body


def _samples(text: str) -> dict[str, float]:
    """'name{labels}' (labels as rendered) -> value, for every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out



def test_health_ready_and_errors(gateways, backend):
    """/-/healthy and /-/ready answer 200 on a running gateway; unknown paths are 404, other
    methods 405 with Allow: GET."""
    g = _start(gateways, backend)
    assert _admin(g, "GET", "/-/healthy")[::2] == (200, "OK\n")
    assert _admin(g, "GET", "/-/ready")[::2] == (200, "OK\n")
    assert _admin(g, "GET", "/nope")[0] == 404
    status, headers, _ = _admin(g, "POST", "/metrics")
    assert (status, headers.get("allow")) == (405, "GET")


def test_admin_off_by_default_in_tests(gateways, backend):
    """The test config's `admin: {listen: ""}` starts no admin listener."""
    g = gateways.start({"cortex": backend.url, "loki": backend.url})
    assert "admin listening" not in g.log_text()


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) not installed")
def test_metrics_pass_promtool_and_follow_traffic(gateways, backend, test_pki):
    """After two remote-write pushes of tenant-a, a 404 and a wrong-CA handshake, /metrics passes
    `promtool check metrics` and shows those requests, samples, upstream calls and the
    unknown_ca handshake failure; open_connections counts a held connection."""
    g = _start(gateways, backend)
    before = _samples(_scrape(g))
    ctx = gw.client_context(test_pki, "tenant-a")
    for _ in range(2):
        r = ingest.push_remote_write(g.port, ctx, ingest.samples_body(10, series=2))
        assert r.status == 200, r.text
    assert gw.https_request(g.port, ctx, "POST", "/nowhere", b"").status == 404
    rejected, why = gw.tls_rejected(g.port, gw.client_context(test_pki, "foreign"))
    assert rejected, why

    with gw.RawTls(g.port, ctx) as held:
        held.send(b"POST /raw/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")
        assert held.read_response(timeout=5).status == 200
        text = _scrape(g)

    check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    m = _samples(text)
    p = "mla_gateway_"
    unknown_ca = p + 'tls_handshake_failures_total{reason="unknown_ca"}'
    assert m[unknown_ca] == before.get(unknown_ca, 0) + 1
    assert m[p + 'requests_total{tenant="tenant-a",route="/api/v1/push",code="200"}'] == 2
    assert m[p + 'requests_total{tenant="tenant-a",route="none",code="404"}'] == 1
    assert m[p + 'requests_total{tenant="tenant-a",route="/raw/",code="200"}'] == 1
    assert m[p + 'received_samples_total{tenant="tenant-a"}'] == 20
    assert m[p + 'received_bytes_total{tenant="tenant-a",route="all"}'] > 0
    assert m[p + 'upstream_requests_total{upstream="cortex",code="200"}'] == 3
    assert m[p + 'upstream_duration_seconds_count{upstream="cortex"}'] == 3
    assert m[p + 'request_duration_seconds_count{route="/api/v1/push"}'] == 2
    assert m[p + 'request_duration_seconds_bucket{route="/api/v1/push",le="+Inf"}'] == 2
    assert m[p + "open_connections"] >= 1
    assert m[p + "config_last_reload_successful"] == 1
    assert m[p + "config_last_reload_success_timestamp_seconds"] > 1.6e9
    cert = test_pki.server.cert_file
    assert m[p + f'certificate_expiry_timestamp_seconds{{file="{cert}"}}'] > 1.6e9
    assert m["process_resident_memory_bytes"] > 0
    assert m["process_open_fds"] > 0
    assert m["process_start_time_seconds"] > 1.6e9
    assert "process_cpu_seconds_total" in m
    # The held connection is gone: back to what the scrape itself cannot change.
    gw.wait_until(lambda: _samples(_scrape(g))[p + "open_connections"] == 0, timeout=5,
                  what="open_connections back to 0")


def test_ready_turns_503_during_drain(gateways, backend, test_pki):
    """With a slow request in flight, SIGTERM makes /-/ready answer 503 (not draining -> 200
    before), while /-/healthy and /metrics still answer; the request then completes and the
    process exits 0."""
    backend.set_reply("/raw/slow", Reply(delay=2.0, body=b"slow\n"))
    g = _start(gateways, backend, server={"shutdown_grace_period": "10s"})
    assert _admin(g, "GET", "/-/ready")[0] == 200
    ctx = gw.client_context(test_pki, "tenant-a")
    thread, result = gw.in_background(
        lambda: gw.https_request(g.port, ctx, "POST", "/raw/slow", b"x", timeout=15))
    backend.wait_for_requests(1, timeout=5)
    g.send_signal(signal.SIGTERM)
    status, _, body = gw.wait_until(
        lambda: (lambda r: r if r[0] == 503 else None)(_admin(g, "GET", "/-/ready")),
        timeout=1.5, what="/-/ready 503 after SIGTERM")
    assert "draining" in body
    assert thread.is_alive(), "the slow request should still be in flight"
    assert _admin(g, "GET", "/-/healthy")[0] == 200
    assert _samples(_scrape(g))["mla_gateway_open_connections"] >= 1
    thread.join(timeout=15)
    assert "error" not in result, result.get("error")
    assert result["value"].status == 200
    assert g.wait_exit(5) == 0, g.log_text()[-2000:]


def test_admin_port_in_use_fails_start(gateway_bin, test_pki, backend, tmp_path):
    """An admin address that cannot be bound stops the start with exit 1 and a log line naming
    admin.listen."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        cfg = gw.gateway_config(test_pki, gw.free_port(), {"cortex": backend.url,
                                                           "loki": backend.url},
                                admin={"listen": f"127.0.0.1:{port}"})
        g = gw.Gateway(gateway_bin, tmp_path / "gw", cfg)
        with pytest.raises(gw.GatewayError):
            g.start(timeout=10)
        assert g.returncode == 1
        assert "admin.listen" in g.log_text()


def test_reload_status_follows_sighup(gateways, backend):
    """A SIGHUP with a broken config sets config_last_reload_successful to 0 (the old config keeps
    serving); a SIGHUP with a good one sets it back to 1 and advances the success timestamp."""
    g = _start(gateways, backend)
    p = "mla_gateway_"
    first = _samples(_scrape(g))
    assert first[p + "config_last_reload_successful"] == 1
    good = g.config_file.read_text()
    g.config_file.write_text(good + "bogus_key: 1\n")
    g.send_signal(signal.SIGHUP)
    gw.wait_until(lambda: _samples(_scrape(g))[p + "config_last_reload_successful"] == 0,
                  timeout=5, what="config_last_reload_successful 0 after a bad reload")
    assert _admin(g, "GET", "/-/ready")[0] == 200
    g.config_file.write_text(good)
    g.send_signal(signal.SIGHUP)
    gw.wait_until(lambda: _samples(_scrape(g))[p + "config_last_reload_successful"] == 1,
                  timeout=5, what="config_last_reload_successful 1 after a good reload")
    last = _samples(_scrape(g))[p + "config_last_reload_success_timestamp_seconds"]
    assert last > first[p + "config_last_reload_success_timestamp_seconds"]
