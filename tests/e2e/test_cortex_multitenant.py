"""End to end with a real multi-tenant Cortex 1.15.3: two Prometheus agents with client
certificates CN=tenant-a and CN=tenant-b push through the gateway (tenant.source subject_cn);
agent A also sends a spoofed `X-Scope-OrgID: tenant-b`. Each tenant must see only its own series."""

import shutil
import types

import pytest

from support import gateway as gw
from support import processes
from support import remote_write as rw

RUN_SH = gw.SHARED_DIR / "backends" / "cortex" / "run.sh"


@pytest.fixture(scope="module")
def env(module_gateways, test_pki, tmp_path_factory):
    if not RUN_SH.is_file():
        reason = f"Cortex backend not available: {RUN_SH} is missing"
        print(reason)
        pytest.skip(reason)
    if shutil.which("prometheus") is None:
        pytest.skip("Debian's prometheus is not installed")
    tmp = tmp_path_factory.mktemp("cortex-e2e")
    cortex = processes.Cortex(RUN_SH, tmp / "cortex").start()
    agents = []
    try:
        routes = [{"path": "/api/v1/push", "kind": "prometheus_remote_write",
                   "upstream": "cortex"}]
        g = module_gateways.start({"cortex": {"url": cortex.url, "timeout": "30s"}},
                                  routes=routes, tenant={"source": "subject_cn"})
        url = f"https://127.0.0.1:{g.port}/api/v1/push"
        for name, client, headers in (("a", "tenant-a", {"X-Scope-OrgID": "tenant-b"}),
                                      ("b", "tenant-b", None)):
            leaf = test_pki.clients[client]
            port = gw.free_port()
            cfg = processes.agent_config(
                port, url, tls={"ca_file": test_pki.ca.cert_file, "cert_file": leaf.cert_file,
                                "key_file": leaf.key_file, "server_name": "localhost"},
                external_labels={"agent": name}, headers=headers)
            agent = processes.Prometheus(tmp / f"agent-{name}", cfg, agent=True, port=port)
            agents.append(agent)
            agent.start()
        yield types.SimpleNamespace(gw=g, cortex=cortex, pki=test_pki, agents=agents)
    finally:
        for a in agents:
            a.stop()
            print(f"--- agent {a.workdir} log tail:\n" +
                  "\n".join(a.log_text().splitlines()[-15:]))
        cortex.stop()
        print("--- cortex log tail:\n" + "\n".join(cortex.log_text().splitlines()[-20:]))


def _agents_seen(env, tenant):
    return {s["metric"].get("agent") for s in env.cortex.query(tenant, "up")}


def test_each_tenant_sees_only_its_own_agent(env):
    """tenant-a sees only agent a's series and tenant-b only agent b's, although agent a sent
    X-Scope-OrgID: tenant-b; a third tenant sees nothing."""
    gw.wait_until(lambda: "a" in _agents_seen(env, "tenant-a") and
                  "b" in _agents_seen(env, "tenant-b"),
                  timeout=60, interval=0.5, what="both agents' series in Cortex")
    assert _agents_seen(env, "tenant-a") == {"a"}
    assert _agents_seen(env, "tenant-b") == {"b"}
    assert env.cortex.query("tenant-c", "up") == []
    build_info = env.cortex.query("tenant-b", "prometheus_build_info")
    assert build_info and {s["metric"]["agent"] for s in build_info} == {"b"}


def test_manual_push_with_spoofed_header_lands_in_cert_tenant(env):
    """A hand-made remote-write push by CN=tenant-a carrying X-Scope-OrgID: tenant-b is stored
    under tenant-a only."""
    body = rw.remote_write_body("mla_e2e_manual_push", {"pushed_by": "tenant-a"}, value=42)
    r = gw.https_request(env.gw.port, gw.client_context(env.pki, "tenant-a"), "POST",
                         "/api/v1/push", body,
                         list(rw.REMOTE_WRITE_HEADERS.items()) + [("X-Scope-OrgID", "tenant-b")])
    assert r.status == 200, (r.status, r.text)
    found = gw.wait_until(lambda: env.cortex.query("tenant-a", "mla_e2e_manual_push"),
                          timeout=30, interval=0.5, what="manual series in tenant-a")
    assert float(found[0]["value"][1]) == 42
    assert env.cortex.query("tenant-b", "mla_e2e_manual_push") == []


def test_cortex_errors_pass_through(env):
    """Cortex's own 4xx for an out-of-bounds sample reaches the client as 4xx (never 5xx)."""
    body = rw.remote_write_body("mla_e2e_too_old", now_ms=1_000)  # 1970: far out of bounds
    r = gw.https_request(env.gw.port, gw.client_context(env.pki, "tenant-b"), "POST",
                         "/api/v1/push", body, rw.REMOTE_WRITE_HEADERS)
    assert 400 <= r.status < 500, (r.status, r.text)


def test_push_with_expect_100_continue(env):
    """A push sent with Expect: 100-continue (as curl does for large bodies) is stored; Cortex,
    a Go server, answers 100 Continue itself if the header is forwarded."""
    body = rw.remote_write_body("mla_e2e_expect", {"pushed_by": "tenant-b"})
    head = ("POST /api/v1/push HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in rw.REMOTE_WRITE_HEADERS.items())
            + f"Content-Length: {len(body)}\r\n\r\n").encode()
    with gw.RawTls(env.gw.port, gw.client_context(env.pki, "tenant-b")) as c:
        c.send(head)
        r = c.read_response(timeout=5)
        if r.status == 100:
            c.send(body)
            r, _ = c.read_final_response(timeout=10)
    assert r.status == 200, (r.status, r.headers, r.body)
    gw.wait_until(lambda: env.cortex.query("tenant-b", "mla_e2e_expect"), timeout=30,
                  interval=0.5, what="the Expect push in tenant-b")
