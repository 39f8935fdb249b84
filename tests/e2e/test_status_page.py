"""End to end through a real browser: headless Chromium (Debian package), driven by npm
`puppeteer-core` (tests/e2e/status-page/drive.js), opens the admin status page `GET /` of a real
gateway, finds tenant-a's row (the tenant pushed remote-write over mTLS first) and clicks Disable,
then Enable. Between the clicks the data plane answers tenant-a 503 + Retry-After without
forwarding, while tenant-b still passes. With `admin.token_file` set, the page's first POST gets
401, it prompts for the token, keeps it and retries once with `Authorization: Bearer`.

Dependencies: scripts/install-browser-test-deps.sh. Missing ones skip the test, except under CI
(CI=true), where they fail it."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import types

import pytest

from support import gateway as gw
from support import ingest

DRIVER_DIR = gw.SOURCE_DIR / "tests" / "e2e" / "status-page"
CHROMIUM = os.environ.get("MLA_CHROMIUM", "/usr/bin/chromium")
DRIVE_BUDGET_MS = 60000  # drive.js's own deadline for a whole run
DRIVE_TIMEOUT = 90  # ours, in seconds: only if drive.js fails to honour its own
TOKEN = "e2e-admin-token-0123456789"


def _node() -> str:
    """node, once Chromium and the driver's node_modules are there; skip (fail under CI) if not."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node (apt-get install nodejs)")
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"{CHROMIUM} (apt-get install chromium)")
    if not (DRIVER_DIR / "node_modules" / "puppeteer-core" / "package.json").is_file():
        missing.append(f"{DRIVER_DIR}/node_modules (npm ci)")
    if missing:
        reason = ("the status page browser test needs " + ", ".join(missing) +
                  "; run scripts/install-browser-test-deps.sh")
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail(reason + " (CI=true: missing dependencies fail, not skip)")
        print(reason)
        pytest.skip(reason)
    return node


@pytest.fixture
def env(gateways, backend, test_pki):
    """A function that starts a gateway with its admin listener on a free loopback port (extra
    `admin` keys merged in), plus the client contexts of tenant-a and tenant-b."""
    node = _node()

    def start(**admin_extra):
        for attempt in range(3):
            admin_port = gw.free_port()
            try:
                g = gateways.start({"cortex": backend.url, "loki": backend.url},
                                   admin={"listen": f"127.0.0.1:{admin_port}", **admin_extra})
                g.admin_port = admin_port
                g.admin_url = f"http://127.0.0.1:{admin_port}/"
                return g
            except gw.GatewayError as e:
                if "address already in use" not in str(e).lower() or attempt == 2:
                    raise
        raise AssertionError("unreachable")

    return types.SimpleNamespace(start=start, node=node, backend=backend,
                                 a=gw.client_context(test_pki, "tenant-a"),
                                 b=gw.client_context(test_pki, "tenant-b"))


def _admin(g, method: str, path: str, headers: dict | None = None):
    """(status, headers with lower-case names, body text) of one admin request."""
    conn = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode()
    finally:
        conn.close()


def _tenant(g, name: str) -> dict | None:
    status, _, body = _admin(g, "GET", "/api/v1/tenants")
    assert status == 200, body
    return next((t for t in json.loads(body)["tenants"] if t["tenant"] == name), None)


def _push(g, context) -> gw.Response:
    return ingest.push_remote_write(g.port, context, ingest.samples_body(10, series=2))


def _drive(env, g, tenant: str, enable: bool = False, token: str | None = None) -> dict:
    """Run drive.js; its last stdout line is the JSON of what it saw (printed for the log)."""
    cmd = [env.node, "drive.js", *(["--enable"] if enable else []), g.admin_url, tenant,
           *([token] if token else [])]
    try:
        proc = subprocess.run(gw.orphan_guard() + cmd, cwd=DRIVER_DIR, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=DRIVE_TIMEOUT,
                              env={**os.environ, "NODE_NO_WARNINGS": "1",
                                   "MLA_CHROMIUM": CHROMIUM,
                                   "MLA_DRIVE_TIMEOUT_MS": str(DRIVE_BUDGET_MS)})
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"drive.js ran over {DRIVE_TIMEOUT}s: {e.stdout!r} {e.stderr!r}")
    print(proc.stdout)
    assert proc.returncode == 0, (f"drive.js exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
                                  f"{proc.stderr[-3000:]}")
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen["page_errors"] == [], seen
    return seen


