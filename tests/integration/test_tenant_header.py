"""Tenant derivation from the client certificate and the tenant header sent upstream
(DESIGN.md §3 `tenant`, §4): the client's X-Scope-OrgID never reaches the upstream."""

import types

import pytest

from support import gateway as gw
from support import remote_write as rw
from support.recording_backend import RecordingBackend


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    """Gateway with tenant.source subject_cn; cortex and loki are separate recording backends."""
    cortex = RecordingBackend().start()
    loki = RecordingBackend().start()
    g = module_gateways.start({"cortex": cortex.url, "loki": loki.url})
    yield types.SimpleNamespace(gw=g, cortex=cortex, loki=loki, pki=test_pki)
    cortex.stop()
    loki.stop()


@pytest.fixture(autouse=True)
def _fresh_backends(env):
    env.cortex.reset()
    env.loki.reset()


def _push(port, test_pki, client, headers=(), path="/api/v1/push", body=None):
    hdrs = list(rw.REMOTE_WRITE_HEADERS.items()) + list(headers)
    return gw.https_request(port, gw.client_context(test_pki, client), "POST", path,
                            body if body is not None else rw.remote_write_body(), hdrs)


@pytest.mark.parametrize("client", ["tenant-a", "tenant-b"])
def test_tenant_header_is_the_certificate_cn(env, client):
    """With source subject_cn the upstream gets exactly one X-Scope-OrgID: the client's CN."""
    r = _push(env.gw.port, env.pki, client)
    assert r.status == 200, r.text
    req = env.cortex.wait_for_requests(1, timeout=5)[0]
    assert req.header_all("X-Scope-OrgID") == [client]


@pytest.mark.parametrize("spoof", [
    [("X-Scope-OrgID", "tenant-b")],
    [("x-scope-orgid", "tenant-b")],
    [("X-SCOPE-ORGID", "tenant-b")],
    [("X-Scope-OrgID", "tenant-b"), ("X-Scope-OrgID", "tenant-c")],
    [("X-Scope-OrgID", "tenant-a|tenant-b")],
    [("X-Scope-OrgID", "")],
], ids=["canonical", "lower", "upper", "twice", "multi-tenant-syntax", "empty"])
def test_client_tenant_header_is_replaced(env, spoof):
    """Any client-sent X-Scope-OrgID (any case, repeated, multi-tenant syntax) is replaced."""
    r = _push(env.gw.port, env.pki, "tenant-a", headers=spoof)
    assert r.status == 200, r.text
    req = env.cortex.wait_for_requests(1, timeout=5)[0]
    assert req.header_all("X-Scope-OrgID") == ["tenant-a"], req.headers


def test_tenant_header_replaced_on_passthrough_route(env):
    """The replacement also applies on passthrough (uninspected) routes."""
    r = gw.https_request(env.gw.port, gw.client_context(env.pki, "tenant-b"), "POST",
                         "/raw/x", b"data", [("X-Scope-OrgID", "tenant-a")])
    assert r.status == 200
    assert env.cortex.wait_for_requests(1, 5)[0].header_all("X-Scope-OrgID") == ["tenant-b"]


@pytest.mark.parametrize("client", ["no-cn", "bad-cn", "dot-cn"])
def test_certificate_without_valid_tenant_is_forbidden(env, client):
    """A certificate with no CN, or a CN that is not a valid tenant ID, gets 403 and no upstream."""
    r = _push(env.gw.port, env.pki, client, headers=[("X-Scope-OrgID", "tenant-a")])
    assert r.status == 403, r.text
    assert gw.one_line_reason(r.body), r.body
    assert env.cortex.requests == []


def test_route_clients_admit_listed_cn(env):
    """The Loki route's `clients: [logging-agent]` admits the logging-agent certificate."""
    body = rw.loki_json_body()
    r = gw.https_request(env.gw.port, gw.client_context(env.pki, "logging-agent"), "POST",
                         "/loki/api/v1/push", body, [("Content-Type", "application/json")])
    assert r.status == 200, r.text
    req = env.loki.wait_for_requests(1, 5)[0]
    assert req.body == body and req.header_all("X-Scope-OrgID") == ["logging-agent"]
    assert env.cortex.requests == []


