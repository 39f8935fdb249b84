"""Configuration and certificate reload (DESIGN.md §3 `tls.reload_interval`, §6 `POST /-/reload`
and SIGHUP, §7 `config_last_reload_successful`, `certificate_expiry_timestamp_seconds`), against
the real binary over real loopback sockets:

- a good changed config (new route, new upstream URL, new tenant limit, new tenant mapping)
  applies to the next request on an already-open keep-alive mTLS connection, which stays open
  (same socket);
- a bad config (YAML syntax, invalid value, unknown upstream, missing file) answers 500 naming
  the problem, logs it, sets config_last_reload_successful to 0 and keeps the old config serving;
  fixing the file and reloading sets it back to 1;
- SIGHUP applies a changed config and re-reads certificates like POST /-/reload;
- server certificate rotation (atomic rename, in-place rewrite, Kubernetes Secret `..data` symlink
  swap) is picked up within a few tls.reload_interval ticks: new handshakes present the new
  certificate, a connection opened before keeps serving, and certificate_expiry_timestamp_seconds
  follows; client CA rotation changes which clients may connect; a CRL rotation refuses the
  revoked client's new handshakes and its session tickets from before;
- an expired, garbage, key-less or mismatched new certificate is refused: the old certificate keeps
  serving, the log says why, and POST /-/reload answers 500 naming the problem.

Each test starts its own gateway (admin listener on a free loopback port) with copies of the
server certificate, key and client CA in its own directory, so the session PKI is never touched.
"""

from __future__ import annotations

import copy
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import time
import uuid
from pathlib import Path

import pytest

from support import gateway as gw
from support import ingest
from support import pki as pki_mod
from support import remote_write as rw
from support.recording_backend import RecordingBackend

P = "mla_gateway_"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$')
RELOAD_INTERVAL = "250ms"
ROTATION_WAIT = 5.0  # seconds a rotated file may take to be served (20 reload intervals)
PUSH_HEADERS = list(rw.REMOTE_WRITE_HEADERS.items())


# --- helpers ----------------------------------------------------------------------------------

def _start(gateways, upstreams: dict, tls: dict | None = None, routes: list | None = None):
    """A gateway with its admin listener on a free port; retried on a port race."""
    for attempt in range(3):
        admin_port = gw.free_port()
        try:
            g = gateways.start(upstreams, routes=routes, tls=tls,
                               admin={"listen": f"127.0.0.1:{admin_port}"})
            g.admin_port = admin_port
            return g
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _admin(g, method: str, path: str, timeout: float = 10.0) -> tuple[int, str]:
    """(status, body text) of one admin request on a fresh plain-HTTP connection."""
    conn = http.client.HTTPConnection("127.0.0.1", g.admin_port, timeout=timeout)
    try:
        conn.request(method, path)
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def _reload(g) -> tuple[int, str]:
    return _admin(g, "POST", "/-/reload", timeout=20.0)


def _metrics(g) -> dict[str, float]:
    """'name{labels}' (as rendered) -> value from the admin /metrics."""
    status, text = _admin(g, "GET", "/metrics")
    assert status == 200, text
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def _write_config(g, cfg: dict) -> None:
    g.config_file.write_text(gw.to_yaml(cfg) + "\n")


def _log_records(g, offset: int, msg_part: str) -> list[dict[str, str]]:
    """logfmt records written since OFFSET whose msg contains MSG_PART."""
    out = []
    for line in g.log_since(offset).splitlines():
        rec = ingest.parse_logfmt(line)
        if msg_part in rec.get("msg", ""):
            out.append(rec)
    return out


def _push(client: gw.HttpsClient, samples: int = 10, path: str = "/api/v1/push") -> gw.Response:
    return client.request("POST", path, ingest.samples_body(samples), PUSH_HEADERS)


