"""Self-tests of the Python test support (PKI, recording backend, clients) — no gateway needed."""

import http.client
import os
import socket
import ssl
import subprocess
import threading
import time

import pytest

from support import gateway as gw
from support import remote_write as rw
from support.recording_backend import RecordingBackend, Reply


def _openssl_verify(*args):
    return subprocess.run(["openssl", "verify", *args], capture_output=True, text=True,
                          timeout=30)


def test_pki_valid_clients_verify(test_pki):
    """Every valid client and the server certificate chain to the main CA."""
    for name in ("tenant-a", "tenant-b", "logging-agent", "no-cn", "ou", "san-dns", "san-uri"):
        r = _openssl_verify("-CAfile", test_pki.ca.cert_file, "-purpose", "sslclient",
                            test_pki.clients[name].cert_file)
        assert r.returncode == 0, (name, r.stdout, r.stderr)
    r = _openssl_verify("-CAfile", test_pki.ca.cert_file, "-purpose", "sslserver",
                        test_pki.server.cert_file)
    assert r.returncode == 0, r.stderr


def test_pki_bad_clients_fail_verification(test_pki):
    """Expired, revoked (with the CRL) and foreign-CA certificates fail for the stated reason."""
    r = _openssl_verify("-CAfile", test_pki.ca.cert_file, test_pki.clients["expired"].cert_file)
    assert r.returncode != 0 and "expired" in (r.stdout + r.stderr)
    r = _openssl_verify("-crl_check", "-CAfile", test_pki.ca.cert_file, "-CRLfile",
                        test_pki.crl_file, test_pki.clients["revoked"].cert_file)
    assert r.returncode != 0 and "revoked" in (r.stdout + r.stderr)
    r = _openssl_verify("-crl_check", "-CAfile", test_pki.ca.cert_file, "-CRLfile",
                        test_pki.crl_file, test_pki.clients["tenant-a"].cert_file)
    assert r.returncode == 0, r.stderr
    r = _openssl_verify("-CAfile", test_pki.ca.cert_file, test_pki.clients["foreign"].cert_file)
    assert r.returncode != 0


def test_pki_subjects_and_sans(test_pki):
    """The identity fields tenant mapping relies on are in the certificates."""
    def text(name):
        return subprocess.run(["openssl", "x509", "-in", test_pki.clients[name].cert_file,
                               "-noout", "-subject", "-ext", "subjectAltName"],
                              capture_output=True, text=True, timeout=30).stdout
    assert "CN = tenant-a" in text("tenant-a")
    assert "OU = team-ou" in text("ou")
    assert "DNS:tenant-d.clusters.example" in text("san-dns")
    assert "URI:spiffe://cluster.local/ns/tenant-u/sa/prometheus" in text("san-uri")
    assert "CN =" not in text("no-cn")
    assert "bad tenant/x" in text("bad-cn")
    pem = open(test_pki.clients["tenant-a"].pem_file).read()
    assert "BEGIN CERTIFICATE" in pem and "PRIVATE KEY" in pem


def test_recording_backend_records_and_keeps_alive():
    """The backend records requests, reuses one connection and answers per-path replies."""
    with RecordingBackend() as b:
        b.set_reply("/slow", Reply(status=429, headers=[("Retry-After", "7")], body=b"later\n"))
        conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=5)
        conn.request("POST", "/x?q=1", body=b"abc", headers={"X-Scope-OrgID": "t1"})
        r1 = conn.getresponse()
        assert (r1.status, r1.read()) == (200, b"ok\n")
        conn.request("POST", "/slow", body=b"")
        r2 = conn.getresponse()
        assert r2.status == 429 and r2.getheader("Retry-After") == "7" and r2.read() == b"later\n"
        conn.close()
        reqs = b.wait_for_requests(2, timeout=5)
        assert reqs[0].target == "/x?q=1" and reqs[0].path == "/x" and reqs[0].body == b"abc"
        assert reqs[0].header("x-scope-orgid") == "t1"
        assert reqs[0].connection_id == reqs[1].connection_id
        assert reqs[1].index_on_connection == 1
        assert b.connections_total == 1


def test_recording_backend_chunked_delay_close():
    """Chunked request bodies are de-chunked; delay and close actions behave."""
    with RecordingBackend() as b:
        b.set_reply("/delay", Reply(delay=0.3, chunked=True, body=b"x" * 2500))
        b.set_reply("/close", Reply(action="close"))
        conn = http.client.HTTPConnection("127.0.0.1", b.port, timeout=5)
        conn.putrequest("POST", "/delay")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders(iter([b"hello ", b"world"]), encode_chunked=True)
        start = time.monotonic()
        r = conn.getresponse()
        assert r.read() == b"x" * 2500 and time.monotonic() - start >= 0.25
        assert b.requests[0].body == b"hello world"
        conn.request("POST", "/close", body=b"")
        with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
            conn.getresponse()
        conn.close()


