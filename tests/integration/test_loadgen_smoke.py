"""mla-loadgen (bench/loadgen/) against the real gateway and a recording backend: closed mode
(what the benchmark measures), tenant certificates minted in memory, handshake and idle modes,
--plain straight to a backend, and the loopback-only rule for --target.

mla-loadgen is looked up next to the gateway binary (build*/bin/), or at $MLA_LOADGEN_BIN.
Every loadgen run is bounded (subprocess timeout, or SIGTERM then SIGKILL by its PID)."""

import http.client
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from support import gateway as gw
from support import ingest
from support import remote_write as rw
from support.recording_backend import RecordingBackend

SERIES = 2000  # --series default: one sample each

# No token bucket may shape the load: 0 = unlimited (DESIGN.md §3).
UNLIMITED = {"defaults": {"metrics": {"samples_per_second": 0, "burst_samples": 0},
                          "logs": {"bytes_per_second": 0, "burst_bytes": 0}}}


@pytest.fixture(scope="module")
def loadgen_bin(gateway_bin):
    path = os.environ.get("MLA_LOADGEN_BIN") or str(Path(gateway_bin).parent / "mla-loadgen")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"mla-loadgen not built at {path} (ninja mla-loadgen)")
    return path


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    backend = RecordingBackend().start()
    admin_port = gw.free_port()
    # http2 on: HTTP/1.1 clients (loadgen's default ALPN) are unaffected, --http2 gets h2.
    g = ingest.start_gateway(module_gateways, {"cortex": backend.url, "loki": backend.url},
                             limits=UNLIMITED, log_level="info", server={"http2": True},
                             extra={"admin": {"listen": f"127.0.0.1:{admin_port}"}})
    g.admin_port = admin_port
    yield g, backend
    backend.stop()


@pytest.fixture(autouse=True)
def _fresh_backend(env):
    env[1].reset()


def _tls_args(test_pki, client="tenant-a"):
    leaf = test_pki.client(client)
    return ["--cert", leaf.cert_file, "--key", leaf.key_file, "--ca", test_pki.ca.cert_file]