class Held:
    """A keep-alive mTLS connection opened before a reload; request() fails the test if the
    gateway closed it (http.client would otherwise reconnect silently)."""

    def __init__(self, port: int, ctx: ssl.SSLContext):
        self.client = gw.HttpsClient(port, ctx, host="127.0.0.1", timeout=15).connect()
        self.sock = self.client.sock
        self.local = self.sock.getsockname()
        self.peer_der = self.sock.getpeercert(binary_form=True)

    def _check_same(self, when: str) -> None:
        assert self.client.sock is self.sock, f"the held connection was replaced ({when})"
        assert self.sock.fileno() != -1, f"the held connection was closed ({when})"
        assert self.sock.getsockname() == self.local

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        self._check_same("before the request")
        r = self.client.request(method, path, body, headers)
        self._check_same(f"after {method} {path} -> {r.status}")
        assert (r.header("Connection") or "").lower() != "close", \
            f"{method} {path} answered {r.status} with Connection: close"
        return r

    def push(self, samples: int = 10, path: str = "/api/v1/push") -> gw.Response:
        return self.request("POST", path, ingest.samples_body(samples), PUSH_HEADERS)

    def probe(self, path: str) -> int:
        """Status of an empty POST (a rejection with a body unread would close the connection,
        DESIGN.md §4 lingering close, so route probes carry none)."""
        return self.request("POST", path, b"", PUSH_HEADERS).status

    def close(self) -> None:
        self.client.close()


def _tls_dir(base: Path, test_pki) -> dict:
    """Copies of the session's server cert/key and client CA under BASE; the `tls` section."""
    base.mkdir(parents=True, exist_ok=True)
    files = {"cert_file": base / "tls.crt", "key_file": base / "tls.key",
             "client_ca_file": base / "ca.crt"}
    shutil.copyfile(test_pki.server.cert_file, files["cert_file"])
    shutil.copyfile(test_pki.server.key_file, files["key_file"])
    shutil.copyfile(test_pki.ca.cert_file, files["client_ca_file"])
    tls = {k: str(v) for k, v in files.items()}
    tls["reload_interval"] = RELOAD_INTERVAL
    return tls


def _issue_server(ca: pki_mod.CertificateAuthority, days: int = 30,
                  startdate: str | None = None, enddate: str | None = None) -> pki_mod.Leaf:
    """A server certificate for localhost/127.0.0.1 with a unique name (CN rotated-<id>.test),
    valid DAYS days (or STARTDATE..ENDDATE, YYYYMMDDHHMMSSZ)."""
    tag = uuid.uuid4().hex[:10]
    return ca.issue_server(f"rotated-{tag}", dns=(f"rotated-{tag}.test", "localhost"),
                           ips=("127.0.0.1",), days=days, startdate=startdate, enddate=enddate)


def _der(cert_file: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert(Path(cert_file).read_text())


def _not_after(cert_file: str) -> float:
    out = pki_mod.run_openssl(["x509", "-in", cert_file, "-noout", "-enddate"]).strip()
    return float(ssl.cert_time_to_seconds(out.split("=", 1)[1]))


def _served_der(port: int, ctx: ssl.SSLContext) -> bytes | None:
    """The certificate a fresh handshake presents (None if the handshake fails)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError):
        return None


def _wait_served(port: int, ctx: ssl.SSLContext, der: bytes, timeout: float = ROTATION_WAIT,
                 what: str = "the new certificate on a new handshake") -> None:
    gw.wait_until(lambda: _served_der(port, ctx) == der, timeout=timeout, interval=0.1,
                  what=what)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write a temp file next to PATH, fsync, rename over PATH."""
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:6]}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _in_place_write(path: Path, data: bytes) -> None:
    """Truncate and rewrite PATH (same inode), as `cp new old` would."""
    with open(path, "r+b") as f:
        f.truncate(0)
        f.write(data)


class SecretVolume:
    """A Kubernetes Secret volume: DIR/..<ts>/{tls.crt,tls.key,ca.crt}, DIR/..data -> ..<ts>,
    DIR/tls.crt -> ..data/tls.crt (and so on). update() swaps ..data atomically like kubelet."""

    NAMES = ("tls.crt", "tls.key", "ca.crt")

    def __init__(self, root: Path, files: dict[str, bytes]):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.current = self._payload_dir(files)
        os.symlink(self.current.name, self.root / "..data")
        for name in self.NAMES:
            os.symlink(f"..data/{name}", self.root / name)

    def _payload_dir(self, files: dict[str, bytes]) -> Path:
        d = self.root / f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{uuid.uuid4().hex[:8]}"
        d.mkdir()
        for name in self.NAMES:
            (d / name).write_bytes(files[name])
        return d

    def update(self, files: dict[str, bytes]) -> None:
        old = self.current
        self.current = self._payload_dir(files)
        tmp = self.root / "..data_tmp"
        os.symlink(self.current.name, tmp)
        os.replace(tmp, self.root / "..data")
        shutil.rmtree(old)

    def tls(self) -> dict:
        return {"cert_file": str(self.root / "tls.crt"), "key_file": str(self.root / "tls.key"),
                "client_ca_file": str(self.root / "ca.crt"), "reload_interval": RELOAD_INTERVAL}


