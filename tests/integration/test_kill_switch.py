"""The tenant kill switch end to end (DESIGN.md §3 `admin`, §4 "tenant disabled", §6, §7; the API
as README "Tenant kill switch and the admin API" documents it): real sockets, the real binary.

- POST /api/v1/tenants/{tenant}/disable on the admin listener and on the Unix control socket
  (no token there): the very next push of that tenant gets `disabled_status` (503) with
  Retry-After and a one-line reason, also before its body is sent; nothing reaches the upstream;
  other tenants pass; enable lets it through again.
- Requests already in the gateway: one waiting for its body is answered 503 at once and the
  connection closed; a keep-alive connection gets 503 on its next request and is closed.
- A never-seen tenant can be disabled ahead of its first request; {"duration": "2s"} expires.
- state_file: a restart (SIGTERM, new process) keeps the disabled tenants; SIGKILL while
  disables/enables are being written leaves the old or the new state (never a broken file) and a
  new gateway starts from it; a corrupt state file stops the start with exit 1 and one log line
  naming the file (left untouched); a failed write answers 500 and changes nothing.
- admin.token_file: POSTs need `Authorization: Bearer <token>` (401 + WWW-Authenticate
  otherwise), GETs do not; the file's trailing newline is not part of the token.
- Bad API input: 400/404/405 JSON errors, state unchanged, the gateway keeps serving.
- /metrics: mla_gateway_tenant_enabled and rejected_requests_total{reason="disabled"}.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import random
import re
import socket
import stat
import tempfile
import threading
import time
from pathlib import Path

import pytest

from support import gateway as gw
from support import ingest
from support import remote_write as rw

TENANTS_PATH = "/api/v1/tenants"
TOKEN = "s3cret-token"
RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
# After refusing a request that has a body the gateway closes like nginx's lingering close: it
# reads (and drops) what the client still sends until 2 s pass without data (http1/session.cc
# kLingerIdle), so a closed connection is seen up to ~2 s after the answer.
LINGER_CLOSE = 4.0


# --- admin API clients ------------------------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over an AF_UNIX stream socket (the control socket)."""

    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        try:
            s.connect(self.unix_path)
        except OSError:
            s.close()
            raise
        self.sock = s


@dataclasses.dataclass
class AdminReply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: str

    def json(self):
        assert self.headers.get("content-type", "").startswith("application/json"), self
        return json.loads(self.body)


class Admin:
    """The admin API over TCP (PORT) or the control socket (SOCK); TOKEN sent as Bearer if set."""

    def __init__(self, port: int | None = None, sock: str | None = None,
                 token: str | None = None):
        assert (port is None) != (sock is None)
        self.port, self.sock, self.token = port, sock, token

    def call(self, method: str, path: str, body: bytes | str | None = None,
             headers: dict | None = None, token: str | None = None,
             timeout: float = 10.0) -> AdminReply:
        conn = (UnixHTTPConnection(self.sock, timeout) if self.sock is not None
                else http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout))
        hdrs = dict(headers or {})
        token = token if token is not None else self.token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if body is not None and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            return AdminReply(r.status, {k.lower(): v for k, v in r.getheaders()},
                              r.read().decode())
        finally:
            conn.close()

    def disable(self, tenant: str, **fields) -> dict:
        """Disable TENANT (fields: reason, duration); the 200 JSON entry."""
        body = json.dumps(fields) if fields else None
        r = self.call("POST", f"{TENANTS_PATH}/{tenant}/disable", body)
        assert r.status == 200, (r.status, r.body)
        return r.json()

    def enable(self, tenant: str) -> dict:
        r = self.call("POST", f"{TENANTS_PATH}/{tenant}/enable")
        assert r.status == 200, (r.status, r.body)
        return r.json()

    def tenants(self) -> dict[str, dict]:
        r = self.call("GET", TENANTS_PATH)
        assert r.status == 200, (r.status, r.body)
        return {t["tenant"]: t for t in r.json()["tenants"]}

    def metrics(self) -> list[tuple[str, dict[str, str], float]]:
        r = self.call("GET", "/metrics")
        assert r.status == 200, (r.status, r.body)
        return parse_metrics(r.body)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in text.splitlines():
        m = _SAMPLE.match(line)
        if m and not line.startswith("#"):
            out.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return out


