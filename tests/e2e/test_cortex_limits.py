"""End to end with the real Cortex 1.15.3 and per-tenant limits on both sides: where the
gateway's limit is the lower one it answers 429 first and Cortex discards nothing; where
Cortex's own limit (runtime.yaml overrides) is lower, Cortex's 429 and message reach the client
unchanged."""

import re
import types
import urllib.error
import urllib.request

import pytest

from support import gateway as gw
from support import ingest
from support import processes
from support import remote_write as rw

RUN_SH = gw.SHARED_DIR / "backends" / "cortex" / "run.sh"
PUSH = "/api/v1/push"

# Cortex side (runtime.yaml): tenant-a 50 samples/s burst 200, i.e. above the gateway's limit
# for it but low enough that Cortex itself would refuse the traffic the gateway lets through if
# the gateway did not limit; tenant-b 10/s burst 10, far below the gateway's.
RUNTIME_YAML = """overrides:
  tenant-a:
    ingestion_rate: 50
    ingestion_burst_size: 200
  tenant-b:
    ingestion_rate: 10
    ingestion_burst_size: 10
"""
GATEWAY_LIMITS = {
    "defaults": {"metrics": {"samples_per_second": 1_000_000, "burst_samples": 1_000_000}},
    "overrides": {"tenant-a": {"metrics": {"samples_per_second": 10, "burst_samples": 100}}},
}


@pytest.fixture(scope="module")
def env(module_gateways, test_pki, tmp_path_factory):
    if not RUN_SH.is_file():
        reason = f"Cortex backend not available: {RUN_SH} is missing"
        print(reason)
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("cortex-limits")
    data = tmp / "cortex"
    data.mkdir()
    (data / "runtime.yaml").write_text(RUNTIME_YAML)
    cortex = processes.Cortex(RUN_SH, data).start()
    try:
        g = ingest.start_gateway(
            module_gateways, {"cortex": {"url": cortex.url, "timeout": "30s"}},
            routes=[{"path": PUSH, "kind": "prometheus_remote_write", "upstream": "cortex"}],
            limits=GATEWAY_LIMITS)
        yield types.SimpleNamespace(gw=g, cortex=cortex, pki=test_pki)
    finally:
        cortex.stop()
        print("--- cortex log tail:\n" + "\n".join(cortex.log_text().splitlines()[-20:]))


def _cortex_metric(env, name, **labels):
    """Sum of Cortex's own metric NAME over series whose labels include LABELS."""
    status, body = processes.http_get(f"{env.cortex.url}/metrics")
    assert status == 200
    total = 0.0
    for line in body.decode().splitlines():
        m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        series = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        if all(series.get(k) == v for k, v in labels.items()):
            total += float(m.group(3))
    return total


def _push(env, client, samples, metric):
    return ingest.push_remote_write(env.gw.port, gw.client_context(env.pki, client),
                                    ingest.samples_body(samples, metric=metric))


def test_gateway_limit_below_cortex_answers_first(env):
    """tenant-a: gateway 10/s burst 100, Cortex 50/s burst 200. Five quick 100-sample pushes:
    the first is stored, the others get the gateway's 429 (its own message) and never reach
    Cortex, so Cortex received 100 samples and discarded none."""
    statuses = []
    for i in range(5):
        r = _push(env, "tenant-a", 100, f"mla_limits_a_{i}")
        statuses.append(r.status)
        if r.status == 429:
            assert "ingestion rate limit (10 samples/s, burst 100)" in r.text, r.text
            assert int(r.header("Retry-After")) >= 1
    assert statuses == [200, 429, 429, 429, 429], statuses
    received = gw.wait_until(
        lambda: _cortex_metric(env, "cortex_distributor_received_samples_total",
                               user="tenant-a"), timeout=10, what="tenant-a samples in Cortex")
    assert received == 100
    assert _cortex_metric(env, "cortex_discarded_samples_total", user="tenant-a") == 0
    found = env.cortex.query("tenant-a", "count({__name__=~\"mla_limits_a_.*\"})")
    assert found and float(found[0]["value"][1]) == 1, found  # one series, from the first push


def test_cortex_limit_below_gateway_passes_cortex_429_unchanged(env):
    """tenant-b: gateway 1M/s, Cortex 10/s burst 10. A 50-sample push passes the gateway and
    Cortex refuses it: the client gets Cortex's 429 and exactly the body Cortex gives for the
    same push sent to it directly; Cortex counts the samples as rate-limited discards."""
    body = ingest.samples_body(50, metric="mla_limits_b")
    r = ingest.push_remote_write(env.gw.port, gw.client_context(env.pki, "tenant-b"), body)
    assert r.status == 429, (r.status, r.text)
    assert "ingestion rate limit (10) exceeded while adding 50 samples" in r.text, r.text
    assert "samples/s, burst" not in r.text, "this is the gateway's message, not Cortex's"
    recs = ingest.forwarded(env.gw.log_text(), tenant="tenant-b")
    assert recs and recs[-1]["status"] == "429" and recs[-1]["samples"] == "50", recs

    direct = urllib.request.Request(f"{env.cortex.url}{PUSH}", data=body, method="POST",
                                    headers={**rw.REMOTE_WRITE_HEADERS,
                                             "X-Scope-OrgID": "tenant-b"})
    try:
        with urllib.request.urlopen(direct, timeout=10) as resp:
            direct_status, direct_body, direct_type = (resp.status, resp.read(),
                                                       resp.headers.get("Content-Type"))
    except urllib.error.HTTPError as e:
        direct_status, direct_body, direct_type = e.code, e.read(), e.headers.get("Content-Type")
    assert (r.status, r.body) == (direct_status, direct_body)
    assert r.header("Content-Type") == direct_type
    discarded = _cortex_metric(env, "cortex_discarded_samples_total", user="tenant-b",
                               reason="rate_limited")
    assert discarded >= 100, discarded  # the gateway's push and the direct one
    assert env.cortex.query("tenant-b", "mla_limits_b") == []