def test_route_clients_admit_listed_san_dns(env):
    """`clients` also matches a SAN DNS name: CN=other-agent with SAN DNS logging-agent is let
    in (its tenant is still its CN)."""
    r = gw.https_request(env.gw.port, gw.client_context(env.pki, "dns-agent"), "POST",
                         "/loki/api/v1/push", rw.loki_json_body(),
                         [("Content-Type", "application/json")])
    assert r.status == 200, r.text
    assert env.loki.wait_for_requests(1, 5)[0].header_all("X-Scope-OrgID") == ["other-agent"]


@pytest.mark.parametrize("client", ["tenant-a", "tenant-b"])
def test_route_clients_refuse_other_cn(env, client):
    """A valid client whose CN is not in the route's `clients` gets 403; Loki sees nothing."""
    r = gw.https_request(env.gw.port, gw.client_context(env.pki, client), "POST",
                         "/loki/api/v1/push", rw.loki_json_body(),
                         [("Content-Type", "application/json")])
    assert r.status == 403, r.text
    assert gw.one_line_reason(r.body), r.body
    assert env.loki.requests == []


# Other tenant sources: one gateway per configuration.
SOURCES = [
    # (id, tenant config, [(client, expected tenant or 403)])
    ("fixed", {"source": "fixed", "fixed": "cluster-xyz"},
     [("tenant-a", "cluster-xyz"), ("tenant-b", "cluster-xyz")]),
    ("san_dns", {"source": "san_dns", "pattern": r"^([a-z0-9-]+)\.clusters\.example$"},
     [("san-dns", "tenant-d"), ("tenant-a", 403)]),
    ("san_uri", {"source": "san_uri", "pattern": r"^spiffe://cluster\.local/ns/([^/]+)/"},
     [("san-uri", "tenant-u"), ("tenant-a", 403)]),
    ("subject_ou", {"source": "subject_ou"}, [("ou", "team-ou"), ("tenant-a", 403)]),
    ("cn_pattern", {"source": "subject_cn", "pattern": r"^cluster-([a-z0-9]+)$"},
     [("pattern", "abc123"), ("tenant-a", 403)]),
    ("allowed", {"source": "subject_cn", "allowed": ["tenant-a"]},
     [("tenant-a", "tenant-a"), ("tenant-b", 403)]),
]


@pytest.mark.parametrize("tenant_cfg,cases", [s[1:] for s in SOURCES], ids=[s[0] for s in SOURCES])
def test_tenant_sources(gateways, backend, test_pki, tenant_cfg, cases):
    """Each tenant.source (with pattern / allowed) maps certificates to the expected tenant."""
    g = gateways.start({"cortex": backend.url, "loki": backend.url}, tenant=tenant_cfg)
    for client, expected in cases:
        backend.reset()
        r = _push(g.port, test_pki, client, headers=[("X-Scope-OrgID", "spoofed")])
        if expected == 403:
            assert r.status == 403, (client, r.status, r.text)
            assert gw.one_line_reason(r.body), r.body
            assert backend.requests == [], client
        else:
            assert r.status == 200, (client, r.status, r.text)
            req = backend.wait_for_requests(1, 5)[0]
            assert req.header_all("X-Scope-OrgID") == [expected], (client, req.headers)


def test_custom_tenant_header_name(gateways, backend, test_pki):
    """tenant.header renames the header: the upstream gets X-Tenant with the tenant, and a
    client-sent X-Tenant is replaced."""
    g = gateways.start({"cortex": backend.url, "loki": backend.url},
                       tenant={"header": "X-Tenant"})
    r = _push(g.port, test_pki, "tenant-a", headers=[("X-Tenant", "tenant-b")])
    assert r.status == 200, r.text
    req = backend.wait_for_requests(1, 5)[0]
    assert req.header_all("X-Tenant") == ["tenant-a"], req.headers