def metric_values(samples, name: str, **labels) -> list[float]:
    """Values of every NAME series whose labels include LABELS."""
    return [v for n, lbl, v in samples
            if n == name and all(lbl.get(k) == want for k, want in labels.items())]


# --- gateways ---------------------------------------------------------------------------------

def short_dir(session_dir) -> Path:
    """A fresh directory with a short path (a socket path must fit in sun_path, 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="ks", dir=session_dir))


def start(gateways, backend, d: Path, with_socket: bool = True,
          token_file: Path | None = None) -> gw.Gateway:
    """A gateway with admin listener, state file D/state.json (and control socket D/c.sock,
    admin.token_file). Sets g.admin (TCP, no token), g.ctl (control socket), g.state."""
    state, sock = d / "state.json", d / "c.sock"
    for attempt in range(3):
        admin_port = gw.free_port()
        admin = {"listen": f"127.0.0.1:{admin_port}", "state_file": str(state)}
        if with_socket:
            admin["socket"] = str(sock)
        if token_file is not None:
            admin["token_file"] = str(token_file)
        try:
            g = gateways.start({"cortex": backend.url, "loki": backend.url}, admin=admin)
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
            continue
        g.admin = Admin(port=admin_port)
        g.ctl = Admin(sock=str(sock)) if with_socket else None
        g.state = state
        gw.wait_until(lambda: g.admin.call("GET", "/-/ready").status == 200, timeout=5,
                      what="admin /-/ready")
        if with_socket:
            gw.wait_until(sock.exists, timeout=5, what="control socket created")
        return g
    raise AssertionError("unreachable")


def push(g, test_pki, client: str = "tenant-a", samples: int = 10) -> gw.Response:
    return ingest.push_remote_write(g.port, gw.client_context(test_pki, client),
                                    ingest.samples_body(samples))


def push_head(content_length: int) -> bytes:
    """The head of a remote-write push announcing CONTENT_LENGTH body bytes (keep-alive)."""
    lines = ["POST /api/v1/push HTTP/1.1", "Host: localhost",
             *(f"{k}: {v}" for k, v in rw.REMOTE_WRITE_HEADERS.items()),
             f"Content-Length: {content_length}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def orgids(backend, since: int) -> list[str | None]:
    """X-Scope-OrgID of every request the upstream got after the first SINCE."""
    return [r.header("X-Scope-OrgID") for r in backend.requests[since:]]


def assert_refused(resp: gw.Response, tenant: str = "tenant-a", max_retry: int = 3600) -> int:
    """A kill-switch answer: 503, Retry-After in 1..MAX_RETRY, a one-line reason naming TENANT.
    Returns Retry-After."""
    assert resp.status == 503, (resp.status, resp.text)
    retry = ingest.retry_after(resp)
    assert retry is not None and 1 <= retry <= max_retry, resp.headers
    assert gw.one_line_reason(resp.body), resp.body
    assert tenant in resp.text, resp.text
    return retry


def read_state(path: Path) -> dict[str, dict]:
    """The state file as {tenant: entry}, checking its documented shape (state_file.cc)."""
    doc = json.loads(path.read_text())
    assert set(doc) == {"version", "disabled"} and doc["version"] == 1, doc
    out = {}
    for entry in doc["disabled"]:
        assert set(entry) == {"tenant", "reason", "since", "until"}, entry
        assert re.fullmatch(RFC3339, entry["since"]), entry
        assert entry["until"] is None or re.fullmatch(RFC3339, entry["until"]), entry
        assert entry["tenant"] not in out, doc
        out[entry["tenant"]] = entry
    return out


# --- tests ------------------------------------------------------------------------------------

def test_disable_via_http_refuses_at_once_and_enable_restores(gateways, backend, test_pki,
                                                              session_dir):
    """POST .../disable {"reason":"abuse"} answers the 200 entry (enabled false); a push of
    tenant-a started right after the answer gets 503 + Retry-After + one-line reason within a
    second, and so does a push that sends only its head (refused before the body); the upstream
    sees none of them while tenant-b still passes; enable lets tenant-a through again."""
    g = start(gateways, backend, short_dir(session_dir))
    assert push(g, test_pki).status == 200

    entry = g.admin.disable("tenant-a", reason="abuse")
    answered = time.monotonic()
    assert (entry["tenant"], entry["enabled"], entry["disabled_reason"]) == \
        ("tenant-a", False, "abuse"), entry
    assert re.fullmatch(RFC3339, entry["disabled_since"]) and entry["disabled_until"] is None

    before = len(backend.requests)
    refused = push(g, test_pki)
    took = time.monotonic() - answered
    assert_refused(refused)
    assert took < 1.0, f"refusal came {took:.3f}s after the disable answer"

    # Refused from the head alone: the 1000 announced body bytes are never sent.
    with gw.RawTls(g.port, gw.client_context(test_pki, "tenant-a")) as c:
        c.send(push_head(1000))
        assert_refused(c.read_response(timeout=2))

    assert push(g, test_pki, "tenant-b").status == 200
    backend.wait_for_requests(before + 1, timeout=5)
    assert orgids(backend, before) == ["tenant-b"]

    entry = g.admin.enable("tenant-a")
    assert (entry["enabled"], entry["disabled_reason"], entry["disabled_until"]) == \
        (True, "", None), entry
    assert push(g, test_pki).status == 200
    backend.wait_for_requests(before + 2, timeout=5)
    assert orgids(backend, before) == ["tenant-b", "tenant-a"]


def test_control_socket_needs_no_token(gateways, backend, test_pki, session_dir):
    """With admin.token_file set, the TCP listener refuses a token-less disable (401) but the
    Unix control socket accepts it; the data plane follows the socket's disable and enable."""
    d = short_dir(session_dir)
    (d / "token").write_text(TOKEN + "\n")
    g = start(gateways, backend, d, token_file=d / "token")
    assert push(g, test_pki).status == 200

    r = g.admin.call("POST", f"{TENANTS_PATH}/tenant-a/disable", json.dumps({"reason": "x"}))
    assert r.status == 401, (r.status, r.body)
    assert push(g, test_pki).status == 200

    entry = g.ctl.disable("tenant-a", reason="abuse")
    assert (entry["enabled"], entry["disabled_reason"]) == (False, "abuse"), entry
    before = len(backend.requests)
    assert_refused(push(g, test_pki))
    assert push(g, test_pki, "tenant-b").status == 200
    backend.wait_for_requests(before + 1, timeout=5)
    assert orgids(backend, before) == ["tenant-b"]
    assert g.ctl.tenants()["tenant-a"]["enabled"] is False

    assert g.ctl.enable("tenant-a")["enabled"] is True
    assert push(g, test_pki).status == 200