@pytest.fixture
def backend2():
    """A second recording upstream (the target of an upstream URL change)."""
    b = RecordingBackend().start()
    yield b
    b.stop()


@pytest.fixture
def tenant_a(test_pki):
    return gw.client_context(test_pki, "tenant-a")


# --- config reload ----------------------------------------------------------------------------

def test_reload_applies_new_route_and_upstream_on_open_connection(gateways, backend, backend2,
                                                                  tenant_a):
    """POST /-/reload with a config that adds the route /api/prom/push and points `cortex` at a
    second backend answers 200 "configuration reloaded"; on the connection opened before, the new
    route now answers 200 instead of 404 and pushes reach the new backend, not the old one."""
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url})
    held = Held(g.port, tenant_a)
    try:
        assert held.push().status == 200
        assert held.probe("/api/prom/push") == 404
        assert len(backend.wait_for_requests(1, timeout=5)) == 1

        cfg = copy.deepcopy(g.config)
        cfg["routes"] = cfg["routes"] + [{"path": "/api/prom/push",
                                          "kind": "prometheus_remote_write",
                                          "upstream": "cortex"}]
        cfg["upstreams"]["cortex"] = {"url": backend2.url}
        _write_config(g, cfg)
        offset = g.log_size()
        assert _reload(g) == (200, "configuration reloaded\n")
        assert _log_records(g, offset, "configuration reloaded"), g.log_since(offset)

        r = held.push(path="/api/prom/push")
        assert r.status == 200, r.text
        r = held.push()
        assert r.status == 200, r.text
        got = backend2.wait_for_requests(2, timeout=5)
        assert sorted(req.path for req in got) == ["/api/prom/push", "/api/v1/push"]
        assert all(req.header("X-Scope-OrgID") == "tenant-a" for req in got)
        assert len(backend.requests) == 1, \
            f"the old upstream still got requests: {[q.path for q in backend.requests]}"
    finally:
        held.close()


def test_reload_applies_tenant_limit_on_open_connection(gateways, backend, test_pki, tenant_a):
    """A reload that gives tenant-a a limit (1 sample/s, burst 10) makes the second 10-sample push
    on the already-open connection 429 with Retry-After; a reload removing the limit lets the
    same connection push again."""
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url})
    held = Held(g.port, tenant_a)
    try:
        for _ in range(3):
            assert held.push(10).status == 200
        good = copy.deepcopy(g.config)
        limited = copy.deepcopy(good)
        limited["limits"] = {"limited_status": 429, "overrides": {
            "tenant-a": {"metrics": {"samples_per_second": 1, "burst_samples": 10}}}}
        _write_config(g, limited)
        assert _reload(g) == (200, "configuration reloaded\n")
        first, second = held.push(10), held.push(10)
        assert first.status == 200, first.text  # the bucket starts full
        assert second.status == 429, second.text
        assert ingest.retry_after(second) is not None and ingest.retry_after(second) >= 1
        # Other tenants keep the defaults.
        with gw.HttpsClient(g.port, gw.client_context(test_pki, "tenant-b")) as b:
            assert _push(b, 10).status == 200
            assert _push(b, 10).status == 200

        _write_config(g, good)
        assert _reload(g) == (200, "configuration reloaded\n")
        assert held.push(10).status == 200
        assert held.push(10).status == 200
    finally:
        held.close()


TENANT_CHANGES = {
    # name: (new `tenant` section, what tenant-a's next push on the old connection must give)
    "allow_list_drops_tenant": ({"source": "subject_cn", "header": "X-Scope-OrgID",
                                 "allowed": ["tenant-b"]}, 403),
    "source_becomes_fixed": ({"source": "fixed", "fixed": "cluster-fixed",
                              "header": "X-Scope-OrgID"}, "cluster-fixed"),
}


