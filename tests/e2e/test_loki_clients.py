"""End to end with real Loki clients: npm `winston-loki` (protobuf+snappy, and `json: true`) and
`pino-loki` (JSON over fetch/undici) push logs over mTLS through the gateway into a recording
Loki-compatible backend that decodes them. The lines and bytes the gateway counted equal what the
backend decoded, and a spoofed X-Scope-OrgID header or tenant label changes nothing: the backend
sees the certificate's tenant."""

import json
import os
import shutil
import subprocess
import types
import uuid

import pytest

from support import gateway as gw
from support import ingest
from support.loki_backend import LokiBackend

CLIENTS_DIR = gw.SOURCE_DIR / "tests" / "e2e" / "loki-clients"
LOKI = "/loki/api/v1/push"
NPM_CI_TIMEOUT = 300


def _ensure_node_modules():
    """Skip without node/npm; run `npm ci` (bounded) when node_modules is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node and npm are needed for the Loki client tests (apt-get install nodejs npm)"
        print(reason)
        pytest.skip(reason)
    if not (CLIENTS_DIR / "node_modules" / "winston-loki").is_dir() or \
            not (CLIENTS_DIR / "node_modules" / "pino-loki").is_dir() or \
            not (CLIENTS_DIR / "node_modules" / "undici").is_dir():
        try:
            proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENTS_DIR,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=NPM_CI_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"npm ci did not finish within {NPM_CI_TIMEOUT}s in {CLIENTS_DIR}")
        assert proc.returncode == 0, f"npm ci failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
    return node


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    """Gateway (debug log, no log limits) -> recording Loki backend."""
    node = _ensure_node_modules()
    loki = LokiBackend().start()
    g = ingest.start_gateway(
        module_gateways, {"loki": {"url": loki.url, "timeout": "30s"}},
        routes=[{"path": LOKI, "kind": "loki_push", "upstream": "loki"}],
        limits={"defaults": {"logs": {"bytes_per_second": 0, "burst_bytes": 0}}})
    yield types.SimpleNamespace(gw=g, loki=loki, pki=test_pki, node=node)
    loki.stop()


def _run_client(env, client, cert_name, spoof, count, rounds):
    leaf = env.pki.clients[cert_name]
    run = uuid.uuid4().hex[:12]
    cfg = {"client": client, "url": f"https://127.0.0.1:{env.gw.port}", "cert": leaf.cert_file,
           "key": leaf.key_file, "ca": env.pki.ca.cert_file, "count": count, "rounds": rounds,
           "run": run, "spoof": spoof}
    proc = subprocess.run([env.node, "push-logs.js", json.dumps(cfg)], cwd=CLIENTS_DIR,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90,
                          env={**os.environ, "NODE_NO_WARNINGS": "1"})
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "{}"
    assert proc.returncode == 0, (f"{client} exited {proc.returncode}: {summary}\n"
                                  f"{proc.stderr[-3000:]}")
    assert json.loads(summary)["sent"] == count, summary
    return run


@pytest.mark.parametrize("client,cert_name,spoof,content_type", [
    ("winston-proto", "tenant-a", "tenant-b", "application/x-protobuf"),
    ("winston-json", "tenant-b", "tenant-a", "application/json"),
    ("pino", "tenant-a", "tenant-b", "application/json"),
])
def test_client_lines_and_bytes_match_and_tenant_is_the_certificate(env, client, cert_name,
                                                                    spoof, content_type):
    """60 lines in 3 flushed batches (UTF-8, escapes, 2 KB lines, structured metadata where the
    client sends it): the backend decodes all 60 lines of the run; per request and in total the
    gateway's lines/log_bytes equal the backend's; X-Scope-OrgID is the certificate's tenant
    although the client sent X-Scope-OrgID and a `tenant` label naming another one."""
    env.loki.reset()
    offset = env.gw.log_size()
    run = _run_client(env, client, cert_name, spoof, count=60, rounds=3)

    pushes = env.loki.decoded()
    assert len(pushes) >= 3, [p.request.headers for p in pushes]
    for p in pushes:
        assert p.error is None, p.error
        assert p.tenant_headers == [cert_name], p.request.headers
        assert (p.request.header("Content-Type") or "").startswith(content_type)
        for s in p.streams:  # the body is untouched: the spoofed label is still there
            assert f'tenant="{spoof}"' in s.labels, s.labels
    entries = [e for p in pushes for s in p.streams for e in s.entries]
    assert len(entries) == 60
    assert all(f"run={run} ".encode() in e.line for e in entries)
    backend_lines, backend_bytes = env.loki.totals()

    def all_logged():
        recs = ingest.forwarded(env.gw.log_since(offset), route=LOKI)
        return recs if len(recs) >= len(pushes) else None

    recs = gw.wait_until(all_logged, timeout=10, what="the gateway's debug lines for every push")
    assert all(r["status"] == "204" for r in recs), recs
    assert len(recs) == len(pushes), recs
    assert all(r["tenant"] == cert_name for r in recs), recs
    gateway_lines = sum(int(r["lines"]) for r in recs)
    gateway_bytes = sum(int(r["log_bytes"]) for r in recs)
    per_request_gateway = sorted((int(r["bytes"]), int(r["lines"]), int(r["log_bytes"]))
                                 for r in recs)
    per_request_backend = sorted((len(p.request.body), p.lines, p.bytes) for p in pushes)
    assert per_request_gateway == per_request_backend
    assert (gateway_lines, gateway_bytes) == (backend_lines, backend_bytes) == \
        (60, backend_bytes)
    assert not env.loki.totals(spoof)[0], "a push landed under the spoofed tenant"
    print(f"{client}: {len(pushes)} pushes, {backend_lines} lines, {backend_bytes} bytes")


def test_structured_metadata_is_counted(env):
    """pino-loki sends its `meta` object as structured metadata: the gateway's log_bytes equal
    the backend's line + metadata bytes, which is more than the line bytes alone."""
    env.loki.reset()
    offset = env.gw.log_size()
    _run_client(env, "pino", "tenant-a", "tenant-a", count=5, rounds=1)
    pushes = env.loki.decoded()
    entries = [e for p in pushes for s in p.streams for e in s.entries]
    assert entries and all(e.metadata for e in entries), entries[:1]
    line_bytes = sum(len(e.line) for e in entries)
    recs = gw.wait_until(lambda: ingest.forwarded(env.gw.log_since(offset), route=LOKI),
                         timeout=5, what="the gateway's debug line")
    assert sum(int(r["log_bytes"]) for r in recs) == env.loki.totals()[1] > line_bytes