def test_request_waiting_for_its_body_is_refused_promptly(gateways, backend, test_pki,
                                                          session_dir):
    """A tenant-a push that sent its head (Content-Length: 1000) and 300 body bytes and then
    stalls is answered 503 within 2 s of the disable answer (read_header_timeout and
    request_timeout are 10 s / 60 s, so nothing else would answer it) with Connection: close,
    and the connection is closed (after the lingering close); the upstream gets nothing of it."""
    g = start(gateways, backend, short_dir(session_dir))
    before = len(backend.requests)
    with gw.RawTls(g.port, gw.client_context(test_pki, "tenant-a")) as c:
        c.send(push_head(1000) + b"\0" * 300)
        time.sleep(0.5)  # the gateway is now reading the body
        with pytest.raises(TimeoutError):
            c.read_response(timeout=0.2)  # not answered by itself
        g.admin.disable("tenant-a", reason="abuse")
        answered = time.monotonic()
        resp = c.read_response(timeout=5)
        took = time.monotonic() - answered
        assert_refused(resp)
        assert took < 2.0, f"answered {took:.3f}s after the disable"
        assert (resp.header("Connection") or "").lower() == "close", resp.headers
        assert c.wait_closed(LINGER_CLOSE), "connection left open after the mid-body refusal"
    assert push(g, test_pki, "tenant-b").status == 200
    backend.wait_for_requests(before + 1, timeout=5)
    assert orgids(backend, before) == ["tenant-b"]