@pytest.mark.parametrize("change", list(TENANT_CHANGES))
def test_reload_applies_tenant_mapping_on_open_connection(gateways, backend, tenant_a, change):
    """A reload that changes how certificates map to tenants applies to the next request on a
    connection opened before, as on a new one: after `tenant.allowed` drops tenant-a its pushes
    are refused with 403 (never forwarded), and after `tenant.source: fixed` they are forwarded
    with the fixed tenant in X-Scope-OrgID. A kept-alive remote-write connection may live for
    days, so a mapping cached per connection would keep a removed tenant in."""
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url})
    held = Held(g.port, tenant_a)
    try:
        assert held.push().status == 200
        assert backend.wait_for_requests(1, timeout=5)[0].header("X-Scope-OrgID") == "tenant-a"
        section, expected = TENANT_CHANGES[change]
        cfg = copy.deepcopy(g.config)
        cfg["tenant"] = section
        _write_config(g, cfg)
        assert _reload(g) == (200, "configuration reloaded\n")
        # A new connection sees the new mapping ...
        r = ingest.push_remote_write(g.port, tenant_a, ingest.samples_body(3))
        if expected == 403:
            assert r.status == 403, r.text
            assert len(backend.requests) == 1
        else:
            assert r.status == 200, r.text
            assert backend.wait_for_requests(2, timeout=5)[1].header("X-Scope-OrgID") == expected
        backend.reset()
        # ... and so does the connection opened before the reload.
        try:
            r = held.client.request("POST", "/api/v1/push", ingest.samples_body(3),
                                    PUSH_HEADERS)
        except (OSError, http.client.HTTPException) as e:
            r = None  # the gateway closed the old connection instead: also not forwarded
            closed = e
        if expected == 403:
            assert r is None or r.status == 403, \
                f"old connection after tenant-a left tenant.allowed: {r.status} {r.text!r}"
            assert backend.requests == [], \
                [q.header("X-Scope-OrgID") for q in backend.requests]
        else:
            assert r is not None, f"old connection dropped by the reload: {closed!r}"
            assert r.status == 200, r.text
            got = backend.wait_for_requests(1, timeout=5)[0].header("X-Scope-OrgID")
            assert got == expected, f"old connection forwarded with X-Scope-OrgID {got}"
    finally:
        held.close()


BAD_CONFIGS = {
    # name: (how to break the config text, regex the 500 body / log error must match)
    "yaml_syntax": (lambda text: text + "server: [unclosed\n",
                    r"gateway\.yaml:\d+:\d+: invalid YAML"),
    "invalid_value": (lambda text: text + "limits:\n  limited_status: 418\n",
                      r"gateway\.yaml:\d+:\d+: limits\.limited_status: must be 429 or 503, "
                      r"got 418"),
    "bad_duration": (lambda text: text.replace('idle_timeout: "120s"', 'idle_timeout: "2 min"'),
                     r"gateway\.yaml:\d+:\d+: server\.idle_timeout: invalid duration"),
    "unknown_upstream": (lambda text: text.replace('upstream: "loki"', 'upstream: "nowhere"'),
                         r'gateway\.yaml:\d+:\d+: routes\[1\]\.upstream: unknown upstream '
                         r'"nowhere"'),
    "missing_ca_file": (lambda text: re.sub(r'client_ca_file: "[^"]*"',
                                            'client_ca_file: "/nonexistent/mla/ca.crt"', text),
                        r'gateway\.yaml:\d+:\d+: tls\.client_ca_file: cannot read '
                        r'"/nonexistent/mla/ca\.crt": No such file or directory'),
}


