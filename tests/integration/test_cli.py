"""Command line and configuration errors (DESIGN.md §2, §3): --version, --check-config exit
codes, config errors naming the key and its line:column, logs on stderr in logfmt or JSON."""

import json
import re
import signal
import subprocess
import types

import pytest

from support import gateway as gw


@pytest.fixture(scope="module")
def env(gateway_bin, test_pki, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    good = gw.to_yaml(gw.gateway_config(test_pki, gw.free_port(),
                                        {"cortex": "http://127.0.0.1:9", "loki":
                                         "http://127.0.0.1:9"})) + "\n"
    return types.SimpleNamespace(bin=gateway_bin, tmp=tmp, good=good, pki=test_pki)


def _run(env, *args, config_text=None, timeout=15):
    cfg = env.tmp / "config.yaml"
    if config_text is not None:
        cfg.write_text(config_text)
    return subprocess.run([env.bin, f"--config.file={cfg}", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)


def test_version_prints_and_exits_zero(env):
    """--version prints the program name and a version and exits 0."""
    r = subprocess.run([env.bin, "--version"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0
    assert re.search(r"mla-gateway\s+\S+", r.stdout + r.stderr), (r.stdout, r.stderr)


def test_check_config_accepts_valid_config(env):
    """--check-config exits 0 for a valid config without starting to serve."""
    r = _run(env, "--check-config", config_text=env.good)
    assert r.returncode == 0, r.stderr


def _replace(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


BAD_CONFIGS = [
    # (id, transform of the good YAML, text that must appear in the error)
    ("unknown-section", lambda t, p: t + "bogus: {}\n", "bogus"),
    ("unknown-server-key", lambda t, p: _replace(t, "  threads: 2", "  threads: 2\n  bogus_key: 1"),
     "server.bogus_key"),
    ("bad-duration", lambda t, p: _replace(t, '"10s"', '"10 parsecs"'),
     "server.read_header_timeout"),
    ("bad-size", lambda t, p: _replace(t, '"1MiB"', '"1 lightyear"'),
     "server.max_request_body_bytes"),
    ("wrong-type", lambda t, p: _replace(t, "threads: 2", "threads: two"), "server.threads"),
    ("unknown-upstream", lambda t, p: _replace(t, 'upstream: "loki"', 'upstream: "nowhere"'),
     "upstream"),
    ("pattern-without-group",
     lambda t, p: _replace(t, 'source: "subject_cn"',
                           'source: "subject_cn"\n  pattern: "^c-[a-z]+$"'),
     "tenant.pattern"),
    ("bad-tenant-source", lambda t, p: _replace(t, 'source: "subject_cn"', 'source: "bogus"'),
     "tenant.source"),
    ("unreadable-cert", lambda t, p: _replace(t, p.server.cert_file, "/nonexistent/cert.pem"),
     "tls.cert_file"),
    ("unreadable-client-ca", lambda t, p: _replace(t, p.ca.cert_file, "/nonexistent/ca.pem"),
     "tls.client_ca_file"),
    ("bad-min-version", lambda t, p: _replace(t, '"TLS1.2"', '"SSLv3"'), "tls.min_version"),
    ("bad-route-kind", lambda t, p: _replace(t, 'kind: "passthrough"', 'kind: "teleport"'),
     "kind"),
]


@pytest.mark.parametrize("transform,needle", [b[1:] for b in BAD_CONFIGS],
                         ids=[b[0] for b in BAD_CONFIGS])
def test_check_config_rejects_bad_config(env, transform, needle):
    """--check-config exits 1 and the error names the key and its line:column."""
    r = _run(env, "--check-config", config_text=transform(env.good, env.pki))
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    err = r.stderr
    assert needle in err, err
    assert re.search(r":\d+:\d+", err), f"no line:column in: {err}"


def test_invalid_config_fails_start(env):
    """Starting (without --check-config) with an invalid config exits 1 instead of serving."""
    r = _run(env, config_text=env.good + "bogus: {}\n")
    assert r.returncode == 1
    assert "bogus" in r.stderr


def test_missing_config_file_fails(env):
    """A config path that does not exist is an error (exit 1)."""
    r = subprocess.run([env.bin, "--config.file=/nonexistent/mla.yaml", "--check-config"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 1


@pytest.mark.parametrize("fmt", ["logfmt", "json"])
def test_logs_go_to_stderr_in_the_chosen_format(env, fmt, backend):
    """Logs are written to stderr (stdout stays empty) as logfmt or one JSON object per line."""
    port = gw.free_port()
    cfg = env.tmp / f"log-{fmt}.yaml"
    cfg.write_text(gw.to_yaml(gw.gateway_config(env.pki, port, {"cortex": backend.url,
                                                               "loki": backend.url})) + "\n")
    out, err = env.tmp / f"{fmt}.out", env.tmp / f"{fmt}.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(gw.orphan_guard() + [env.bin, f"--config.file={cfg}",
                                                     f"--log.format={fmt}", "--log.level=debug"],
                                stdout=o, stderr=e, stdin=subprocess.DEVNULL)
    try:
        ctx = gw.client_context(env.pki, "tenant-a")
        gw.wait_until(lambda: not gw.tls_rejected(port, ctx, timeout=2)[0], timeout=10,
                      what="gateway serving")
        r = gw.https_request(port, ctx, "POST", "/nope", b"")
        assert r.status == 404
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    assert out.read_text() == "", "stdout must stay empty"
    lines = [line for line in err.read_text().splitlines() if line.strip()]
    assert lines, "nothing logged on stderr"
    for line in lines:
        if fmt == "json":
            obj = json.loads(line)
            assert isinstance(obj, dict) and any(k in obj for k in ("level", "lvl")), line
        else:
            assert re.search(r"\blevel=\w+", line), line


def test_log_level_error_hides_debug(env, backend):
    """--log.level=error logs no info/debug lines for normal traffic."""
    port = gw.free_port()
    g = gw.Gateway(env.bin, env.tmp / "level", gw.to_yaml(gw.gateway_config(
        env.pki, port, {"cortex": backend.url, "loki": backend.url})) + "\n",
        log_level="error", probe_context=gw.client_context(env.pki, "tenant-a"))
    g.start()
    try:
        r = gw.https_request(port, gw.client_context(env.pki, "tenant-a"), "POST", "/raw/x", b"")
        assert r.status == 200
    finally:
        assert g.stop() == 0
    text = g.log_text()
    assert "level=debug" not in text and "level=info" not in text, text


def test_listen_port_taken_by_a_reuseport_listener_fails_start(env):
    """Another process listening with SO_REUSEPORT (e.g. a second gateway) on server.listen makes
    startup fail (exit 1, "server.listen ...: Address already in use") instead of silently taking
    a share of its connections, as the workers' own SO_REUSEPORT would allow."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen(16)
        port = other.getsockname()[1]
        config = gw.to_yaml(gw.gateway_config(env.pki, port, {"cortex": "http://127.0.0.1:9",
                                                              "loki": "http://127.0.0.1:9"}))
        r = _run(env, config_text=config + "\n")
    assert r.returncode == 1, r.stderr
    assert f"server.listen 127.0.0.1:{port}" in r.stderr, r.stderr
    assert "Address already in use" in r.stderr, r.stderr