def test_keepalive_connection_refused_on_next_request(gateways, backend, test_pki, session_dir):
    """A keep-alive connection of tenant-a: its first push passes (connection kept open); after
    the disable its next request on the same connection gets 503 with Connection: close and the
    connection closes (after the lingering close)."""
    g = start(gateways, backend, short_dir(session_dir))
    body = ingest.samples_body(5)
    before = len(backend.requests)
    with gw.RawTls(g.port, gw.client_context(test_pki, "tenant-a")) as c:
        c.send(push_head(len(body)) + body)
        ok = c.read_response(timeout=5)
        assert ok.status == 200, (ok.status, ok.body)
        assert (ok.header("Connection") or "").lower() != "close", ok.headers
        backend.wait_for_requests(before + 1, timeout=5)

        g.admin.disable("tenant-a")
        c.send(push_head(len(body)) + body)
        refused = c.read_response(timeout=3)
        assert_refused(refused)
        assert (refused.header("Connection") or "").lower() == "close", refused.headers
        assert c.wait_closed(LINGER_CLOSE), "keep-alive connection left open after the refusal"
    assert orgids(backend, before) == ["tenant-a"]


def test_never_seen_tenant_disabled_ahead(gateways, backend, test_pki, session_dir):
    """ou-client (the `ou` cert's CN) has never sent anything; disabled ahead it is listed as
    disabled with tenant_enabled 0, and its first push is refused."""
    g = start(gateways, backend, short_dir(session_dir))
    assert "ou-client" not in g.admin.tenants()
    entry = g.admin.disable("ou-client", reason="not onboarded")
    assert (entry["tenant"], entry["enabled"]) == ("ou-client", False), entry
    listed = g.admin.tenants()["ou-client"]
    assert (listed["enabled"], listed["disabled_reason"]) == (False, "not onboarded"), listed
    assert metric_values(g.admin.metrics(), "mla_gateway_tenant_enabled",
                         tenant="ou-client") == [0]

    before = len(backend.requests)
    assert_refused(push(g, test_pki, "ou"), tenant="ou-client")
    assert push(g, test_pki, "tenant-a").status == 200
    backend.wait_for_requests(before + 1, timeout=5)
    assert orgids(backend, before) == ["tenant-a"]
    assert g.admin.tenants()["ou-client"]["totals"]["rejected"]["disabled"] == 1


def test_disable_with_duration_expires(gateways, backend, test_pki, session_dir):
    """{"duration": "2s"}: disabled_until is set, pushes are refused with Retry-After <= 2 for
    at least a second, then accepted (within ~3.5 s of the disable) and the tenant is listed as
    enabled again."""
    g = start(gateways, backend, short_dir(session_dir))
    sent = time.time()
    entry = g.admin.disable("tenant-a", reason="cool down", duration="2s")
    assert entry["enabled"] is False and re.fullmatch(RFC3339, entry["disabled_until"]), entry
    assert assert_refused(push(g, test_pki), max_retry=2) <= 2

    # since is whole seconds and until = since + 2 s, so it ends 1..2 s after `sent`.
    outcomes = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        at = time.time()
        r = push(g, test_pki)
        outcomes.append((round(at - sent, 2), r.status))
        if r.status == 200:
            break
        assert_refused(r, max_retry=2)
        time.sleep(0.2)
    accepted = [t for t, status in outcomes if status == 200]
    assert accepted, f"still refused 5 s after a 2s disable: {outcomes}"
    assert 0.9 <= accepted[0] <= 3.5, outcomes
    assert g.admin.tenants()["tenant-a"]["enabled"] is True