@pytest.mark.parametrize("kind", list(BAD_CONFIGS))
def test_bad_reload_keeps_old_config(gateways, backend, tenant_a, kind):
    """A reload of a broken config (which also adds a route) answers 500 "reload failed: <file>:
    <line>:<col>: <key>: <why>" (or the file error), logs the same error, sets
    config_last_reload_successful to 0 and /api/v1/status to false; the running config keeps
    serving (pushes 200, the new route still 404, /-/ready 200) on the open connection. The
    fixed file reloads with 200: back to 1, timestamp advanced, the route now served."""
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url})
    held = Held(g.port, tenant_a)
    try:
        before = _metrics(g)
        assert before[P + "config_last_reload_successful"] == 1
        fixed = copy.deepcopy(g.config)
        fixed["routes"] = fixed["routes"] + [{"path": "/api/prom/push",
                                              "kind": "prometheus_remote_write",
                                              "upstream": "cortex"}]
        fixed_text = gw.to_yaml(fixed) + "\n"
        breaker, pattern = BAD_CONFIGS[kind]
        broken = breaker(fixed_text)
        assert broken != fixed_text, "the breaker did not change the config"
        g.config_file.write_text(broken)

        offset = g.log_size()
        status, body = _reload(g)
        assert status == 500, body
        assert body.startswith("reload failed: ") and body.endswith("\n"), body
        assert gw.one_line_reason(body.encode()), body
        assert re.search(pattern, body), body
        recs = _log_records(g, offset, "reload failed")
        assert recs, g.log_since(offset)
        assert recs[-1].get("level") == "error", recs[-1]
        assert re.search(pattern, recs[-1].get("error", "")), recs[-1]

        m = _metrics(g)
        assert m[P + "config_last_reload_successful"] == 0
        assert (m[P + "config_last_reload_success_timestamp_seconds"]
                == before[P + "config_last_reload_success_timestamp_seconds"])
        st, text = _admin(g, "GET", "/api/v1/status")
        assert st == 200 and json.loads(text)["config_last_reload_successful"] is False, text
        assert _admin(g, "GET", "/-/ready")[0] == 200
        # The old config keeps serving, on the held connection and on new ones.
        assert held.push().status == 200
        assert held.probe("/api/prom/push") == 404
        assert ingest.push_remote_write(g.port, tenant_a, ingest.samples_body(5)).status == 200

        time.sleep(0.01)  # so the success timestamp (ms) must move
        g.config_file.write_text(fixed_text)
        assert _reload(g) == (200, "configuration reloaded\n")
        m = _metrics(g)
        assert m[P + "config_last_reload_successful"] == 1
        assert (m[P + "config_last_reload_success_timestamp_seconds"]
                > before[P + "config_last_reload_success_timestamp_seconds"])
        assert held.push(path="/api/prom/push").status == 200
    finally:
        held.close()


def test_sighup_applies_changed_config_on_open_connection(gateways, backend, backend2,
                                                          tenant_a):
    """SIGHUP with a changed config (new route, `cortex` moved to a second backend) applies it to
    the next request on the connection opened before; a SIGHUP with a broken config logs the
    error and leaves that config in place. (test_admin covers the reload metric after SIGHUP.)"""
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url})
    held = Held(g.port, tenant_a)
    try:
        assert held.probe("/api/prom/push") == 404
        cfg = copy.deepcopy(g.config)
        cfg["routes"] = cfg["routes"] + [{"path": "/api/prom/push",
                                          "kind": "prometheus_remote_write",
                                          "upstream": "cortex"}]
        cfg["upstreams"]["cortex"] = {"url": backend2.url}
        _write_config(g, cfg)
        offset = g.log_size()
        g.send_signal(signal.SIGHUP)
        gw.wait_until(lambda: _log_records(g, offset, "configuration reloaded"), timeout=5,
                      what="'configuration reloaded' logged after SIGHUP")
        assert held.push(path="/api/prom/push").status == 200
        assert backend2.wait_for_requests(1, timeout=5)[0].path == "/api/prom/push"
        assert backend.requests == []

        good = g.config_file.read_text()
        g.config_file.write_text(good.replace('path: "/api/prom/push"', 'path: "/api/v2/x"')
                                 + "limits:\n  limited_status: 418\n")
        offset = g.log_size()
        g.send_signal(signal.SIGHUP)
        recs = gw.wait_until(lambda: _log_records(g, offset, "reload failed"), timeout=5,
                             what="'reload failed' logged after SIGHUP")
        assert "limits.limited_status" in recs[-1].get("error", ""), recs[-1]
        assert held.push(path="/api/prom/push").status == 200
        assert held.probe("/api/v2/x") == 404
    finally:
        held.close()


