"""End to end with a real Prometheus server (Debian prometheus 2.42) scraping the gateway's admin
/metrics over loopback every second (DESIGN.md §6 `GET /metrics`, §7 metric names): after pushes
through the gateway (tenant-a: three admitted 10-sample pushes, one rate-limited push and one
404; tenant-b: one 5-sample push), Prometheus's query API shows the target up with a clean
scrape, the metric types from the gateway's # TYPE lines, and the request, sample, byte,
rejection and upstream counters with exactly the values the traffic implies."""

from __future__ import annotations

import json
import shutil
import time
import types
import urllib.parse

import pytest

from support import gateway as gw
from support import ingest
from support import processes

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="Debian's prometheus is not installed")

JOB = "mla-gateway-admin"
P = "mla_gateway_"


def _start_gateway(pool: gw.GatewayPool, backend_url: str) -> gw.Gateway:
    """Gateway with the admin listener on a free port and tenant-a limited to 1 sample/s with a
    burst of 30 (so a fourth 10-sample push right after three is refused). Retried on a port
    race (data or admin port)."""
    for attempt in range(3):
        port, admin_port = gw.free_port(), gw.free_port()
        cfg = gw.gateway_config(pool.pki, port, {"cortex": backend_url, "loki": backend_url},
                                admin={"listen": f"127.0.0.1:{admin_port}"})
        cfg["limits"] = {"limited_status": 429, "overrides": {
            "tenant-a": {"metrics": {"samples_per_second": 1, "burst_samples": 30}}}}
        try:
            g = pool.start({}, raw_config=gw.to_yaml(cfg) + "\n", port=port)
            g.admin_port = admin_port
            return g
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def env(module_gateways, test_pki, tmp_path_factory):
    """Recording backend <- gateway (admin on loopback) <- scraped by a Prometheus server."""
    from support.recording_backend import RecordingBackend

    backend = RecordingBackend().start()
    g = _start_gateway(module_gateways, backend.url)
    tmp = tmp_path_factory.mktemp("prom-scrape")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": JOB,
                            "static_configs": [{"targets": [f"127.0.0.1:{g.admin_port}"]}]}],
    }
    prom = processes.Prometheus(tmp / "prometheus", config, agent=False)
    try:
        prom.start()
    except Exception:
        backend.stop()
        raise
    yield types.SimpleNamespace(gw=g, prom=prom, backend=backend, pki=test_pki)
    prom.stop()
    print("--- prometheus log tail:\n" + "\n".join(prom.log_text().splitlines()[-25:]))
    backend.stop()


def _api(env, path: str, params: dict | None = None) -> dict:
    url = f"{env.prom.url}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    status, body = processes.http_get(url)
    assert status == 200, (status, body[:500])
    data = json.loads(body)
    assert data["status"] == "success", data
    return data["data"]


def _value(env, query: str) -> float | None:
    """The single value of an instant query (None when it returns nothing)."""
    result = processes.prom_query(env.prom.url, query)
    if not result:
        return None
    assert len(result) == 1, (query, result)
    return float(result[0]["value"][1])


def _sel(metric: str, **labels: str) -> str:
    body = ",".join([f'job="{JOB}"'] + [f'{k}="{v}"' for k, v in labels.items()])
    return f"{P}{metric}{{{body}}}"


@pytest.fixture(scope="module")
def traffic(env):
    """Send the traffic once; returns the byte count of the admitted tenant-a bodies. Then wait
    until Prometheus holds a scrape that started after the last request was answered."""
    ctx_a = gw.client_context(env.pki, "tenant-a")
    ctx_b = gw.client_context(env.pki, "tenant-b")
    admitted_bytes = 0
    for i in range(3):
        body = ingest.samples_body(10, series=2, labels={"push": str(i)})
        r = ingest.push_remote_write(env.gw.port, ctx_a, body)
        assert r.status == 200, r.text
        admitted_bytes += len(body)
    r = ingest.push_remote_write(env.gw.port, ctx_a, ingest.samples_body(10))
    assert r.status == 429, r.text
    assert gw.https_request(env.gw.port, ctx_a, "POST", "/nowhere", b"").status == 404
    r = ingest.push_remote_write(env.gw.port, ctx_b, ingest.samples_body(5))
    assert r.status == 200, r.text
    assert len(env.backend.requests) == 4
    done = time.time()
    gw.wait_until(lambda: (_value(env, f'timestamp(up{{job="{JOB}"}})') or 0) > done + 0.2,
                  timeout=30, interval=0.25, what="a scrape after the traffic")
    return types.SimpleNamespace(admitted_bytes=admitted_bytes)


