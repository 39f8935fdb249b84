"""The read and write listeners busy at once (also run under TSan: `concurrency` label): client
threads query the read listener as two tenants and push on the write listener while the main
thread flips tenant-b's kill switch and reloads the config. Both listeners share the workers'
upstream pools, the tenant counters, the limiter and the switch.
- read answers are 200 (tenant-b also 503 while disabled), always the upstream's body;
- every read request reached the upstream with its own tenant in X-Scope-OrgID;
- pushes of tenant-a never fail; the request counters equal what the clients saw."""

from __future__ import annotations

import http.client
import threading
import time
import urllib.request

from support import gateway as gw
from support import ingest
from support import remote_write as rw

THREADS_PER_KIND = 3
MAX_REQUESTS_PER_THREAD = 300
SECONDS_LIMIT = 60
FLIPS = 8


def _admin(port: int, method: str, path: str) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"" if method == "POST"
                                 else None, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def _metric(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Worker(threading.Thread):
    def __init__(self, action, stop: threading.Event):
        super().__init__(daemon=True)
        self.action, self.stop = action, stop
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []

    def run(self):
        deadline = time.monotonic() + SECONDS_LIMIT
        for _ in range(MAX_REQUESTS_PER_THREAD):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            try:
                status = self.action()
            except (OSError, http.client.HTTPException, AssertionError) as e:
                self.errors.append(repr(e))
                continue
            self.statuses[status] = self.statuses.get(status, 0) + 1


def test_read_and_write_listeners_under_flips_and_reloads(gateways, backend, test_pki):
    admin_port, read_port = gw.free_port(), gw.free_port()
    g = gateways.start(
        {"cortex": backend.url, "loki": backend.url},
        tenant={"source": "subject_cn", "allowed": ["tenant-a", "tenant-b"]},
        admin={"listen": f"127.0.0.1:{admin_port}"},
        extra={"read": {"listen": f"127.0.0.1:{read_port}", "tenant_from": "header",
                        "routes": [{"path_prefix": "/api/prom/", "upstream": "cortex"}]}},
        log_level="info")
    ctx_a = gw.client_context(test_pki, "tenant-a")

    def query(tenant):
        def action():
            conn = http.client.HTTPConnection("127.0.0.1", read_port, timeout=15)
            try:
                conn.request("GET", f"/api/prom/api/v1/query?query=up&who={tenant}",
                             headers={"X-Scope-OrgID": tenant})
                r = conn.getresponse()
                body = r.read()
                if r.status == 200:
                    assert body == b"ok\n", body
                return r.status
            finally:
                conn.close()
        return action

    def push():
        return ingest.push_remote_write(g.port, ctx_a, ingest.samples_body(3)).status

    stop = threading.Event()
    workers = ([Worker(query("tenant-a"), stop) for _ in range(THREADS_PER_KIND)] +
               [Worker(query("tenant-b"), stop) for _ in range(THREADS_PER_KIND)] +
               [Worker(push, stop) for _ in range(THREADS_PER_KIND)])
    for w in workers:
        w.start()
    try:
        for flip in range(FLIPS):
            assert _admin(admin_port, "POST", "/api/v1/tenants/tenant-b/disable") == 200
            time.sleep(0.1)
            assert _admin(admin_port, "POST", "/api/v1/tenants/tenant-b/enable") == 200
            if flip % 2 == 0:
                g.config["server"]["idle_timeout"] = f"{100 + flip}s"
                g.write_config()
                assert _admin(admin_port, "POST", "/-/reload") == 200
            time.sleep(0.1)
    finally:
        stop.set()
        for w in workers:
            w.join(timeout=SECONDS_LIMIT + 10)
    assert not any(w.is_alive() for w in workers)

    reads_a, reads_b, pushes = workers[:3], workers[3:6], workers[6:]
    for w in workers:
        assert not w.errors, w.errors[:3]
    for w in reads_a + pushes:
        assert set(w.statuses) <= {200}, w.statuses
    for w in reads_b:
        assert set(w.statuses) <= {200, 503}, w.statuses
    ok = {t: sum(w.statuses.get(200, 0) for w in ws)
          for t, ws in (("tenant-a", reads_a), ("tenant-b", reads_b))}
    refused_b = sum(w.statuses.get(503, 0) for w in reads_b)
    assert ok["tenant-a"] > 0 and ok["tenant-b"] > 0, ok

    reads = [r for r in backend.requests if r.path.startswith("/api/prom/")]
    for tenant in ("tenant-a", "tenant-b"):
        mine = [r for r in reads if r.target.endswith(f"who={tenant}")]
        assert len(mine) == ok[tenant]
        assert all(r.header_all("X-Scope-OrgID") == [tenant] for r in mine)

    conn = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    assert _metric(text, "mla_gateway_requests_total", tenant="tenant-a",
                   route="/api/prom/") == ok["tenant-a"]
    assert _metric(text, "mla_gateway_rejected_requests_total", tenant="tenant-b",
                   reason="disabled") == refused_b
    assert _metric(text, "mla_gateway_requests_total", tenant="tenant-a",
                   route="/api/v1/push") == sum(w.statuses.get(200, 0) for w in pushes)