def test_recording_backend_idle_timeout_closes():
    """With idle_timeout the backend closes idle keep-alive connections."""
    with RecordingBackend(idle_timeout=0.3) as b:
        s = socket.create_connection(("127.0.0.1", b.port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"ok\n" not in data:
            data += s.recv(4096)
        start = time.monotonic()
        s.settimeout(5)
        assert s.recv(4096) == b""
        assert time.monotonic() - start < 3
        s.close()


def test_reserved_port_refuses():
    """A ReservedPort refuses connections."""
    with gw.ReservedPort() as p:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", p.port), timeout=2)


def test_to_yaml_round_trips_when_pyyaml_is_present(test_pki):
    """to_yaml output parses back to the same structure (checked with PyYAML if installed)."""
    yaml = pytest.importorskip("yaml")
    cfg = gw.gateway_config(test_pki, 1234, {"cortex": "http://127.0.0.1:1",
                                             "loki": {"url": "http://127.0.0.1:2",
                                                      "timeout": "1s"}},
                            tenant={"allowed": [], "pattern": "^a(b)$"})
    assert yaml.safe_load(gw.to_yaml(cfg)) == cfg


def test_snappy_and_remote_write_round_trip():
    """The literal-only snappy encoder and the full decoder agree; WriteRequests round-trip."""
    for size in (0, 1, 59, 60, 61, 255, 256, 65535, 65536, 200_000):
        data = os.urandom(size)
        assert rw.snappy_decompress(rw.snappy_compress(data)) == data
    # A hand-made compressed block with an overlapping copy: "abcabcabcabc".
    block = bytes([12, (3 - 1) << 2]) + b"abc" + bytes([((9 - 4) << 2) | 1, 3])
    assert rw.snappy_decompress(block) == b"abcabcabcabc"
    series = [({"__name__": "m", "job": "j"}, [(1.5, 1000), (2.5, 2000)])]
    assert rw.decode_write_request(rw.encode_write_request(series)) == series
    body = rw.remote_write_body("m2", {"a": "b"}, samples=3, now_ms=10_000)
    decoded = rw.decode_write_request(rw.snappy_decompress(body))
    assert decoded == [({"__name__": "m2", "a": "b"}, [(1.0, 9998), (2.0, 9999), (3.0, 10000)])]


class _MtlsEchoServer:
    """A Python mTLS server using the test PKI, to check the client helpers without the gateway."""

    def __init__(self, test_pki, crl=False):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(test_pki.server.cert_file, test_pki.server.key_file)
        self.ctx.load_verify_locations(test_pki.ca.cert_file)
        self.ctx.verify_mode = ssl.CERT_REQUIRED
        if crl:
            self.ctx.load_verify_locations(test_pki.crl_file)
            self.ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            with self.ctx.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
        except (ssl.SSLError, OSError):
            pass

    def close(self):
        self.sock.close()


@pytest.mark.parametrize("client,rejected", [("tenant-a", False), (None, True),
                                             ("foreign", True), ("expired", True),
                                             ("revoked", True)])
def test_tls_rejected_helper_against_python_server(test_pki, client, rejected):
    """tls_rejected() tells an accepted client from a refused one (TLS 1.3 and 1.2)."""
    server = _MtlsEchoServer(test_pki, crl=True)
    try:
        for max_version in (None, ssl.TLSVersion.TLSv1_2):
            ctx = gw.client_context(test_pki, client, max_version=max_version)
            got, why = gw.tls_rejected(server.port, ctx, timeout=5)
            assert got == rejected, (client, max_version, why)
    finally:
        server.close()


def test_s_client_helper_against_python_server(test_pki):
    """s_client() exits 0 with a valid client cert and non-zero without one (TLS 1.2)."""
    server = _MtlsEchoServer(test_pki)
    try:
        leaf = test_pki.clients["tenant-a"]
        rc, out = gw.s_client(server.port, leaf.cert_file, leaf.key_file, test_pki.ca.cert_file)
        assert rc == 0, out
        rc, out = gw.s_client(server.port, None, None, test_pki.ca.cert_file)
        assert rc != 0, out
    finally:
        server.close()


def test_raw_tls_reads_a_response(test_pki):
    """RawTls parses a Content-Length response from the Python mTLS server."""
    server = _MtlsEchoServer(test_pki)
    try:
        with gw.RawTls(server.port, gw.client_context(test_pki, "tenant-a"), timeout=5) as c:
            c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            r = c.read_response(timeout=5)
            assert (r.status, r.body) == (200, b"ok\n")
            assert c.wait_closed(timeout=5)
    finally:
        server.close()


def test_orphan_guard_kills_children_of_a_dead_runner(tmp_path):
    """Processes started behind orphan_guard() die with the process that started them."""
    if not gw.orphan_guard():
        pytest.skip("setpriv not available")
    pid_file = tmp_path / "child.pid"
    script = (f"import subprocess, sys\n"
              f"p = subprocess.Popen({gw.orphan_guard()!r} + ['sleep', '60'])\n"
              f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
              f"sys.stdout.write('ready\\n'); sys.stdout.flush()\n"
              f"import time; time.sleep(60)\n")
    runner = subprocess.Popen(["/usr/bin/python3", "-c", script], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert runner.stdout.readline().strip() == "ready"
        child = int(pid_file.read_text())
        # setpriv sets the parent-death signal before it execs: wait for the exec.
        gw.wait_until(lambda: open(f"/proc/{child}/comm").read().strip() == "sleep",
                      timeout=10, what="setpriv exec")
        runner.kill()
        runner.wait(timeout=5)

        def gone():
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return True
            try:
                stat = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
            except FileNotFoundError:
                return True
            return stat == "Z"

        gw.wait_until(gone, timeout=5, what="orphaned child killed")
    finally:
        if runner.poll() is None:
            runner.kill()


def test_sanitizer_reports_are_found_in_logs():
    """The fixture that fails a test on a sanitizer report recognises each sanitizer's first
    line (as printed by GCC 12's runtimes) and nothing in an ordinary log."""
    log = "\n".join([
        'level=info msg="listening"',
        "==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020",
        "==123==ERROR: LeakSanitizer: detected memory leaks",
        "gateway/x.cc:10:5: runtime error: signed integer overflow",
        "WARNING: ThreadSanitizer: data race (pid=123)",
        'level=warn msg="request rejected" reason="runtime is fine"',
    ])
    assert len(gw.sanitizer_reports(log)) == 4
    assert gw.sanitizer_reports('level=info msg="stopped"\n') == []
