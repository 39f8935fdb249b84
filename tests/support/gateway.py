"""Start the real mla-gateway binary and talk to it (integration and e2e tests).

- free_port() / ReservedPort: loopback ports (a ReservedPort is bound but never listens, so
  connecting to it is refused: the "upstream refused" case).
- gateway_config(): the issue-3 config as a dict; to_yaml() writes it.
- Gateway: the process (PID kept, stderr to a file), readiness wait, SIGTERM-then-SIGKILL stop.
- client_context() / HttpsClient / https_request(): requests over mTLS with http.client.
- RawTls: a raw TLS socket for hostile input (conflicting headers, slowloris, 100-continue).
- tls_rejected() / s_client() / curl(): handshake-failure and command-line client checks.

Every wait is bounded; nothing here signals a process it did not start.
"""

from __future__ import annotations

import contextlib
import dataclasses
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import threading
import subprocess
import tempfile
import time
from pathlib import Path

from . import pki as pki_mod

SOURCE_DIR = Path(os.environ.get("MLA_SOURCE_DIR") or Path(__file__).resolve().parents[2])
SHARED_DIR = Path(os.environ.get("MLA_SHARED_DIR") or SOURCE_DIR.parent / "shared")
DEFAULT_BIN = SOURCE_DIR / "build" / "bin" / "mla-gateway"


def orphan_guard() -> list[str]:
    """Command prefix that SIGKILLs the child if the test process dies (util-linux setpriv),
    so an interrupted run never leaves gateways or Prometheus processes behind."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "KILL", "--"] if setpriv else []


def gateway_binary() -> str | None:
    """Path of the gateway binary: $MLA_GATEWAY_BIN, else build/bin/mla-gateway; None if absent."""
    path = os.environ.get("MLA_GATEWAY_BIN") or str(DEFAULT_BIN)
    return path if os.path.isfile(path) and os.access(path, os.X_OK) else None


# --- ports ------------------------------------------------------------------------------------

def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ReservedPort:
    """A bound, non-listening loopback port: connections to it are refused (ECONNREFUSED)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "ReservedPort":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll PREDICATE until it returns a truthy value (returned); TimeoutError after TIMEOUT s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout}s")
        time.sleep(interval)


# --- config -----------------------------------------------------------------------------------