def _assert_passes(env, context):
    before = len(env.backend.requests)
    r = _push(g=env.g, context=context)
    assert r.status == 200, r.text
    assert len(env.backend.requests) == before + 1


def _assert_refused(env, context):
    before = len(env.backend.requests)
    r = _push(g=env.g, context=context)
    assert r.status == 503, r.text
    retry = ingest.retry_after(r)
    assert retry is not None and retry >= 1, r.headers
    assert "disabled" in r.text, r.text
    assert len(env.backend.requests) == before, "a disabled tenant's request reached the backend"


def test_disable_and_enable_from_the_status_page(env):
    """tenant-a pushes, so the page lists it; clicking Disable (reason "e2e test") makes the data
    plane answer tenant-a 503 + Retry-After while tenant-b passes; clicking Enable lets tenant-a
    through again. No token is configured, so no token prompt appears."""
    g = env.g = env.start()
    _assert_passes(env, env.a)
    _assert_passes(env, env.b)

    seen = _drive(env, g, "tenant-a")
    assert seen["before"]["data_enabled"] == "true", seen["before"]
    assert seen["after"]["data_enabled"] == "false", seen["after"]
    assert seen["after"]["enabled"] == "disabled"
    assert seen["after"]["disabled_reason"] == "e2e test"
    assert seen["after"]["action"] == "enable"
    assert [d["message"] for d in seen["dialogs"]] == [
        "Disable tenant tenant-a? Reason (optional):"]
    assert [(p["path"], p["status"]) for p in seen["posts"]] == [
        ("/api/v1/tenants/tenant-a/disable", 200)]
    assert seen["error_line"] == ""
    assert seen["header"]["ready"] == "ready"
    api = _tenant(g, "tenant-a")
    assert (api["enabled"], api["disabled_reason"]) == (False, "e2e test"), api

    _assert_refused(env, env.a)
    _assert_passes(env, env.b)

    seen = _drive(env, g, "tenant-a", enable=True)
    assert (seen["before"]["data_enabled"], seen["after"]["data_enabled"]) == ("false", "true")
    assert seen["after"]["disabled_reason"] == ""
    assert seen["dialogs"] == []
    assert [(p["path"], p["status"]) for p in seen["posts"]] == [
        ("/api/v1/tenants/tenant-a/enable", 200)]
    assert _tenant(g, "tenant-a")["enabled"] is True
    _assert_passes(env, env.a)
    # The refused push shows up as a rejection of tenant-a (reason disabled).
    assert _tenant(g, "tenant-a")["totals"]["rejected"]["disabled"] >= 1


def test_token_prompt_when_admin_token_is_set(env, tmp_path):
    """With admin.token_file, the page's POST without a token is answered 401; the page asks for
    the token (drive.js answers it), retries once with Authorization: Bearer and succeeds — for
    Disable and, in a fresh browser (no stored token), for Enable."""
    token_file = tmp_path / "admin-token"
    token_file.write_text(TOKEN + "\n")
    g = env.g = env.start(token_file=str(token_file))
    _assert_passes(env, env.a)
    status, headers, _ = _admin(g, "POST", "/api/v1/tenants/tenant-a/disable")
    assert status == 401 and headers.get("www-authenticate", "").startswith("Bearer"), headers
    assert _tenant(g, "tenant-a")["enabled"] is True

    for enable in (False, True):
        seen = _drive(env, g, "tenant-a", enable=enable, token=TOKEN)
        action = "enable" if enable else "disable"
        assert seen["after"]["data_enabled"] == ("true" if enable else "false"), seen["after"]
        path = f"/api/v1/tenants/tenant-a/{action}"
        assert [(p["path"], p["status"], p["authorization"]) for p in seen["posts"]] == [
            (path, 401, False), (path, 200, True)]
        token_prompts = [d for d in seen["dialogs"] if "token" in d["message"].lower()]
        assert len(token_prompts) == 1 and token_prompts[0]["answered"], seen["dialogs"]
        assert seen["error_line"] == ""
        if enable:
            _assert_passes(env, env.a)
        else:
            _assert_refused(env, env.a)
            _assert_passes(env, env.b)
