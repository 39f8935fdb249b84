"""The control plane while the data plane is busy (also run under TSan: `concurrency` label).
Client threads push for two tenants over keep-alive connections while the main thread flips
tenant-a's kill switch over the admin API, reloads a changed config and swaps the certificate
files (rename, as a Kubernetes Secret update does) under a short tls.reload_interval:
- tenant-b is never refused or dropped; tenant-a gets only 200 or 503 (+ Retry-After);
- a push that starts after a disable's answer is refused, one after an enable's answer passes;
- the gateway's counters agree with what the clients saw (requests and rejections by reason);
- no sanitizer report (checked by the `gateways` fixture)."""

from __future__ import annotations

import http.client
import json
import shutil
import ssl
import threading
import time
import urllib.request
from pathlib import Path

from support import gateway as gw
from support import ingest
from support import remote_write as rw

CLIENTS_PER_TENANT = 3
MAX_REQUESTS_PER_CLIENT = 400  # bounds each client loop along with the stop event
FLIPS = 12
CLIENT_SECONDS_LIMIT = 60


def _admin(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _metric(text: str, name: str, **labels) -> float:
    """Sum of the samples of NAME whose labels include LABELS."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        series, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in series for k, v in labels.items()):
            total += float(value)
    return total


class Client(threading.Thread):
    """Pushes as TENANT until stopped; reconnects after a refusal (the gateway closes then)."""

    def __init__(self, port: int, context: ssl.SSLContext, tenant: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.context, self.tenant, self.stop = port, context, tenant, stop
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []
        self.missing_retry_after = 0

    def run(self) -> None:
        body = ingest.samples_body(5)
        headers = list(rw.REMOTE_WRITE_HEADERS.items())
        client = None
        deadline = time.monotonic() + CLIENT_SECONDS_LIMIT
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if self.stop.is_set() or time.monotonic() > deadline:
                break
            try:
                if client is None:
                    client = gw.HttpsClient(self.port, self.context, timeout=15).connect()
                r = client.request("POST", "/api/v1/push", body, headers)
            except (OSError, http.client.HTTPException) as e:
                self.errors.append(repr(e))
                client = None
                continue
            self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
            if r.status == 503:
                if r.header("Retry-After") is None:
                    self.missing_retry_after += 1
                client.close()
                client = None
            time.sleep(0.005)
        if client is not None:
            client.close()


def _swap_certificate(src: Path, dst_dir: Path, generation: int) -> None:
    """Replace tls.crt/tls.key in DST_DIR by rename (same content, new inodes)."""
    for name in ("tls.crt", "tls.key"):
        tmp = dst_dir / f".{name}.{generation}"
        shutil.copyfile(src / name, tmp)
        tmp.replace(dst_dir / name)


def test_kill_switch_reload_and_cert_swap_under_load(gateways, backend, test_pki, tmp_path):
    certs = tmp_path / "certs"
    certs.mkdir()
    original = tmp_path / "original"
    original.mkdir()
    shutil.copyfile(test_pki.server.cert_file, original / "tls.crt")
    shutil.copyfile(test_pki.server.key_file, original / "tls.key")
    _swap_certificate(original, certs, 0)

    admin_port = gw.free_port()
    g = gateways.start(
        {"cortex": backend.url, "loki": backend.url},
        tls={"cert_file": str(certs / "tls.crt"), "key_file": str(certs / "tls.key"),
             "reload_interval": "200ms"},
        admin={"listen": f"127.0.0.1:{admin_port}", "state_file": str(tmp_path / "state.json")},
        log_level="info")

    stop = threading.Event()
    clients = [Client(g.port, gw.client_context(test_pki, tenant), tenant, stop)
               for tenant in ("tenant-a", "tenant-b") for _ in range(CLIENTS_PER_TENANT)]
    for c in clients:
        c.start()
    probe_a = gw.client_context(test_pki, "tenant-a")
    probe_statuses = {200: 0, 503: 0}
    try:
        for flip in range(FLIPS):
            status, body = _admin(admin_port, "POST", "/api/v1/tenants/tenant-a/disable",
                                  json.dumps({"reason": f"flip {flip}"}).encode())
            assert status == 200, body
            r = ingest.push_remote_write(g.port, probe_a, ingest.samples_body(1))
            assert r.status == 503, (flip, r.status, r.text)
            probe_statuses[503] += 1
            time.sleep(0.05)
            status, body = _admin(admin_port, "POST", "/api/v1/tenants/tenant-a/enable")
            assert status == 200, body
            r = ingest.push_remote_write(g.port, probe_a, ingest.samples_body(1))
            assert r.status == 200, (flip, r.status, r.text)
            probe_statuses[200] += 1
            if flip % 3 == 0:
                g.config["server"]["max_request_body_bytes"] = "2MiB" if flip % 2 else "1MiB"
                g.write_config()
                status, body = _admin(admin_port, "POST", "/-/reload")
                assert status == 200, body
            if flip % 4 == 1:
                _swap_certificate(original, certs, flip + 1)
            time.sleep(0.05)
    finally:
        stop.set()
        for c in clients:
            c.join(timeout=CLIENT_SECONDS_LIMIT + 10)
    assert not any(c.is_alive() for c in clients), "client threads still running"

    for c in clients:
        assert not c.errors, (c.tenant, c.errors[:3])
        assert c.missing_retry_after == 0, c.tenant
        allowed = {200} if c.tenant == "tenant-b" else {200, 503}
        assert set(c.statuses) <= allowed, (c.tenant, c.statuses)
    sent = {t: sum(sum(c.statuses.values()) for c in clients if c.tenant == t)
            for t in ("tenant-a", "tenant-b")}
    refused_a = sum(c.statuses.get(503, 0) for c in clients if c.tenant == "tenant-a")
    assert sent["tenant-b"] > 0 and sent["tenant-a"] > 0, sent

    _, text = _admin(admin_port, "GET", "/metrics")
    assert _metric(text, "mla_gateway_rejected_requests_total", tenant="tenant-a",
                   reason="disabled") == refused_a + probe_statuses[503]
    assert _metric(text, "mla_gateway_requests_total", tenant="tenant-b") == sent["tenant-b"]
    assert _metric(text, "mla_gateway_requests_total", tenant="tenant-a") == (
        sent["tenant-a"] + sum(probe_statuses.values()))
    assert _metric(text, "mla_gateway_rejected_requests_total", tenant="tenant-b") == 0
    assert _metric(text, "mla_gateway_tenant_enabled", tenant="tenant-a") == 1
    assert _metric(text, "mla_gateway_config_last_reload_successful") == 1