def _yaml_scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return '""'
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(obj, indent: int = 0) -> str:
    """Block-style YAML for dicts/lists/scalars (enough for gateway and Prometheus configs)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            if isinstance(value, dict) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 2))
            elif isinstance(value, list) and value:
                lines.append(f"{pad}{key}:")
                lines.append(to_yaml(value, indent + 2))
            elif isinstance(value, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(value, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(value)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                inner = to_yaml(item, indent + 2).splitlines()
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines.extend(inner[1:])
            elif isinstance(item, dict):
                lines.append(f"{pad}- {{}}")
            elif isinstance(item, list):
                lines.append(f"{pad}- []")
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(f"{pad}{_yaml_scalar(obj)}")
    return "\n".join(lines)


DEFAULT_ROUTES = [
    {"path": "/api/v1/push", "kind": "prometheus_remote_write", "upstream": "cortex"},
    {"path": "/loki/api/v1/push", "kind": "loki_push", "upstream": "loki",
     "clients": ["logging-agent"]},
    {"path_prefix": "/raw/", "kind": "passthrough", "upstream": "cortex"},
]


def gateway_config(test_pki: pki_mod.TestPki, port: int, upstreams: dict,
                   routes: list | None = None, server: dict | None = None,
                   tls: dict | None = None, tenant: dict | None = None,
                   admin: dict | None = None, extra: dict | None = None) -> dict:
    """The issue-3 config (DESIGN.md §3 subset). UPSTREAMS maps name -> url or {url, timeout}.
    server/tls/tenant entries override the defaults key by key. ADMIN is the `admin` section;
    by default the admin listener is off (`listen: ""`), so parallel gateways never collide on
    its default port 127.0.0.1:9091."""
    cfg_server = {
        "listen": f"127.0.0.1:{port}",
        "threads": 2,
        "max_connections": 10000,
        "max_request_body_bytes": "1MiB",
        "read_header_timeout": "10s",
        "idle_timeout": "120s",
        "request_timeout": "60s",
        "http2": False,
        "shutdown_grace_period": "30s",
    }
    cfg_server.update(server or {})
    cfg_tls = {
        "cert_file": test_pki.server.cert_file,
        "key_file": test_pki.server.key_file,
        "client_ca_file": test_pki.ca.cert_file,
        "crl_file": "",
        "min_version": "TLS1.2",
    }
    cfg_tls.update(tls or {})
    cfg_tenant = {"source": "subject_cn", "header": "X-Scope-OrgID"}
    cfg_tenant.update(tenant or {})
    ups = {}
    for name, value in upstreams.items():
        ups[name] = {"url": value} if isinstance(value, str) else dict(value)
    return {
        "server": cfg_server,
        "tls": cfg_tls,
        "tenant": cfg_tenant,
        "routes": routes if routes is not None else DEFAULT_ROUTES,
        "upstreams": ups,
        "admin": admin if admin is not None else {"listen": ""},
        **(extra or {}),  # further top-level sections as given, e.g. read, limits
    }


# --- the process ------------------------------------------------------------------------------

class GatewayError(RuntimeError):
    pass


class Gateway:
    """One mla-gateway process started from a config dict (or a ready YAML text)."""

    def __init__(self, binary: str, workdir: str | os.PathLike, config: dict | str,
                 log_level: str = "debug", log_format: str = "logfmt",
                 probe_context: ssl.SSLContext | None = None, extra_args: tuple = ()):
        self.binary = binary
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = config
        self.config_file = self.workdir / "gateway.yaml"
        self.log_file = self.workdir / "gateway.log"
        self.log_level = log_level
        self.log_format = log_format
        self.probe_context = probe_context
        self.extra_args = tuple(extra_args)
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.port = self._port_from_config()

    def _port_from_config(self) -> int:
        if isinstance(self.config, dict):
            listen = self.config["server"]["listen"]
        else:
            listen = next(line.split(":", 1)[1] for line in self.config.splitlines()
                          if line.strip().startswith("listen:")).strip().strip('"')
        return int(listen.rsplit(":", 1)[1])

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def write_config(self) -> Path:
        text = self.config if isinstance(self.config, str) else to_yaml(self.config) + "\n"
        self.config_file.write_text(text)
        return self.config_file

    def command(self) -> list[str]:
        return [self.binary, f"--config.file={self.config_file}",
                f"--log.level={self.log_level}", f"--log.format={self.log_format}",
                *self.extra_args]

    def start(self, timeout: float = 15.0) -> "Gateway":
        self.write_config()
        log = open(self.log_file, "ab")
        try:
            self.proc = subprocess.Popen(orphan_guard() + self.command(),
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=self.workdir)
        finally:
            log.close()
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Wait until the data-plane port completes a TLS handshake (or accepts TCP when no probe
        context was given). Raises GatewayError with the log if the process exits first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.returncode = self.proc.returncode
                raise GatewayError(f"gateway exited with {self.returncode} during start-up; "
                                   f"log:\n{self.log_text()[-4000:]}")
            if self._probe():
                return
            if time.monotonic() >= deadline:
                self.stop()
                raise GatewayError(f"gateway port {self.port} not ready within {timeout}s; "
                                   f"log:\n{self.log_text()[-4000:]}")
            time.sleep(0.05)

    def _probe(self) -> bool:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=1.0)
        except OSError:
            return False
        try:
            if self.probe_context is None:
                return True
            with self.probe_context.wrap_socket(sock, server_hostname="localhost") as tls:
                tls.do_handshake()
                return True
        except (OSError, ssl.SSLError):
            return False
        finally:
            sock.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig: int) -> None:
        if self.running():
            self.proc.send_signal(sig)

    def wait_exit(self, timeout: float) -> int | None:
        """The exit status, or None if still running after TIMEOUT s."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
            return self.returncode
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, wait up to TIMEOUT s, then SIGKILL (only this process, by its PID)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            if self.wait_exit(timeout) is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
                self.returncode = self.proc.returncode
        self.returncode = self.proc.returncode
        return self.returncode

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self) -> int:
        try:
            return self.log_file.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int) -> str:
        with open(self.log_file, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


class GatewayPool:
    """Starts gateways for a test or module; stop_all() stops them and prints their logs."""

    def __init__(self, binary: str, base_dir: str | os.PathLike, test_pki: pki_mod.TestPki):
        self.binary = binary
        self.base_dir = Path(base_dir)
        self.pki = test_pki
        self.started: list[Gateway] = []

    def start(self, upstreams: dict, routes: list | None = None, server: dict | None = None,
              tls: dict | None = None, tenant: dict | None = None, port: int | None = None,
              admin: dict | None = None, extra: dict | None = None,
              log_level: str = "debug", log_format: str = "logfmt",
              raw_config: str | None = None, timeout: float = 15.0) -> Gateway:
        """Start a gateway; on a free_port() race (address in use) retry with another port."""
        attempts = 1 if (port or raw_config is not None) else 3
        for attempt in range(attempts):
            listen_port = port or free_port()
            config = raw_config if raw_config is not None else gateway_config(
                self.pki, listen_port, upstreams, routes=routes, server=server, tls=tls,
                tenant=tenant, admin=admin, extra=extra)
            workdir = Path(tempfile.mkdtemp(prefix=f"gw{len(self.started)}-", dir=self.base_dir))
            gw = Gateway(self.binary, workdir, config, log_level=log_level,
                         log_format=log_format, probe_context=client_context(self.pki, "tenant-a"))
            self.started.append(gw)
            try:
                return gw.start(timeout=timeout)
            except GatewayError as e:
                if "address already in use" not in str(e).lower() or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def stop_all(self) -> list[str]:
        """Stop every gateway, print its log tail; returns the sanitizer reports found in the
        logs (ASan, LSan at exit, UBSan, TSan), so the fixture can fail the test on them."""
        findings = []
        for gw in self.started:
            rc = gw.stop()
            log = gw.log_text()
            print(f"--- gateway pid {gw.proc.pid if gw.proc else '?'} port {gw.port} exit {rc} "
                  f"({gw.log_file}); last 60 log lines:")
            print("\n".join(log.splitlines()[-60:]))
            findings += [f"{gw.log_file}: {line.strip()}" for line in sanitizer_reports(log)]
        return findings


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer", "runtime error:")


def sanitizer_reports(log: str) -> list[str]:
    """The lines of a process log where a sanitizer reported an error."""
    return [line for line in log.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


# --- clients ----------------------------------------------------------------------------------

def client_context(test_pki: pki_mod.TestPki | None, client: str | pki_mod.Leaf | None,
                   ca_file: str | None = None, max_version: ssl.TLSVersion | None = None,
                   min_version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """Client SSLContext trusting the test CA (or CA_FILE), presenting CLIENT's cert (if any)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca_file or test_pki.ca.cert_file)
    if client is not None:
        leaf = test_pki.clients[client] if isinstance(client, str) else client
        ctx.load_cert_chain(leaf.cert_file, leaf.key_file)
    if max_version is not None:
        ctx.maximum_version = max_version
    if min_version is not None:
        ctx.minimum_version = min_version
    return ctx


@dataclasses.dataclass
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k.lower() == low:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k.lower() == low]

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


class HttpsClient:
    """A keep-alive HTTPS connection (http.client) to the gateway; sends headers verbatim."""

    def __init__(self, port: int, context: ssl.SSLContext, host: str = "127.0.0.1",
                 timeout: float = 10.0):
        self.conn = http.client.HTTPSConnection(host, port, context=context, timeout=timeout)

    def connect(self) -> "HttpsClient":
        self.conn.connect()
        return self

    @property
    def sock(self):
        return self.conn.sock

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: list[tuple[str, str]] | dict | None = None,
                chunks: list[bytes] | None = None) -> Response:
        """Send one request. Headers go out as given (duplicates allowed); Content-Length is added
        for BODY unless given; CHUNKS sends a chunked body instead."""
        items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        names = {k.lower() for k, _ in items}
        self.conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in items:
            self.conn.putheader(k, v)
        if chunks is not None:
            if "transfer-encoding" not in names:
                self.conn.putheader("Transfer-Encoding", "chunked")
            self.conn.endheaders(iter(chunks), encode_chunked=True)
        else:
            if body is not None and "content-length" not in names:
                self.conn.putheader("Content-Length", str(len(body)))
            self.conn.endheaders(body)
        resp = self.conn.getresponse()
        data = resp.read()
        return Response(resp.status, resp.reason, list(resp.getheaders()), data)

    def post(self, path: str, body: bytes = b"", headers=None) -> Response:
        return self.request("POST", path, body, headers)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "HttpsClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def https_request(port: int, context: ssl.SSLContext, method: str, path: str,
                  body: bytes | None = None, headers=None, timeout: float = 10.0) -> Response:
    """One request on a fresh connection."""
    with HttpsClient(port, context, timeout=timeout) as c:
        return c.request(method, path, body, headers)


class RawTls:
    """A TLS socket for hand-written (possibly malformed or trickled) HTTP/1.1."""

    def __init__(self, port: int, context: ssl.SSLContext, timeout: float = 10.0,
                 server_hostname: str = "localhost"):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = context.wrap_socket(raw, server_hostname=server_hostname)
        except Exception:
            raw.close()
            raise
        self.buf = b""
        self.eof = False

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        """Read more bytes into buf; False on EOF/reset. Raises TimeoutError at DEADLINE."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the gateway in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except (socket.timeout, TimeoutError):
            raise TimeoutError("no data from the gateway in time") from None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
            data = b""
        except ssl.SSLError as e:
            if "closed" in str(e).lower() or "eof" in str(e).lower():
                data = b""
            else:
                raise
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_until(self, marker: bytes, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if not self._fill(deadline):
                raise EOFError(f"connection closed before {marker!r}; got {self.buf[:200]!r}")
        idx = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:idx], self.buf[idx:]
        return out

    def read_exact(self, n: int, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise EOFError(f"connection closed after {len(self.buf)} of {n} bytes")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, timeout: float = 10.0, method: str = "POST") -> Response:
        """Read one response (1xx interim responses are returned as they come)."""
        deadline = time.monotonic() + timeout
        head = self.read_until(b"\r\n\r\n", timeout=max(0.0, deadline - time.monotonic()))
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            if line:
                k, _, v = line.partition(":")
                headers.append((k.strip(), v.strip()))
        resp = Response(status, reason, headers, b"")
        if status < 200 or status in (204, 304) or method == "HEAD":
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            body = b""
            while True:
                size_line = self.read_until(b"\r\n", max(0.0, deadline - time.monotonic()))
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    self.read_until(b"\r\n", max(0.0, deadline - time.monotonic()))
                    break
                body += self.read_exact(size, max(0.0, deadline - time.monotonic()))
                self.read_exact(2, max(0.0, deadline - time.monotonic()))
            resp.body = body
        elif resp.header("Content-Length") is not None:
            resp.body = self.read_exact(int(resp.header("Content-Length")),
                                        max(0.0, deadline - time.monotonic()))
        else:
            while self._fill(deadline):
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def read_final_response(self, timeout: float = 10.0,
                            method: str = "POST") -> tuple[Response, list[int]]:
        """Read past any 1xx interim responses; (final response, interim status codes)."""
        deadline = time.monotonic() + timeout
        interim = []
        while True:
            try:
                r = self.read_response(timeout=max(0.0, deadline - time.monotonic()),
                                       method=method)
            except (TimeoutError, EOFError) as e:
                raise type(e)(f"no final response within {timeout}s after interim responses "
                              f"{interim} ({e})") from None
            if r.status >= 200 or r.status == 101:
                return r, interim
            interim.append(r.status)

    def wait_closed(self, timeout: float) -> bool:
        """Read (and keep in buf) until the peer closes; True if it closed within TIMEOUT s."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                pass
            return True
        except TimeoutError:
            return False
        except (OSError, ssl.SSLError):
            return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> "RawTls":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def send_then_read(port: int, context: ssl.SSLContext, head: bytes, body: bytes = b"",
                   timeout: float = 15.0) -> tuple[Response, str | None]:
    """Send HEAD and BODY like a simple client (all of it, then read), but if the gateway
    answers early and closes while we are still sending, keep going to read its answer.
    Returns (response, the send error or None)."""
    with RawTls(port, context, timeout=timeout) as c:
        send_error = None
        try:
            c.send(head)
            view = memoryview(body)
            for i in range(0, len(body), 65536):
                c.send(view[i:i + 65536])
        except (OSError, ssl.SSLError) as e:
            send_error = type(e).__name__
        return c.read_response(timeout=timeout), send_error


def tls_rejected(port: int, context: ssl.SSLContext, timeout: float = 5.0,
                 path: str = "/api/v1/push") -> tuple[bool, str]:
    """Try a handshake and one request. (True, why) if the TLS layer refused us (alert, reset or
    EOF before any HTTP answer); (False, status line) if an HTTP response came back. With TLS 1.3
    the client's handshake completes before the server has checked the client certificate, so
    the server's alert shows up on the first read."""
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:
        return True, f"connect: {e}"
    try:
        tls = context.wrap_socket(raw, server_hostname="localhost")
    except (ssl.SSLError, OSError) as e:
        raw.close()
        return True, f"handshake: {e}"
    try:
        tls.settimeout(timeout)
        tls.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"
                    .encode())
        data = tls.recv(65536)
        if not data:
            return True, "EOF before any response"
        return False, data.split(b"\r\n", 1)[0].decode(errors="replace")
    except (socket.timeout, TimeoutError):
        return False, f"no answer and no alert within {timeout}s"
    except (ssl.SSLError, OSError) as e:
        return True, f"after handshake: {e}"
    finally:
        tls.close()


def s_client(port: int, cert: str | None = None, key: str | None = None,
             ca_file: str | None = None, version_flag: str = "-tls1_2",
             timeout: float = 15.0) -> tuple[int, str]:
    """`openssl s_client` against the gateway with stdin closed; (exit status, output)."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost"]
    if version_flag:
        args.append(version_flag)
    if ca_file:
        args += ["-CAfile", ca_file, "-verify_return_error"]
    if cert:
        args += ["-cert", cert]
    if key:
        args += ["-key", key]
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return proc.returncode, proc.stdout


@dataclasses.dataclass
class CurlResult:
    rc: int
    status: int
    body: bytes
    stderr: str
    elapsed: float


def curl(port: int, path: str, leaf: pki_mod.Leaf | None, ca_file: str,
         data_file: str | None = None, headers: tuple[str, ...] = (), method: str | None = None,
         extra: tuple[str, ...] = (), host: str = "127.0.0.1", timeout: float = 30.0) -> CurlResult:
    """curl --cert/--key/--cacert; STATUS is 0 when no HTTP response was received."""
    with tempfile.NamedTemporaryFile(prefix="curl-body-") as out:
        args = ["curl", "-sS", "--max-time", str(int(timeout)), "--cacert", ca_file,
                "-o", out.name, "-w", "%{http_code}"]
        if leaf is not None:
            args += ["--cert", leaf.cert_file, "--key", leaf.key_file]
        if data_file is not None:
            args += ["--data-binary", f"@{data_file}"]
        if method:
            args += ["-X", method]
        for h in headers:
            args += ["-H", h]
        args += list(extra)
        args.append(f"https://{host}:{port}{path}")
        start = time.monotonic()
        proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout + 10)
        elapsed = time.monotonic() - start
        body = Path(out.name).read_bytes()
    code = proc.stdout.strip()
    return CurlResult(proc.returncode, int(code) if code.isdigit() else 0, body, proc.stderr,
                      elapsed)


def one_line_reason(body: bytes) -> bool:
    """A gateway error body: non-empty text, one line (an optional trailing newline)."""
    text = body.decode("utf-8", errors="strict")
    stripped = text[:-1] if text.endswith("\n") else text
    stripped = stripped[:-1] if stripped.endswith("\r") else stripped
    return bool(stripped.strip()) and "\n" not in stripped and "\r" not in stripped


def in_background(fn):
    """Run FN in a daemon thread; returns (thread, dict with 'value' or 'error')."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except Exception as e:  # reported by the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out
