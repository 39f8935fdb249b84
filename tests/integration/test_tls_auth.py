"""mTLS client authentication on the data plane (DESIGN.md §4, first row): bad certificates fail
the TLS handshake and never reach the upstream; good ones are served."""

import socket
import ssl
import types

import pytest

from support import gateway as gw
from support.recording_backend import RecordingBackend

BAD_CLIENTS = ["no-cert", "foreign", "expired", "revoked"]


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    """One gateway with the CRL configured, in front of a recording backend."""
    backend = RecordingBackend().start()
    g = module_gateways.start({"cortex": backend.url, "loki": backend.url},
                              tls={"crl_file": test_pki.crl_file})
    yield types.SimpleNamespace(gw=g, backend=backend, pki=test_pki)
    backend.stop()


@pytest.fixture(autouse=True)
def _fresh_backend(env):
    env.backend.reset()


def _ctx(env, name, **kw):
    return gw.client_context(env.pki, None if name == "no-cert" else name, **kw)


def test_valid_client_is_served(env):
    """A client certificate from the configured CA gets an answer from the upstream."""
    r = gw.https_request(env.gw.port, _ctx(env, "tenant-a"), "POST", "/raw/hello", b"x")
    assert r.status == 200 and r.body == b"ok\n"
    assert len(env.backend.wait_for_requests(1, timeout=5)) == 1


def test_server_certificate_matches_localhost_and_ip(env):
    """The gateway presents the configured server cert, valid for both localhost and 127.0.0.1."""
    ctx = _ctx(env, "tenant-a")
    for name in ("localhost", "127.0.0.1"):
        with socket.create_connection(("127.0.0.1", env.gw.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname=name) as tls:
                cert = tls.getpeercert()
                assert ("DNS", "localhost") in cert["subjectAltName"]


@pytest.mark.parametrize("tls_max", [None, ssl.TLSVersion.TLSv1_2], ids=["tls13", "tls12"])
@pytest.mark.parametrize("client", BAD_CLIENTS)
def test_bad_client_certificate_fails_handshake(env, client, tls_max):
    """No cert, unknown CA, expired and revoked certs are refused at the TLS layer (1.3 and 1.2)."""
    rejected, why = gw.tls_rejected(env.gw.port, _ctx(env, client, max_version=tls_max))
    assert rejected, f"{client}: expected a TLS failure, got: {why}"
    assert env.backend.requests == []


@pytest.mark.parametrize("client", BAD_CLIENTS)
def test_s_client_sees_handshake_alert(env, client):
    """openssl s_client (TLS 1.2) fails the handshake with an alert for each bad certificate."""
    leaf = None if client == "no-cert" else env.pki.clients[client]
    rc, out = gw.s_client(env.gw.port, leaf and leaf.cert_file, leaf and leaf.key_file,
                          env.pki.ca.cert_file)
    assert rc != 0, out
    assert "alert" in out.lower(), out


def test_s_client_valid_certificate_handshakes(env):
    """openssl s_client completes the handshake with a valid client certificate."""
    leaf = env.pki.clients["tenant-a"]
    rc, out = gw.s_client(env.gw.port, leaf.cert_file, leaf.key_file, env.pki.ca.cert_file)
    assert rc == 0, out
    assert "Verify return code: 0" in out


def test_curl_with_and_without_client_certificate(env):
    """curl --cert/--key/--cacert is served; curl without a cert or with a foreign one is not."""
    ok = gw.curl(env.gw.port, "/raw/curl", env.pki.clients["tenant-a"], env.pki.ca.cert_file,
                 headers=("Content-Type: text/plain",), extra=("--data-binary", "hi"))
    assert ok.rc == 0 and ok.status == 200, ok.stderr
    for leaf in (None, env.pki.clients["foreign"], env.pki.clients["expired"]):
        bad = gw.curl(env.gw.port, "/raw/curl", leaf, env.pki.ca.cert_file,
                      extra=("--data-binary", "hi"))
        assert bad.rc != 0 and bad.status == 0, (leaf, bad)
    assert len(env.backend.requests) == 1


def test_combined_pem_works_with_curl(env):
    """The combined cert+key PEM (as used with ab -E / curl -E) authenticates."""
    leaf = env.pki.clients["tenant-b"]
    r = gw.curl(env.gw.port, "/raw/pem", None, env.pki.ca.cert_file,
                extra=("-E", leaf.pem_file, "--data-binary", "x"))
    assert r.rc == 0 and r.status == 200, r.stderr


def test_alpn_h2_not_selected_when_http2_is_off(env):
    """With server.http2 false a client offering h2 via ALPN gets HTTP/1.1 (or no ALPN)."""
    ctx = _ctx(env, "tenant-a")
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", env.gw.port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() in (None, "http/1.1")
    r = gw.https_request(env.gw.port, ctx, "POST", "/raw/alpn", b"")
    assert r.status == 200


def test_plain_http_is_not_served(env):
    """A plaintext HTTP request on the mTLS port gets no HTTP success and reaches no upstream."""
    with socket.create_connection(("127.0.0.1", env.gw.port), timeout=5) as s:
        s.sendall(b"POST /raw/plain HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        s.settimeout(5)
        try:
            data = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
    assert not data.startswith(b"HTTP/1.1 2")
    assert env.backend.requests == []


def test_handshake_failure_is_logged(env):
    """A refused client certificate leaves a handshake-failure line in the gateway log."""
    offset = env.gw.log_size()
    gw.tls_rejected(env.gw.port, _ctx(env, "foreign"))
    gw.wait_until(lambda: "handshake" in env.gw.log_since(offset).lower(), timeout=5,
                  what="a handshake failure log line")


def test_revoked_certificate_is_served_without_crl(gateways, backend, test_pki):
    """Without crl_file the revoked certificate is accepted: the CRL is what refuses it."""
    g = gateways.start({"cortex": backend.url, "loki": backend.url})
    r = gw.https_request(g.port, gw.client_context(test_pki, "revoked"), "POST", "/raw/x", b"")
    assert r.status == 200


def test_min_version_tls13_refuses_tls12(gateways, backend, test_pki):
    """With tls.min_version TLS1.3 a TLS 1.2-only client cannot connect; TLS 1.3 works."""
    g = gateways.start({"cortex": backend.url, "loki": backend.url},
                       tls={"min_version": "TLS1.3"})
    old = gw.client_context(test_pki, "tenant-a", max_version=ssl.TLSVersion.TLSv1_2)
    rejected, why = gw.tls_rejected(g.port, old)
    assert rejected, why
    r = gw.https_request(g.port, gw.client_context(test_pki, "tenant-a"), "POST", "/raw/x", b"")
    assert r.status == 200