def test_restart_keeps_disabled_tenants(gateways, backend, test_pki, session_dir):
    """Disabled tenants are in state_file (valid JSON, mode 0600) before the answer; after a
    SIGTERM stop a new gateway with the same state_file refuses tenant-a from its first request,
    lists both disabled tenants with the same since/until/reason, and an enable there is
    persisted."""
    d = short_dir(session_dir)
    g1 = start(gateways, backend, d)
    a = g1.admin.disable("tenant-a", reason="abuse")
    ou = g1.admin.disable("ou-client", reason="maintenance", duration="1h")
    state = read_state(g1.state)
    assert set(state) == {"tenant-a", "ou-client"}, state
    assert (state["tenant-a"]["reason"], state["tenant-a"]["until"]) == ("abuse", None)
    assert state["ou-client"]["until"] == ou["disabled_until"]
    assert stat.S_IMODE(os.stat(g1.state).st_mode) == 0o600
    assert g1.stop() == 0

    g2 = start(gateways, backend, d)
    before = len(backend.requests)
    assert_refused(push(g2, test_pki))
    assert push(g2, test_pki, "tenant-b").status == 200
    backend.wait_for_requests(before + 1, timeout=5)
    assert orgids(backend, before) == ["tenant-b"]
    listed = g2.admin.tenants()
    for old in (a, ou):
        new = listed[old["tenant"]]
        assert {k: new[k] for k in ("enabled", "disabled_reason", "disabled_since",
                                    "disabled_until")} == \
            {k: old[k] for k in ("enabled", "disabled_reason", "disabled_since",
                                 "disabled_until")}, (old, new)

    g2.admin.enable("tenant-a")
    assert set(read_state(g2.state)) == {"ou-client"}
    assert push(g2, test_pki).status == 200


class Churn:
    """Sequential disable/enable POSTs of TENANTS (bounded by MAX_REQUESTS) in a thread, keeping
    the state the gateway acknowledged (`acked`) and the one of the request in flight
    (`inflight`), as {tenant: reason}."""

    def __init__(self, admin: Admin, tenants: list[str], state: dict[str, str],
                 rng: random.Random, label: str, max_requests: int = 300):
        self.admin, self.tenants, self.rng, self.label = admin, tenants, rng, label
        self.acked = dict(state)
        self.inflight = dict(state)
        self.done = 0
        self.max_requests = max_requests
        self.stop = threading.Event()
        self.failure: str | None = None  # an unexpected answer (not a dropped connection)
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for i in range(self.max_requests):
            if self.stop.is_set():
                return
            tenant = self.rng.choice(self.tenants)
            nxt = dict(self.acked)
            if tenant in nxt and self.rng.random() < 0.6:
                action, body = "enable", None
                del nxt[tenant]
            else:
                action, reason = "disable", f"{self.label}-{i}"
                body = json.dumps({"reason": reason})
                nxt[tenant] = reason
            self.inflight = nxt
            try:
                r = self.admin.call("POST", f"{TENANTS_PATH}/{tenant}/{action}", body,
                                    timeout=5)
            except (OSError, http.client.HTTPException):
                return  # the gateway was killed
            if r.status != 200 or r.json()["enabled"] != (action == "enable"):
                self.failure = f"{action} {tenant}: {r.status} {r.body}"
                return
            self.acked = nxt
            self.done += 1


