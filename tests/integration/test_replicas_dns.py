"""limits.replicas_from_dns (issue 8 item 3): the gateway re-resolves a headless Service name and
divides rates (not bursts) by the number of replicas it resolves to, so the sum over replicas
stays at the tenant's limit while pods come and go. A test-owned DNS stub on loopback UDP
(replicas_dns_server) answers for the name, and the test changes its answer while the gateway
runs: 1 -> 4 -> 2 (dual-stack) replicas, then SERVFAIL, NXDOMAIN and silence, during which the
last count stays.

What is checked does not depend on milliseconds: the gauge mla_gateway_limits_replicas and the
lookup counters on /metrics, and the rate a refusal names ("(1.25 samples/s, burst 1000)", i.e.
samples_per_second / replicas) with its Retry-After. The rate is small (5 samples/s) against
the 100-sample probe, so the few tokens that refill while the test waits for DNS change no
outcome. Every wait is bounded."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

from support import gateway as gw
from support import ingest

NAME = "gw-headless.mla.test"
RATE = 5  # samples/s for the tenant, summed over all replicas
BURST = 1000
PROBE = 100  # samples per probe push: more than can refill during the test at RATE
INTERVAL = "200ms"

QTYPE_A = 1
QTYPE_AAAA = 28


class DnsStub:
    """A UDP DNS responder on 127.0.0.1 for one name (case-insensitive). A and AAAA questions
    get the addresses set with answer(); other names NXDOMAIN. mode "servfail", "nxdomain" or
    "drop" (no reply at all) simulate failures. Counts the questions it saw per type."""

    def __init__(self, name: str):
        self.name = name.rstrip(".").lower()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.ipv4: list[str] = []
        self.ipv6: list[str] = []
        self.mode = "answer"
        self.questions = {QTYPE_A: 0, QTYPE_AAAA: 0}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, ipv4=(), ipv6=()):
        with self.lock:
            self.ipv4, self.ipv6, self.mode = list(ipv4), list(ipv6), "answer"

    def fail(self, mode: str):
        assert mode in ("servfail", "nxdomain", "drop")
        with self.lock:
            self.mode = mode

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()

    def _serve(self):
        while not self.stopping.is_set():
            try:
                query, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._reply(query)
            if reply is not None:
                self.sock.sendto(reply, peer)

    def _reply(self, query: bytes) -> bytes | None:
        if len(query) < 12:
            return None
        qid, flags, qdcount = struct.unpack("!HHH", query[:6])
        if qdcount != 1:
            return None
        labels, pos = [], 12
        while pos < len(query) and query[pos] != 0:
            length = query[pos]
            labels.append(query[pos + 1:pos + 1 + length].decode("ascii", "replace"))
            pos += 1 + length
        pos += 1
        if pos + 4 > len(query):
            return None
        qtype, _qclass = struct.unpack("!HH", query[pos:pos + 4])
        question = query[12:pos + 4]
        qname = ".".join(labels).lower()
        with self.lock:
            mode = self.mode
            addresses = {QTYPE_A: list(self.ipv4), QTYPE_AAAA: list(self.ipv6)}.get(qtype, [])
            if qname == self.name and qtype in self.questions:
                self.questions[qtype] += 1
        if mode == "drop":
            return None
        rcode = 0
        answers = b""
        count = 0
        if mode == "servfail":
            rcode = 2
        elif qname != self.name or mode == "nxdomain":
            rcode = 3
        else:
            family = socket.AF_INET if qtype == QTYPE_A else socket.AF_INET6
            for address in addresses:
                rdata = socket.inet_pton(family, address)
                # Name: pointer to the question's name at offset 12; class IN; TTL 0.
                answers += struct.pack("!HHHIH", 0xC00C, qtype, 1, 0, len(rdata)) + rdata
                count += 1
        reply_flags = 0x8000 | (flags & 0x0100) | 0x0080 | rcode  # QR, RD echoed, RA
        header = struct.pack("!HHHHHH", qid, reply_flags, 1, count, 0, 0)
        return header + question + answers


@pytest.fixture
def dns():
    stub = DnsStub(NAME)
    yield stub
    stub.stop()


def _start(gateways, backend, dns, static_replicas=3):
    limits = {
        "replicas": static_replicas,
        "replicas_from_dns": NAME,
        "replicas_dns_interval": INTERVAL,
        "replicas_dns_server": dns.server,
        "defaults": {"metrics": {"samples_per_second": RATE, "burst_samples": BURST}},
    }
    for attempt in range(3):
        admin_port = gw.free_port()
        try:
            g = ingest.start_gateway(gateways, {"cortex": backend.url, "loki": backend.url},
                                     limits=limits,
                                     extra={"admin": {"listen": f"127.0.0.1:{admin_port}"}})
            g.admin_port = admin_port
            return g
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _metrics(g) -> dict[str, float]:
    conn = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=5)
    try:
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        body = r.read().decode()
        assert r.status == 200, body
    finally:
        conn.close()
    out = {}
    for line in body.splitlines():
        if line.startswith("mla_gateway_limits_replicas"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def _api_samples_limit(g, tenant: str) -> float:
    """limits.metrics.samples_per_second of TENANT in the tenant API (per replica)."""
    conn = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=5)
    try:
        conn.request("GET", "/api/v1/tenants")
        r = conn.getresponse()
        body = json.loads(r.read())
        assert r.status == 200, body
    finally:
        conn.close()
    entry = next(t for t in body["tenants"] if t["tenant"] == tenant)
    return entry["limits"]["metrics"]["samples_per_second"]


def _replicas(g) -> float:
    return _metrics(g)["mla_gateway_limits_replicas"]


def _lookups(g, result: str) -> float:
    return _metrics(g)[f'mla_gateway_limits_replicas_dns_lookups_total{{result="{result}"}}']


def _wait_replicas(g, want: int, timeout: float = 15.0):
    gw.wait_until(lambda: _replicas(g) == want, timeout, interval=0.05,
                  what=f"mla_gateway_limits_replicas == {want}")


def _push(g, pki, client, samples):
    return ingest.push_remote_write(g.port, gw.client_context(pki, client),
                                    ingest.samples_body(samples, series=2))


def _assert_rate(g, pki, replicas: int, client="tenant-a"):
    """A PROBE-sample push from a drained bucket is refused; the refusal names the rate on this
    replica (RATE / replicas, burst undivided) and Retry-After is the time to earn PROBE samples
    at that rate (minus the few refilled while the test waited)."""
    r = _push(g, pki, client, PROBE)
    assert r.status == 429, (r.status, r.text)
    rate = RATE / replicas
    rate_text = f"{rate:g}"
    assert f"({rate_text} samples/s, burst {BURST})" in r.text, (replicas, r.text)
    retry_after = int(r.header("Retry-After"))
    full_wait = PROBE / rate
    assert full_wait / 2 < retry_after <= full_wait, (replicas, retry_after, full_wait)


def test_rates_follow_the_dns_answer_and_survive_failures(gateways, backend, dns, test_pki):
    dns.answer(ipv4=["10.0.0.1"])
    g = _start(gateways, backend, dns, static_replicas=3)
    # The DNS count (1) replaces the static limits.replicas (3) once a lookup succeeded.
    _wait_replicas(g, 1)
    assert _lookups(g, "ok") >= 1
    assert dns.questions[QTYPE_A] >= 1 and dns.questions[QTYPE_AAAA] >= 1

    # Drain tenant-a's bucket: the burst is not divided, so BURST samples pass at once.
    assert _push(g, test_pki, "tenant-a", BURST).status == 200
    _assert_rate(g, test_pki, 1)

    # Scale out to 4 pods: the live bucket takes the new rate and keeps its (empty) level: a
    # reset bucket would have admitted the probe.
    dns.answer(ipv4=["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.4"])
    _wait_replicas(g, 4)
    _assert_rate(g, test_pki, 4)
    assert _api_samples_limit(g, "tenant-a") == RATE / 4  # the tenant API shows what applies
    # A tenant first seen now still gets the whole burst.
    assert _push(g, test_pki, "tenant-b", BURST).status == 200
    _assert_rate(g, test_pki, 4, client="tenant-b")

    # Scale in to 2 dual-stack pods (2 A + 2 AAAA): 2 replicas, not 4.
    dns.answer(ipv4=["10.0.0.1", "10.0.0.2"], ipv6=["fd00::1", "fd00::2"])
    _wait_replicas(g, 2)
    _assert_rate(g, test_pki, 2)

    # Failures keep the last count, and are counted.
    for mode in ("servfail", "nxdomain"):
        errors = _lookups(g, "error")
        dns.fail(mode)
        gw.wait_until(lambda: _lookups(g, "error") >= errors + 2, 15,
                      what=f"two failed lookups ({mode})")
        assert _replicas(g) == 2, mode
        _assert_rate(g, test_pki, 2)

    # Recovery: a successful lookup applies again.
    ok = _lookups(g, "ok")
    dns.answer(ipv4=["10.0.0.7"])
    _wait_replicas(g, 1)
    assert _lookups(g, "ok") > ok
    assert "limits.replicas_from_dns lookup failed" in g.log_text()
    assert len(backend.requests) == 2  # only the two burst pushes reached the upstream


def test_a_silent_dns_server_keeps_the_count_and_requests_flow(gateways, backend, dns, test_pki):
    """No reply at all: c-ares times out (about 3 s per lookup) on the resolver's own thread;
    meanwhile requests are answered, and the count stays."""
    dns.answer(ipv4=["10.0.0.1", "10.0.0.2"])
    g = _start(gateways, backend, dns)
    _wait_replicas(g, 2)
    errors = _lookups(g, "error")
    dns.fail("drop")
    deadline = time.monotonic() + 20
    statuses = []
    while _lookups(g, "error") <= errors:
        assert time.monotonic() < deadline, "no failed lookup within 20 s"
        statuses.append(_push(g, test_pki, "tenant-b", 1).status)
        time.sleep(0.1)
    assert statuses and set(statuses) == {200}, statuses
    assert _replicas(g) == 2
    dns.answer(ipv4=["10.0.0.1", "10.0.0.2", "10.0.0.3"])
    _wait_replicas(g, 3)


def test_a_reload_without_the_name_returns_to_the_static_replicas(gateways, backend, dns,
                                                                  test_pki):
    """SIGHUP with replicas_from_dns removed: the DNS count is dropped, limits.replicas applies
    (to live buckets too), and the stub is asked no more."""
    dns.answer(ipv4=["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"])
    g = _start(gateways, backend, dns, static_replicas=2)
    _wait_replicas(g, 4)
    assert _push(g, test_pki, "tenant-a", BURST).status == 200
    _assert_rate(g, test_pki, 4)
    text = g.config_file.read_text()
    kept = [line for line in text.splitlines()
            if "replicas_from_dns" not in line and "replicas_dns_" not in line]
    assert len(kept) == len(text.splitlines()) - 3, text
    g.config_file.write_text("\n".join(kept) + "\n")
    g.send_signal(signal.SIGHUP)
    _wait_replicas(g, 2)
    _assert_rate(g, test_pki, 2)
    with dns.lock:
        asked = dict(dns.questions)
    time.sleep(0.6)  # three intervals of the old config
    with dns.lock:
        assert dns.questions == asked


def test_without_dns_the_static_replicas_are_the_gauge(gateways, backend):
    admin_port = gw.free_port()
    g = ingest.start_gateway(gateways, {"cortex": backend.url, "loki": backend.url},
                             limits={"replicas": 3},
                             extra={"admin": {"listen": f"127.0.0.1:{admin_port}"}})
    g.admin_port = admin_port
    m = _metrics(g)
    assert m["mla_gateway_limits_replicas"] == 3
    assert m['mla_gateway_limits_replicas_dns_lookups_total{result="ok"}'] == 0
    assert m['mla_gateway_limits_replicas_dns_lookups_total{result="error"}'] == 0


def test_check_config_rejects_a_bad_dns_server(gateway_bin, tmp_path, test_pki):
    cfg = gw.gateway_config(test_pki, gw.free_port(), {"cortex": "http://127.0.0.1:1"})
    cfg["limits"] = {"replicas_from_dns": NAME, "replicas_dns_server": "kube-dns:53"}
    path = tmp_path / "gw.yaml"
    path.write_text(gw.to_yaml(cfg) + "\n")
    r = subprocess.run([gateway_bin, f"--config.file={path}", "--check-config"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    out = r.stdout + r.stderr
    assert re.search(r"gw\.yaml:\d+:\d+: limits\.replicas_dns_server: invalid DNS server", out), out
