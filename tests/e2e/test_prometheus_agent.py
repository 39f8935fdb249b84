"""End to end with real Prometheus: an agent (Debian prometheus 2.42, agent mode) remote-writes
over mTLS through the gateway into a Prometheus remote-write receiver. An agent holding a
certificate from the wrong CA gets nothing through."""

import shutil
import time
import types

import pytest

from support import gateway as gw
from support import processes

pytestmark = pytest.mark.skipif(shutil.which("prometheus") is None,
                                reason="Debian's prometheus is not installed")


@pytest.fixture(scope="module")
def env(module_gateways, test_pki, tmp_path_factory):
    """Receiver Prometheus <- gateway (route /api/v1/write, prometheus_remote_write)."""
    tmp = tmp_path_factory.mktemp("prom-e2e")
    receiver = processes.Prometheus(tmp / "receiver", processes.receiver_config(), agent=False,
                                    receiver=True).start()
    routes = [{"path": "/api/v1/write", "kind": "prometheus_remote_write",
               "upstream": "receiver"}]
    g = module_gateways.start({"receiver": {"url": receiver.url, "timeout": "30s"}},
                              routes=routes, log_level="debug")
    agents = []
    yield types.SimpleNamespace(gw=g, receiver=receiver, pki=test_pki, tmp=tmp, agents=agents)
    for a in agents:
        a.stop()
        print(f"--- agent {a.workdir} log tail:\n" + "\n".join(a.log_text().splitlines()[-25:]))
    receiver.stop()


def _start_agent(env, name, leaf, ca_file=None, gateway=None, http2=False):
    port = gw.free_port()
    cfg = processes.agent_config(
        port, f"https://127.0.0.1:{(gateway or env.gw).port}/api/v1/write",
        tls={"ca_file": ca_file or env.pki.ca.cert_file, "cert_file": leaf.cert_file,
             "key_file": leaf.key_file, "server_name": "localhost"},
        external_labels={"agent": name})
    cfg["remote_write"][0]["enable_http2"] = http2
    agent = processes.Prometheus(env.tmp / name, cfg, agent=True, port=port)
    env.agents.append(agent)
    return agent.start()


def test_agent_series_arrive_through_gateway(env):
    """An agent with a valid client cert pushes its own metrics through the gateway; the
    receiver can query them (up and prometheus_build_info with the agent's external label)."""
    _start_agent(env, "good", env.pki.clients["tenant-a"])
    result = gw.wait_until(
        lambda: processes.prom_query(env.receiver.url, 'up{agent="good"}'), timeout=60,
        interval=0.5, what="agent series at the receiver")
    assert result[0]["metric"]["job"] == "self"
    assert processes.prom_query(env.receiver.url, 'prometheus_build_info{agent="good"}')
    # Several batches went through (pooled, kept-alive), none failed.
    gw.wait_until(lambda: processes.prom_query(
        env.receiver.url, 'count_over_time(up{agent="good"}[1m]) >= 3'), timeout=30,
        interval=0.5, what="three scrapes of the agent at the receiver")


def test_agent_over_http2(env, module_gateways):
    """With server.http2 on and the agent's enable_http2, Prometheus's own Go HTTP/2 client
    remote-writes through the gateway: the series arrive and the gateway logged the requests as
    HTTP/2 (the upstream side stays HTTP/1.1)."""
    routes = [{"path": "/api/v1/write", "kind": "prometheus_remote_write",
               "upstream": "receiver"}]
    g2 = module_gateways.start({"receiver": {"url": env.receiver.url, "timeout": "30s"}},
                               routes=routes, server={"http2": True}, log_level="debug")
    _start_agent(env, "h2", env.pki.clients["tenant-a"], gateway=g2, http2=True)
    gw.wait_until(lambda: processes.prom_query(env.receiver.url, 'up{agent="h2"}'), timeout=60,
                  interval=0.5, what="the HTTP/2 agent's series at the receiver")
    forwarded = [line for line in g2.log_text().splitlines() if "msg=request " in line]
    assert forwarded, "no forwarded request in the gateway log"
    assert all("protocol=HTTP/2" in line for line in forwarded), forwarded[:3]


def test_agent_with_wrong_ca_gets_nothing_through(env):
    """An agent whose client cert comes from an unrelated CA is refused at the handshake
    (logged by the gateway) and none of its series reach the receiver."""
    offset = env.gw.log_size()
    agent = _start_agent(env, "foreign", env.pki.clients["foreign"])
    gw.wait_until(lambda: "handshake" in env.gw.log_since(offset).lower(), timeout=45,
                  interval=0.5, what="a handshake failure in the gateway log")
    # The agent keeps retrying; give it a few more rounds (max_backoff is 1 s), then check.
    gw.wait_until(lambda: env.gw.log_since(offset).lower().count("handshake") >= 3, timeout=30,
                  interval=0.5, what="repeated handshake failures")
    time.sleep(2)
    assert processes.prom_query(env.receiver.url, '{agent="foreign"}') == []
    assert agent.proc.poll() is None, "the agent should keep running (and retrying)"