def test_sigkill_during_changes_leaves_old_or_new_state(gateways, backend, test_pki,
                                                        session_dir):
    """5 rounds: a thread disables/enables 8 tenants (tenant-a among them) one POST after the
    other; the gateway is SIGKILLed after a random number of answers. The state file is then
    exactly the last acknowledged state or the one of the request in flight (never a mix, never
    unparsable), and a new gateway (same state file and control socket) starts from it: its list
    and tenant-a's data plane agree with the file."""
    seed = random.randrange(1 << 30)
    print(f"kill -9 test seed {seed}")
    rng = random.Random(seed)
    d = short_dir(session_dir)
    tenants = ["tenant-a"] + [f"kill-{i}" for i in range(7)]
    state: dict[str, str] = {}
    g = start(gateways, backend, d)
    for round_no in range(5):
        churn = Churn(g.admin, tenants, state, random.Random(rng.randrange(1 << 30)),
                      f"r{round_no}")
        churn.thread.start()
        target = rng.randint(1, 40)
        gw.wait_until(lambda: churn.done >= target or not churn.thread.is_alive(), timeout=20,
                      interval=0.002, what=f"{target} tenant changes answered")
        time.sleep(rng.uniform(0, 0.01))
        g.proc.kill()  # SIGKILL, this gateway's PID only
        assert g.wait_exit(5) is not None
        churn.stop.set()
        churn.thread.join(10)
        assert not churn.thread.is_alive()
        assert churn.failure is None, churn.failure
        assert churn.done >= target, f"round {round_no}: the churn stopped early"

        on_disk = ({t: e["reason"] for t, e in read_state(g.state).items()}
                   if g.state.exists() else {})
        assert on_disk in (churn.acked, churn.inflight), \
            (round_no, seed, on_disk, churn.acked, churn.inflight)
        print(f"round {round_no}: killed after {churn.done} answers; the file holds the "
              f"{'acknowledged' if on_disk == churn.acked else 'in-flight'} state "
              f"({len(on_disk)} disabled)")
        state = on_disk

        g = start(gateways, backend, d)
        listed = g.admin.tenants()
        assert {t: e["disabled_reason"] for t, e in listed.items() if not e["enabled"]} == state
        resp = push(g, test_pki)
        if "tenant-a" in state:
            assert_refused(resp)
        else:
            assert resp.status == 200, (resp.status, resp.text)

    # The surviving gateway still writes the file (old temp files do not get in the way).
    leftovers = sorted(p.name for p in d.iterdir() if p.name not in ("state.json", "c.sock"))
    print(f"files left by the killed gateways: {leftovers}")
    g.admin.disable("kill-0", reason="final")
    assert read_state(g.state)["kill-0"]["reason"] == "final"


VALID_STATE = (b'{"version": 1, "disabled": [{"tenant": "tenant-a", "reason": "x", '
               b'"since": "2024-01-01T00:00:00Z", "until": null}]}')


@pytest.mark.parametrize("content, why", [
    pytest.param(b"\xff\xfe garbage \x01", "not valid JSON", id="garbage"),
    pytest.param(b"\0" * 64, "", id="nul-bytes"),  # a crash on some filesystems leaves zeros
    pytest.param(VALID_STATE[:60], "not valid JSON", id="truncated"),
    pytest.param(VALID_STATE + b"\0garbage", "", id="trailing-nul-and-garbage"),
    pytest.param(VALID_STATE.replace(b"tenant-a", b"bad tenant/x"), "invalid", id="bad-tenant"),
])
def test_corrupt_state_file_stops_the_start(gateways, backend, session_dir, content, why):
    """A state file that cannot be read is never "everyone enabled" (nor half of it): the
    gateway exits 1 at start with one log line naming the file and what is wrong, and leaves the
    file as it was."""
    d = short_dir(session_dir)
    state = d / "state.json"
    state.write_bytes(content)
    with pytest.raises(gw.GatewayError, match="exited with"):
        start(gateways, backend, d)
    g = gateways.started[-1]
    assert g.returncode == 1, g.returncode
    lines = [line for line in g.log_text().splitlines() if str(state) in line]
    assert len(lines) == 1, g.log_text()
    assert why in lines[0] and "state_file" in lines[0], lines[0]
    assert state.read_bytes() == content