def _run(loadgen_bin, tmp_path, args, timeout=60):
    """Run mla-loadgen to the end; (exit status, stdout, stderr, report dict or None)."""
    out = tmp_path / "report.json"
    if out.exists():
        out.unlink()
    proc = subprocess.run(gw.orphan_guard() + [loadgen_bin, *args, "--json-out", str(out)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)
    print(proc.stderr)
    report = json.loads(out.read_text()) if out.exists() else None
    return proc.returncode, proc.stdout, proc.stderr, report


def _assert_all_ok(report):
    assert report["requests"] > 0, report
    assert report["ok"] == report["requests"], report["responses"]
    assert all(200 <= int(code) < 300 for code in report["responses"]), report["responses"]
    assert sum(report["responses"].values()) == report["requests"]
    assert report["errors"] == {"connect": 0, "tls": 0, "io": 0, "reconnects": 0}, report
    lat = report["latency_us"]
    assert lat["count"] == report["requests"]
    assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p999"] <= lat["max"]


def _admin_metric(g, name):
    conn = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_http2_streams_through_the_gateway(env, loadgen_bin, test_pki, tmp_path):
    """--http2 --streams 8 on 2 connections for 2 s: all 2xx over h2, none refused, and the
    backend got loadgen's body with the tenant of the client certificate (over HTTP/1.1)."""
    g, backend = env
    rc, _, stderr, r = _run(loadgen_bin, tmp_path, [
        "--target", f"127.0.0.1:{g.port}", *_tls_args(test_pki), "--mode", "closed",
        "--http2", "--streams", "8", "--connections", "2", "--duration", "2s",
        "--warmup", "300ms"])
    assert rc == 0, stderr
    _assert_all_ok(r)
    assert (r["protocol"], r["streams"], r["inflight"]) == ("h2", 8, 16), r
    assert r["refused_requests"] == 0, r
    received = backend.requests
    assert len(received) >= r["requests"]
    assert {len(req.body) for req in received} == {r["body_bytes"]}
    assert {req.header("X-Scope-OrgID") for req in received} == {"tenant-a"}


def test_closed_mode_remote_write_through_the_gateway(env, loadgen_bin, test_pki, tmp_path):
    """Closed mode for 3 s: all 2xx, consistent rates, and the backend got loadgen's exact body
    with the tenant of the client certificate."""
    g, backend = env
    rc, _, stderr, r = _run(loadgen_bin, tmp_path, [
        "--target", f"127.0.0.1:{g.port}", *_tls_args(test_pki), "--mode", "closed",
        "--connections", "4", "--duration", "3s", "--warmup", "500ms"])
    assert rc == 0, stderr
    _assert_all_ok(r)
    assert (r["mode"], r["payload"], r["connections"], r["inflight"]) == ("closed", "rw1", 4, 4)
    assert r["samples_per_request"] == SERIES and r["lines_per_request"] == 0
    assert r["samples"] == r["requests"] * SERIES
    assert 2.5 <= r["duration_s"] <= 3.5, r["duration_s"]
    assert r["requests_per_second"] == pytest.approx(r["requests"] / r["duration_s"])
    assert r["samples_per_second"] > 0
    assert r["samples_per_second"] == pytest.approx(r["requests_per_second"] * SERIES)
    assert r["mb_per_second"] == pytest.approx(
        r["requests_per_second"] * r["body_bytes"] / 1e6)
    assert r["loadgen_cpu_seconds"] > 0 and r["wall_seconds"] >= r["duration_s"]

    # Warmup requests reached the backend too, so it saw at least the counted ones.
    received = backend.requests
    assert len(received) >= r["requests"]
    bodies = {req.body for req in received}
    assert len(bodies) == 1, "loadgen sent different bodies"
    body = bodies.pop()
    assert len(body) == r["body_bytes"]
    series = rw.decode_write_request(rw.snappy_decompress(body))
    assert len(series) == SERIES and all(len(samples) == 1 for _, samples in series)
    assert len(rw.snappy_decompress(body)) == r["raw_bytes"]
    first = received[0]
    assert first.method == "POST" and first.path == "/api/v1/push"
    assert {req.header("X-Scope-OrgID") for req in received} == {"tenant-a"}
    assert first.header("Content-Encoding") == "snappy"
    assert first.header("Content-Type") == "application/x-protobuf"
    assert first.header("X-Prometheus-Remote-Write-Version") == "0.1.0"
    assert first.header("User-Agent") == "mla-loadgen"


def test_minted_tenant_certificates_give_one_tenant_per_connection(env, loadgen_bin, test_pki,
                                                                   tmp_path):
    """--tenants 3: connection i presents CN=tenant-0000{i%3+1}, so the backend sees 3 tenants;
    --requests bounds the run."""
    g, backend = env
    rc, _, stderr, r = _run(loadgen_bin, tmp_path, [
        "--target", f"127.0.0.1:{g.port}", "--ca", test_pki.ca.cert_file,
        "--tenants", "3", "--tenant-ca-cert", test_pki.ca.cert_file,
        "--tenant-ca-key", test_pki.ca.key_file, "--connections", "6", "--inflight", "2",
        "--requests", "30", "--warmup", "0s", "--payload", "rw2", "--series", "100"])
    assert rc == 0, stderr
    _assert_all_ok(r)
    assert r["requests"] == 30 and r["inflight"] == 2
    assert r["samples"] == 30 * 100
    tenants = {req.header("X-Scope-OrgID") for req in backend.requests}
    assert tenants == {"tenant-00001", "tenant-00002", "tenant-00003"}
    assert {req.header("X-Prometheus-Remote-Write-Version") for req in backend.requests} == \
        {"2.0.0"}


def test_handshake_mode_opens_a_connection_per_request(env, loadgen_bin, test_pki, tmp_path):
    """Handshake mode: every request on a fresh TLS connection; handshakes/s = requests/s."""
    g, backend = env
    rc, _, stderr, r = _run(loadgen_bin, tmp_path, [
        "--target", f"127.0.0.1:{g.port}", *_tls_args(test_pki), "--mode", "handshake",
        "--connections", "2", "--duration", "2s", "--warmup", "200ms", "--series", "10"])
    assert rc == 0, stderr
    _assert_all_ok(r)
    assert r["handshakes_per_second"] > 0
    assert r["handshakes_per_second"] == pytest.approx(r["requests_per_second"])
    assert r["connections_established"] >= r["requests"]
    assert all(req.header("Connection") in (None, "close") for req in backend.requests)


def test_idle_mode_holds_connections_until_sigterm(env, loadgen_bin, test_pki, tmp_path):
    """Idle mode prints one line once 20 TLS connections are up, the gateway counts them open,
    and SIGTERM ends the hold early with a report."""
    g, _ = env
    out = tmp_path / "idle.json"
    proc = subprocess.Popen(gw.orphan_guard() + [
        loadgen_bin, "--target", f"127.0.0.1:{g.port}", *_tls_args(test_pki), "--mode", "idle",
        "--connections", "20", "--hold", "60s", "--json-out", str(out)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        reader, line = gw.in_background(proc.stdout.readline)
        reader.join(timeout=15)
        assert line.get("value") == "idle: 20 connections established\n", line
        gw.wait_until(lambda: (_admin_metric(g, "mla_gateway_open_connections") or 0) >= 20,
                      timeout=10, what="gateway counts 20 open connections")
        assert proc.poll() is None, "loadgen stopped holding early"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        stderr = proc.stderr.read()
        proc.stderr.close()
    print(stderr)
    r = json.loads(out.read_text())
    assert r["idle_established"] == 20 and r["interrupted"] is True
    assert r["errors"] == {"connect": 0, "tls": 0, "io": 0, "reconnects": 0}
    gw.wait_until(lambda: _admin_metric(g, "mla_gateway_open_connections") == 0,
                  timeout=10, what="gateway sees the idle connections closed")


def test_plain_mode_loki_push_to_a_backend(env, loadgen_bin, tmp_path):
    """--plain sends the Loki push body over plain HTTP (checking a sink directly)."""
    _, backend = env
    rc, _, stderr, r = _run(loadgen_bin, tmp_path, [
        "--target", f"127.0.0.1:{backend.port}", "--plain", "--payload", "loki-proto",
        "--loki-bytes", "64KiB", "--connections", "1", "--requests", "20", "--warmup", "0s"])
    assert rc == 0, stderr
    _assert_all_ok(r)
    assert r["lines_per_request"] > 0 and r["lines"] == 20 * r["lines_per_request"]
    # The request in flight when the run ended was cut off: the backend recorded part of it.
    received = [req for req in backend.requests if len(req.body) == r["body_bytes"]]
    assert len(received) >= 20 and received[0].path == "/loki/api/v1/push"
    assert received[0].header("Content-Type") == "application/x-protobuf"
    assert received[0].header("Content-Encoding") is None
    assert len({req.body for req in received}) == 1


@pytest.mark.parametrize("target", ["192.0.2.1:8443", "localhost:8443", "[2001:db8::1]:443",
                                    "0.0.0.0:8443"])
def test_non_loopback_target_is_refused(loadgen_bin, test_pki, target, tmp_path):
    """A target that is not a numeric loopback address is a usage error (exit 2), before any
    connection is attempted."""
    started = time.monotonic()
    rc, _, stderr, r = _run(loadgen_bin, tmp_path, ["--target", target, *_tls_args(test_pki)],
                            timeout=20)
    assert rc == 2, stderr
    assert "loopback" in stderr or "numeric" in stderr, stderr
    assert r is None
    assert time.monotonic() - started < 10


def test_no_server_is_exit_1(loadgen_bin, test_pki, tmp_path):
    """Nothing listening: no connection succeeds, the run is reported and exits 1."""
    with gw.ReservedPort() as port:
        rc, _, stderr, r = _run(loadgen_bin, tmp_path, [
            "--target", f"127.0.0.1:{port.port}", *_tls_args(test_pki), "--connections", "3",
            "--duration", "1s"], timeout=30)
    assert rc == 1, stderr
    assert r["errors"]["connect"] == 3 and r["requests"] == 0