@pytest.mark.parametrize("trigger", ["post", "sighup"])
def test_reload_rereads_certificates(gateways, backend, test_pki, tenant_a, tmp_path, trigger):
    """With tls.reload_interval 1h (no periodic check in the test's time), a rotated server
    certificate is served right after POST /-/reload (or SIGHUP) re-reads the files; the
    connection opened before keeps serving with the old certificate."""
    tls = _tls_dir(tmp_path / "tls", test_pki)
    tls["reload_interval"] = "1h"
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url}, tls=tls)
    old = _der(tls["cert_file"])
    assert _served_der(g.port, tenant_a) == old
    held = Held(g.port, tenant_a)
    try:
        new = _issue_server(test_pki.ca)
        _atomic_write(Path(tls["key_file"]), Path(new.key_file).read_bytes())
        _atomic_write(Path(tls["cert_file"]), Path(new.cert_file).read_bytes())
        time.sleep(1.0)
        assert _served_der(g.port, tenant_a) == old, "re-read without a reload (interval 1h)"
        if trigger == "post":
            assert _reload(g) == (200, "configuration reloaded\n")
            assert _served_der(g.port, tenant_a) == _der(new.cert_file)
        else:
            g.send_signal(signal.SIGHUP)
            _wait_served(g.port, tenant_a, _der(new.cert_file))
        assert held.push().status == 200
        assert held.sock.getpeercert(binary_form=True) == old
    finally:
        held.close()


# --- certificate rotation ---------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["rename", "in_place", "secret_symlink_swap"])
def test_server_certificate_rotation_keeps_open_connection(gateways, backend, test_pki, tenant_a,
                                                           tmp_path, mode):
    """The server certificate and key are replaced on disk (atomic rename of each file; in-place
    rewrite, certificate before key; or a Kubernetes Secret `..data` symlink swap) while a
    keep-alive connection is open: within a few tls.reload_interval ticks new handshakes present
    the new certificate, "certificates reloaded" is logged, the open connection still serves
    (with the old certificate), certificate_expiry_timestamp_seconds{file} shows the new
    notAfter, and /-/ready stays 200."""
    if mode == "secret_symlink_swap":
        vol = SecretVolume(tmp_path / "secret", {
            "tls.crt": Path(test_pki.server.cert_file).read_bytes(),
            "tls.key": Path(test_pki.server.key_file).read_bytes(),
            "ca.crt": Path(test_pki.ca.cert_file).read_bytes()})
        tls = vol.tls()
    else:
        tls = _tls_dir(tmp_path / "tls", test_pki)
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url}, tls=tls)
    cert_file = tls["cert_file"]
    old = _der(cert_file)
    expiry = P + f'certificate_expiry_timestamp_seconds{{file="{cert_file}"}}'
    assert _metrics(g)[expiry] == _not_after(test_pki.server.cert_file)
    held = Held(g.port, tenant_a)
    try:
        assert held.peer_der == old
        assert held.push().status == 200
        new = _issue_server(test_pki.ca, days=30)
        new_der = _der(new.cert_file)
        assert new_der != old
        offset = g.log_size()
        cert_bytes, key_bytes = Path(new.cert_file).read_bytes(), Path(new.key_file).read_bytes()
        if mode == "rename":
            _atomic_write(Path(tls["key_file"]), key_bytes)
            _atomic_write(Path(cert_file), cert_bytes)
        elif mode == "in_place":
            _in_place_write(Path(cert_file), cert_bytes)
            _in_place_write(Path(tls["key_file"]), key_bytes)
        else:
            vol.update({"tls.crt": cert_bytes, "tls.key": key_bytes,
                        "ca.crt": Path(test_pki.ca.cert_file).read_bytes()})

        _wait_served(g.port, tenant_a, new_der)
        assert _log_records(g, offset, "certificates reloaded"), g.log_since(offset)
        # The connection from before the rotation still serves, still with the old certificate.
        r = held.push()
        assert r.status == 200, r.text
        assert held.sock.getpeercert(binary_form=True) == old
        # And new connections serve requests with the new one.
        with gw.HttpsClient(g.port, tenant_a) as c:
            assert _push(c).status == 200
            assert c.sock.getpeercert(binary_form=True) == new_der

        m = _metrics(g)
        assert m[expiry] == _not_after(new.cert_file)
        assert m[expiry] != _not_after(test_pki.server.cert_file)
        assert _admin(g, "GET", "/-/ready")[0] == 200
    finally:
        held.close()