def test_state_file_write_failure_is_500_and_not_applied(gateways, backend, test_pki,
                                                         session_dir):
    """When state_file cannot be written (its directory vanished) a disable answers 500 with a
    JSON error and is not applied: tenant-a still passes and is listed as enabled. Once the
    directory is back, the same disable works."""
    d = short_dir(session_dir)
    sub = d / "sub"
    sub.mkdir()
    g = start(gateways, backend, sub, with_socket=False)
    sub.rmdir()
    r = g.admin.call("POST", f"{TENANTS_PATH}/tenant-a/disable", json.dumps({"reason": "x"}))
    assert r.status == 500, (r.status, r.body)
    assert str(g.state) in r.json()["error"], r.body
    assert push(g, test_pki).status == 200
    assert g.admin.tenants()["tenant-a"]["enabled"] is True
    assert metric_values(g.admin.metrics(), "mla_gateway_tenant_enabled",
                         tenant="tenant-a") == [1]

    sub.mkdir()
    assert g.admin.disable("tenant-a", reason="x")["enabled"] is False
    assert set(read_state(g.state)) == {"tenant-a"}
    assert_refused(push(g, test_pki))


def test_admin_token(gateways, backend, test_pki, session_dir):
    """admin.token_file holds the token plus a newline: POSTs without Authorization get 401 with
    WWW-Authenticate: Bearer and a JSON error, a wrong token 401 as well, nothing changes; the
    right `Bearer <token>` (without the newline) disables and enables; GETs need no token."""
    d = short_dir(session_dir)
    (d / "token").write_text(TOKEN + "\n")
    g = start(gateways, backend, d, with_socket=False, token_file=d / "token")
    disable = f"{TENANTS_PATH}/tenant-a/disable"
    body = json.dumps({"reason": "abuse"})

    r = g.admin.call("POST", disable, body)
    assert r.status == 401, (r.status, r.body)
    assert r.headers.get("www-authenticate", "").startswith("Bearer"), r.headers
    assert r.json()["error"]
    for wrong in ("wrong", TOKEN + "x", TOKEN[:-1], TOKEN + TOKEN):
        r = g.admin.call("POST", disable, body, token=wrong)
        assert r.status == 401, (wrong, r.status, r.body)
        assert "www-authenticate" in r.headers
    r = g.admin.call("POST", disable, body, headers={"Authorization": f"Basic {TOKEN}"})
    assert r.status == 401, r.body
    r = g.admin.call("POST", f"{TENANTS_PATH}/tenant-a/enable")
    assert r.status == 401, (r.status, r.body)
    assert not g.state.exists()
    assert push(g, test_pki).status == 200

    authed = Admin(port=g.admin.port, token=TOKEN)
    assert authed.disable("tenant-a", reason="abuse")["enabled"] is False
    assert_refused(push(g, test_pki))
    assert g.admin.tenants()["tenant-a"]["enabled"] is False  # GET: no token needed
    assert g.admin.call("GET", "/api/v1/status").status == 200
    assert authed.enable("tenant-a")["enabled"] is True
    assert push(g, test_pki).status == 200