def test_target_up_and_scrape_clean(env, traffic):
    """The admin endpoint is an `up` target (up == 1) whose last scrape has no error and yields
    samples; Prometheus took the gateway's # TYPE lines (counter, gauge, histogram)."""
    assert _value(env, f'up{{job="{JOB}"}}') == 1
    assert _value(env, f'scrape_samples_scraped{{job="{JOB}"}}') > 20
    targets = _api(env, "targets", {"state": "active"})["activeTargets"]
    mine = [t for t in targets if t["labels"].get("job") == JOB]
    assert len(mine) == 1, targets
    assert mine[0]["health"] == "up" and mine[0]["lastError"] == "", mine[0]
    assert mine[0]["scrapeUrl"] == f"http://127.0.0.1:{env.gw.admin_port}/metrics"
    meta = _api(env, "targets/metadata", {"match_target": f'{{job="{JOB}"}}'})
    types_ = {m["metric"]: m["type"] for m in meta}
    assert types_.get(P + "requests_total") == "counter", types_
    assert types_.get(P + "received_samples_total") == "counter", types_
    assert types_.get(P + "open_connections") == "gauge", types_
    assert types_.get(P + "request_duration_seconds") == "histogram", types_
    assert types_.get(P + "certificate_expiry_timestamp_seconds") == "gauge", types_


def test_request_counters_for_tenant_a(env, traffic):
    """requests_total counts tenant-a's three 200s, the 429 and the 404 under their routes and
    codes; received_samples_total counts only admitted samples (30 of tenant-a, 5 of tenant-b)."""
    assert _value(env, _sel("requests_total", tenant="tenant-a", route="/api/v1/push",
                            code="200")) == 3
    assert _value(env, _sel("requests_total", tenant="tenant-a", route="/api/v1/push",
                            code="429")) == 1
    assert _value(env, _sel("requests_total", tenant="tenant-a", route="none", code="404")) == 1
    assert _value(env, f'sum({_sel("requests_total", tenant="tenant-a")})') == 5
    assert _value(env, _sel("received_samples_total", tenant="tenant-a")) == 30
    assert _value(env, _sel("received_samples_total", tenant="tenant-b")) == 5
    assert _value(env, _sel("received_log_lines_total", tenant="tenant-a")) == 0


def test_bytes_rejections_and_upstream_counters(env, traffic):
    """received_bytes_total is the sum of tenant-a's admitted bodies as sent; the 429 is a
    rate_limited rejection (other reasons 0); the upstream saw four 200s; tenant-a is enabled;
    the config reload status is 1; request durations were observed for every push."""
    assert (_value(env, _sel("received_bytes_total", tenant="tenant-a", route="all"))
            == traffic.admitted_bytes)
    assert _value(env, _sel("rejected_requests_total", tenant="tenant-a", route="all",
                            reason="rate_limited")) == 1
    others = _value(env, f'sum({P}rejected_requests_total{{job="{JOB}",tenant="tenant-a",'
                         f'reason!="rate_limited"}})')
    assert others == 0
    assert _value(env, _sel("upstream_requests_total", upstream="cortex", code="200")) == 4
    assert _value(env, _sel("upstream_duration_seconds_count", upstream="cortex")) == 4
    assert _value(env, _sel("tenant_enabled", tenant="tenant-a")) == 1
    assert _value(env, _sel("config_last_reload_successful")) == 1
    assert _value(env, _sel("request_duration_seconds_count", route="/api/v1/push")) >= 4
    cert = env.pki.server.cert_file
    assert _value(env, _sel("certificate_expiry_timestamp_seconds", file=cert)) > time.time()