def test_client_ca_rotation(gateways, backend, test_pki, tenant_a, tmp_path):
    """Adding the unrelated CA to tls.client_ca_file (atomic rename) lets its client in within a
    few reload ticks; removing it again refuses that client's new handshakes; a tenant-a
    connection opened at the start serves throughout."""
    tls = _tls_dir(tmp_path / "tls", test_pki)
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url}, tls=tls)
    foreign = gw.client_context(test_pki, "foreign")
    rejected, why = gw.tls_rejected(g.port, foreign)
    assert rejected, why
    held = Held(g.port, tenant_a)
    try:
        ca_file = Path(tls["client_ca_file"])
        _atomic_write(ca_file, Path(test_pki.ca_bundle_file).read_bytes())

        def foreign_served():
            try:
                return gw.https_request(g.port, foreign, "POST", "/raw/ca", b"x",
                                        timeout=5).status == 200
            except (OSError, ssl.SSLError, http.client.HTTPException):
                return False

        gw.wait_until(foreign_served, timeout=ROTATION_WAIT, interval=0.1,
                      what="the foreign-CA client accepted after adding its CA")
        assert held.push().status == 200

        _atomic_write(ca_file, Path(test_pki.ca.cert_file).read_bytes())
        gw.wait_until(lambda: gw.tls_rejected(g.port, foreign)[0], timeout=ROTATION_WAIT,
                      interval=0.1, what="the foreign-CA client refused after removing its CA")
        assert held.push().status == 200
        assert ingest.push_remote_write(g.port, tenant_a, ingest.samples_body(3)).status == 200
    finally:
        held.close()


def _tls_post(port: int, ctx: ssl.SSLContext, session: ssl.SSLSession | None = None,
              timeout: float = 5.0) -> tuple[int | None, bool, ssl.SSLSession | None]:
    """One POST /raw/crl on a fresh connection, resuming SESSION if given. Returns (status or
    None when the TLS layer refused us, whether the session was resumed, the connection's
    session after the answer, which carries the TLS 1.3 ticket)."""
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError:
        return None, False, None
    try:
        tls = ctx.wrap_socket(raw, server_hostname="localhost", session=session)
    except (OSError, ssl.SSLError):
        raw.close()
        return None, False, None
    reused = tls.session_reused
    try:
        tls.sendall(b"POST /raw/crl HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = tls.recv(65536)
            if not chunk:
                return None, reused, None
            data += chunk
        return int(data.split(b" ", 2)[1]), reused, tls.session
    except (OSError, ssl.SSLError):
        return None, reused, None
    finally:
        tls.close()


def test_crl_rotation_refuses_revoked_client_and_its_tickets(gateways, backend, test_pki,
                                                             tenant_a, tmp_path):
    """tls.crl_file holds the session CA's CRL and a second CA's (empty) CRL; a client of that
    second CA is served and can resume its TLS session. After its certificate is revoked and the
    CRL file is replaced (atomic rename), within a few reload ticks its new handshakes are
    refused, and so is resuming a session ticket obtained before: a new CRL must not be bypassed
    by resumption. tenant-a (other CA, other CRL) is served throughout."""
    own = pki_mod.CertificateAuthority(tmp_path / "own-ca", "Reload Test CA")
    leaf = own.issue_client("tenant-c", cn="tenant-c")
    tls = _tls_dir(tmp_path / "tls", test_pki)
    ca_file, crl_file = Path(tls["client_ca_file"]), tmp_path / "tls" / "crl.pem"
    ca_file.write_bytes(Path(test_pki.ca.cert_file).read_bytes()
                        + Path(own.cert_file).read_bytes())
    session_crl = Path(test_pki.crl_file).read_bytes()
    crl_file.write_bytes(session_crl + Path(own.generate_crl(tmp_path / "own-0.pem")).read_bytes())
    tls["crl_file"] = str(crl_file)
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url}, tls=tls)
    ctx_c = gw.client_context(test_pki, leaf)

    status, reused, s1 = _tls_post(g.port, ctx_c)
    assert (status, reused) == (200, False) and s1 is not None and s1.has_ticket
    status, reused, s2 = _tls_post(g.port, ctx_c)
    assert status == 200 and s2 is not None and s2.has_ticket
    # Resumption works while nothing changed (so the check below can fail).
    status, reused, _ = _tls_post(g.port, ctx_c, session=s1)
    assert (status, reused) == (200, True)

    own.revoke(leaf)
    _atomic_write(crl_file, session_crl
                  + Path(own.generate_crl(tmp_path / "own-1.pem")).read_bytes())
    gw.wait_until(lambda: gw.tls_rejected(g.port, ctx_c)[0], timeout=ROTATION_WAIT,
                  interval=0.1, what="the revoked client refused after the CRL rotation")
    status, reused, _ = _tls_post(g.port, ctx_c, session=s2)
    assert status is None, \
        f"a session from before the CRL rotation was {'resumed' if reused else 'accepted'}: " \
        f"{status}"
    assert _tls_post(g.port, tenant_a)[0] == 200
    rejected, why = gw.tls_rejected(g.port, gw.client_context(test_pki, "revoked"))
    assert rejected, why
    m = _metrics(g)
    assert m[P + 'tls_handshake_failures_total{reason="revoked"}'] >= 2


