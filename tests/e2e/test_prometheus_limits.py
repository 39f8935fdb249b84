"""End to end with real Prometheus and sample limits: a Debian prometheus agent remote-writes
over mTLS through the gateway into a `prometheus --web.enable-remote-write-receiver`. With a
generous limit the receiver appends exactly the samples the gateway counted; with a tight limit
it receives no more than rate x time + burst."""

import shutil
import time
import types

import pytest

from support import gateway as gw
from support import ingest
from support import processes

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="Debian's prometheus is not installed")

ROUTE = "/api/v1/write"
APPENDED = "prometheus_tsdb_head_samples_appended_total"


@pytest.fixture
def env(gateways, test_pki, tmp_path):
    """A fresh receiver per test; start(limits, queue_config) adds the gateway and the agent."""
    receiver = processes.Prometheus(tmp_path / "receiver", processes.receiver_config(),
                                    agent=False, receiver=True).start()
    agents = []
    ns = types.SimpleNamespace(receiver=receiver, agents=agents, gw=None, started_at=None)

    def start(limits, queue_config=None):
        ns.started_at = time.monotonic()
        ns.gw = ingest.start_gateway(
            gateways, {"receiver": {"url": receiver.url, "timeout": "30s"}},
            routes=[{"path": ROUTE, "kind": "prometheus_remote_write", "upstream": "receiver"}],
            limits=limits)
        leaf = test_pki.clients["tenant-a"]
        port = gw.free_port()
        cfg = processes.agent_config(
            port, f"https://127.0.0.1:{ns.gw.port}{ROUTE}",
            tls={"ca_file": test_pki.ca.cert_file, "cert_file": leaf.cert_file,
                 "key_file": leaf.key_file, "server_name": "localhost"},
            external_labels={"agent": "limits"})
        cfg["remote_write"][0]["queue_config"].update(queue_config or {})
        agent = processes.Prometheus(tmp_path / "agent", cfg, agent=True, port=port)
        agents.append(agent)
        agent.start()
        return agent

    ns.start = start
    yield ns
    for a in agents:
        a.stop()
        print(f"--- agent log tail:\n" + "\n".join(a.log_text().splitlines()[-20:]))
    receiver.stop()
    print(f"--- receiver log tail:\n" + "\n".join(receiver.log_text().splitlines()[-10:]))


def _forwarded_ok(env):
    return [r for r in ingest.forwarded(env.gw.log_text(), route=ROUTE)
            if r.get("status", "").startswith("2")]


def _settled_counts(env, timeout=15.0):
    """(samples the gateway counted on 2xx forwards, samples the receiver appended), once both
    have stopped moving (the agent is stopped before this is called)."""
    last = None
    deadline = time.monotonic() + timeout
    while True:
        now = (ingest.counted(env.gw.log_text(), "samples", route=ROUTE),
               env.receiver.metric_value(APPENDED))
        if now == last and now[0] == now[1]:
            return now
        if time.monotonic() >= deadline:
            return now
        last = now
        time.sleep(1.0)


def test_generous_limit_receiver_gets_exactly_what_the_gateway_counted(env):
    """Limit 1M samples/s: after at least 6 forwarded batches the agent is stopped; the
    receiver's appended-samples counter equals the sum of `samples=` over the gateway's
    forwarded requests, and nothing was refused."""
    agent = env.start({"defaults": {"metrics": {"samples_per_second": 1_000_000,
                                                "burst_samples": 1_000_000}}})
    gw.wait_until(lambda: len(_forwarded_ok(env)) >= 6, timeout=60, interval=0.5,
                  what="six forwarded remote-write batches")
    agent.stop()
    gateway_count, receiver_count = _settled_counts(env)
    log = env.gw.log_text()
    assert gateway_count > 0
    assert receiver_count == gateway_count, (receiver_count, gateway_count)
    assert "status=429" not in log
    assert all(r["tenant"] == "tenant-a" for r in ingest.forwarded(log, route=ROUTE))


def test_tight_limit_bounds_what_the_receiver_gets(env):
    """100 samples/s, burst 300, batches of at most 100 samples (the agent offers several
    hundred samples per second): the gateway refuses with 429, and the receiver gets no more
    than 100 x elapsed + 300 samples, exactly the ones the gateway counted as forwarded."""
    rate, burst = 100, 300
    agent = env.start({"defaults": {"metrics": {"samples_per_second": rate,
                                                "burst_samples": burst}}},
                      queue_config={"max_samples_per_send": 100, "max_shards": 4})
    gw.wait_until(lambda: "status=429" in env.gw.log_text(), timeout=60, interval=0.5,
                  what="a 429 from the gateway")
    time.sleep(8)  # let the agent keep pushing against the limit
    agent.stop()
    elapsed = time.monotonic() - env.started_at
    gateway_count, receiver_count = _settled_counts(env)
    assert receiver_count == gateway_count, (receiver_count, gateway_count)
    assert 0 < receiver_count <= rate * elapsed + burst, (receiver_count, elapsed)
    refused = env.gw.log_text().count("status=429")
    assert refused >= 1
    print(f"tight limit: {receiver_count:.0f} samples in {elapsed:.1f}s "
          f"(bound {rate * elapsed + burst:.0f}), {refused} refusals")