def test_bad_api_input(gateways, backend, test_pki, session_dir):
    """Bad tenant IDs, bodies and durations get 400, a GET on .../disable 405 with Allow: POST,
    unknown /api paths 404, each with a JSON {"error": ...}; none changes any state and the
    gateway keeps serving."""
    g = start(gateways, backend, short_dir(session_dir))
    disable = f"{TENANTS_PATH}/tenant-a/disable"
    cases = [
        ("POST", f"{TENANTS_PATH}/bad%20tenant%2Fx/disable", None, 400),
        ("POST", f"{TENANTS_PATH}/%2E%2E/disable", None, 400),
        ("POST", f"{TENANTS_PATH}/{'x' * 151}/disable", None, 400),
        ("POST", f"{TENANTS_PATH}/bad%zz/disable", None, 400),
        ("POST", f"{TENANTS_PATH}/bad%20tenant/enable", None, 400),
        ("POST", disable, '{"reason": "abuse"', 400),
        ("POST", disable, '["abuse"]', 400),
        ("POST", disable, '{"reasn": "abuse"}', 400),
        ("POST", disable, '{"reason": 5}', 400),
        ("POST", disable, '{"duration": "5x"}', 400),
        ("POST", disable, '{"duration": "500ms"}', 400),
        ("POST", disable, '{"duration": "-1h"}', 400),
        ("POST", disable, json.dumps({"reason": "r" * 1025}), 400),
        ("GET", disable, None, 405),
        ("GET", f"{TENANTS_PATH}/tenant-a/enable", None, 405),
        ("POST", f"{TENANTS_PATH}/tenant-a/frobnicate", None, 404),
        ("GET", "/api/v1/nope", None, 404),
        ("POST", "/api/v2/tenants/tenant-a/disable", None, 404),
    ]
    for method, path, body, want in cases:
        r = g.admin.call(method, path, body)
        assert r.status == want, (method, path, body, r.status, r.body)
        err = r.json()["error"]
        assert isinstance(err, str) and err and "\n" not in err, (path, r.body)
        if want == 405:
            assert r.headers.get("allow") == "POST", (path, r.headers)

    assert g.running()
    assert g.admin.call("GET", "/-/healthy").status == 200
    assert all(t["enabled"] for t in g.admin.tenants().values())
    assert not g.state.exists()
    assert push(g, test_pki).status == 200


def test_metrics_follow_the_switch(gateways, backend, test_pki, session_dir):
    """After 3 refused pushes of disabled tenant-a, /metrics shows
    mla_gateway_tenant_enabled{tenant="tenant-a"} 0 (tenant-b 1) and
    mla_gateway_rejected_requests_total{tenant="tenant-a",reason="disabled"} 3; the API's totals
    agree; after enable the gauge is 1 and the counter stays 3."""
    g = start(gateways, backend, short_dir(session_dir))
    assert push(g, test_pki).status == 200
    assert push(g, test_pki, "tenant-b").status == 200
    samples = g.admin.metrics()
    assert metric_values(samples, "mla_gateway_tenant_enabled", tenant="tenant-a") == [1]
    assert sum(metric_values(samples, "mla_gateway_rejected_requests_total", tenant="tenant-a",
                             reason="disabled")) == 0

    g.admin.disable("tenant-a", reason="abuse")
    for _ in range(3):
        assert_refused(push(g, test_pki))
    samples = g.admin.metrics()
    assert metric_values(samples, "mla_gateway_tenant_enabled", tenant="tenant-a") == [0]
    assert metric_values(samples, "mla_gateway_tenant_enabled", tenant="tenant-b") == [1]
    assert sum(metric_values(samples, "mla_gateway_rejected_requests_total", tenant="tenant-a",
                             reason="disabled")) == 3
    assert sum(metric_values(samples, "mla_gateway_rejected_requests_total", tenant="tenant-b",
                             reason="disabled")) == 0
    assert g.admin.tenants()["tenant-a"]["totals"]["rejected"]["disabled"] == 3

    g.admin.enable("tenant-a")
    assert push(g, test_pki).status == 200
    samples = g.admin.metrics()
    assert metric_values(samples, "mla_gateway_tenant_enabled", tenant="tenant-a") == [1]
    assert sum(metric_values(samples, "mla_gateway_rejected_requests_total", tenant="tenant-a",
                             reason="disabled")) == 3