def _expired(ca):
    leaf = _issue_server(ca, startdate="20200101000000Z", enddate="20200102000000Z")
    return Path(leaf.cert_file).read_bytes(), Path(leaf.key_file).read_bytes()


BAD_CERTS = {
    # name: (write the bad files into the tls dict's paths, regex for the error)
    "expired": (
        lambda tls, ca: _write_pair(tls, *_expired(ca)),
        r'tls\.cert_file \S+: certificate expired at 2020-01-02T00:00:00Z'),
    "garbage_cert": (
        lambda tls, ca: _atomic_write(Path(tls["cert_file"]),
                                      b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
                                      b"-----END CERTIFICATE-----\n"),
        r'tls\.cert_file "[^"]+": cannot load certificate chain'),
    "missing_key": (
        lambda tls, ca: os.unlink(tls["key_file"]),
        # (the periodic check and the config validator word it slightly differently)
        r'tls\.key_file(: cannot read)? "[^"]+/tls\.key": No such file or directory'),
    "mismatched_key": (
        lambda tls, ca: _atomic_write(Path(tls["cert_file"]),
                                      Path(_issue_server(ca).cert_file).read_bytes()),
        r'tls\.key_file "[^"]+": private key does not match tls\.cert_file'),
}


def _write_pair(tls: dict, cert: bytes, key: bytes) -> None:
    _atomic_write(Path(tls["key_file"]), key)
    _atomic_write(Path(tls["cert_file"]), cert)


@pytest.mark.parametrize("kind", list(BAD_CERTS))
def test_bad_new_certificate_keeps_old_one(gateways, backend, test_pki, tenant_a, tmp_path, kind):
    """A rotation to an expired certificate, a garbage certificate file, a deleted key or a key
    that does not match is refused: "certificate reload failed; keeping the running certificates"
    is logged at error level naming the problem, new handshakes still present the old
    certificate and are served, the open connection keeps serving, /-/ready stays 200, and POST
    /-/reload answers 500 naming the same problem. A good certificate written afterwards is
    picked up and the reload succeeds again."""
    tls = _tls_dir(tmp_path / "tls", test_pki)
    g = _start(gateways, {"cortex": backend.url, "loki": backend.url}, tls=tls)
    old = _der(tls["cert_file"])
    held = Held(g.port, tenant_a)
    try:
        writer, pattern = BAD_CERTS[kind]
        offset = g.log_size()
        writer(tls, test_pki.ca)
        recs = gw.wait_until(lambda: _log_records(g, offset, "certificate reload failed"),
                             timeout=ROTATION_WAIT, what="'certificate reload failed' logged")
        assert recs[0].get("level") == "error", recs[0]
        assert "keeping the running certificates" in recs[0]["msg"], recs[0]
        assert re.search(pattern, recs[0].get("error", "")), recs[0]
        assert not _log_records(g, offset, "certificates reloaded"), g.log_since(offset)

        time.sleep(0.6)  # a few more reload ticks
        assert _served_der(g.port, tenant_a) == old
        assert ingest.push_remote_write(g.port, tenant_a, ingest.samples_body(3)).status == 200
        assert held.push().status == 200
        assert _admin(g, "GET", "/-/ready")[0] == 200

        status, body = _reload(g)
        assert status == 500, body
        assert re.search(pattern, body), body
        assert _metrics(g)[P + "config_last_reload_successful"] == 0
        assert _served_der(g.port, tenant_a) == old

        new = _issue_server(test_pki.ca)
        _write_pair(tls, Path(new.cert_file).read_bytes(), Path(new.key_file).read_bytes())
        _wait_served(g.port, tenant_a, _der(new.cert_file))
        assert _reload(g) == (200, "configuration reloaded\n")
        assert _metrics(g)[P + "config_last_reload_successful"] == 1
        assert held.push().status == 200
    finally:
        held.close()
