"""mla-gatewayctl (DESIGN.md §2, §6) against the real gateway over its Unix control socket:
tenants list (table and -o json) after traffic, disable --reason --for (the tenant's pushes get
503 + Retry-After) and enable again, reload, status, the socket's 0600 mode, and the exit codes
scripts rely on: 1 gateway error, 2 usage error, 3 gateway unreachable. The client binary is
taken from the directory of the gateway binary."""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from support import gateway as gw
from support import ingest

RFC3339 = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture(scope="module")
def ctl_bin(gateway_bin):
    path = Path(gateway_bin).parent / "mla-gatewayctl"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.skip(f"{path} not built (ninja mla-gatewayctl)")
    return str(path)


def ctl(ctl_bin, *args, sock=None, env=None, timeout=30) -> subprocess.CompletedProcess:
    """Run mla-gatewayctl (with --socket=SOCK first when given); text stdout/stderr."""
    cmd = [ctl_bin] + ([f"--socket={sock}"] if sock else []) + list(args)
    full_env = {k: v for k, v in os.environ.items() if k != "MLA_GATEWAY_SOCKET"}
    full_env.update(env or {})
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def short_dir(session_dir) -> Path:
    """A fresh directory with a short path (a socket path must fit in sun_path, 108 bytes)."""
    return Path(tempfile.mkdtemp(prefix="ctl", dir=session_dir))


def start(gateways, backend, session_dir):
    """A gateway with admin listener, control socket and state file; retried on a port race.
    Returns (gateway, socket path, state file path)."""
    d = short_dir(session_dir)
    sock, state = d / "control.sock", d / "state.json"
    for attempt in range(3):
        admin = {"listen": f"127.0.0.1:{gw.free_port()}", "socket": str(sock),
                 "state_file": str(state)}
        try:
            g = gateways.start({"cortex": backend.url, "loki": backend.url}, admin=admin)
            gw.wait_until(sock.exists, timeout=5, what="control socket created")
            return g, str(sock), state
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower() or attempt == 2:
                raise
    raise AssertionError("unreachable")


def push(g, test_pki, client="tenant-a", samples=10):
    return ingest.push_remote_write(g.port, gw.client_context(test_pki, client),
                                    ingest.samples_body(samples))


def tenants_json(ctl_bin, sock) -> dict:
    r = ctl(ctl_bin, "tenants", "list", "-o", "json", sock=sock)
    assert r.returncode == 0, r.stderr
    return {t["tenant"]: t for t in json.loads(r.stdout)["tenants"]}


def test_tenants_list_table_and_json(gateways, backend, test_pki, session_dir, ctl_bin):
    """After pushes from tenant-a and tenant-b, `tenants list` shows both as enabled rows under
    the header and `-o json` is the server's JSON (indented) with their sample totals; the socket
    can also come from MLA_GATEWAY_SOCKET."""
    g, sock, _ = start(gateways, backend, session_dir)
    assert push(g, test_pki, "tenant-a", 10).status == 200
    assert push(g, test_pki, "tenant-a", 10).status == 200
    assert push(g, test_pki, "tenant-b", 5).status == 200

    tenants = gw.wait_until(
        lambda: (lambda t: t if t.get("tenant-a", {}).get("totals", {}).get("samples") == 20
                 else None)(tenants_json(ctl_bin, sock)),
        timeout=5, what="tenant-a totals.samples == 20")
    assert tenants["tenant-a"]["enabled"] is True
    assert tenants["tenant-a"]["totals"]["requests"] == 2
    assert tenants["tenant-b"]["totals"]["samples"] == 5
    assert tenants["tenant-a"]["limits"]["metrics"]["samples_per_second"] == 25000

    raw = ctl(ctl_bin, "tenants", "list", "-o", "json", sock=sock).stdout
    assert raw.startswith('{\n  "tenants": [\n'), raw[:200]

    r = ctl(ctl_bin, "tenants", "list", env={"MLA_GATEWAY_SOCKET": sock})
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["TENANT", "ENABLED", "REASON", "UNTIL", "REQ/S", "SAMPLES/S",
                                "LINES/S", "LOG-BYTES/S", "REJECTED"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["tenant-a"][1:4] == ["yes", "-", "-"]
    assert rows["tenant-a"][-1] == "0"  # nothing rejected
    assert rows["tenant-b"][1] == "yes"
    # Aligned: left-aligned cells start under their header, the right-aligned last column
    # ends under its header.
    at = lines[0].index("ENABLED")
    for line in lines[1:]:
        assert line[at - 2:at] == "  " and line[at] != " ", line
        assert len(line) == len(lines[0]), line


def test_disable_for_then_enable(gateways, backend, test_pki, session_dir, ctl_bin):
    """`tenants disable tenant-a --reason=abuse --for=1h` prints one line with the end time,
    is persisted to state_file, and tenant-a's next push gets 503 with Retry-After without
    reaching the upstream (tenant-b still passes); `tenants enable` lets it through again."""
    g, sock, state = start(gateways, backend, session_dir)
    assert push(g, test_pki).status == 200

    r = ctl(ctl_bin, "tenants", "disable", "tenant-a", "--reason=abuse", "--for=1h", sock=sock)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(rf"tenant tenant-a disabled \(reason: abuse, until {RFC3339}\)\n",
                        r.stdout), r.stdout
    assert "tenant-a" in state.read_text()

    before = len(backend.requests)
    refused = push(g, test_pki)
    assert refused.status == 503, refused.text
    retry = ingest.retry_after(refused)
    assert retry is not None and 0 < retry <= 3600, refused.headers
    assert len(backend.requests) == before
    assert push(g, test_pki, "tenant-b").status == 200

    t = tenants_json(ctl_bin, sock)["tenant-a"]
    assert (t["enabled"], t["disabled_reason"]) == (False, "abuse")
    assert re.fullmatch(RFC3339, t["disabled_until"]), t
    assert t["totals"]["rejected"]["disabled"] >= 1
    table = ctl(ctl_bin, "tenants", "list", sock=sock).stdout
    row = next(line for line in table.splitlines() if line.startswith("tenant-a "))
    assert row.split()[1:4] == ["no", "abuse", t["disabled_until"]]

    r = ctl(ctl_bin, "tenants", "enable", "tenant-a", sock=sock)
    assert (r.returncode, r.stdout, r.stderr) == (0, "tenant tenant-a enabled\n", "")
    assert push(g, test_pki).status == 200
    assert tenants_json(ctl_bin, sock)["tenant-a"]["enabled"] is True


def test_disable_indefinitely_with_reserved_characters(gateways, backend, test_pki, session_dir,
                                                       ctl_bin):
    """A tenant ID with characters that are reserved in URIs (!*'()) goes through
    percent-encoding intact: disabled without --for it is listed as disabled (even if never
    seen) with no end; enabling it works."""
    g, sock, _ = start(gateways, backend, session_dir)
    tenant = "team.a_(x)!*'"
    r = ctl(ctl_bin, "tenants", "disable", tenant, sock=sock)
    assert (r.returncode, r.stdout) == (0, f"tenant {tenant} disabled (indefinitely)\n"), r.stderr
    t = tenants_json(ctl_bin, sock)[tenant]
    assert (t["enabled"], t["disabled_reason"], t["disabled_until"]) == (False, "", None)
    r = ctl(ctl_bin, "tenants", "enable", tenant, sock=sock)
    assert (r.returncode, r.stdout) == (0, f"tenant {tenant} enabled\n"), r.stderr


def test_socket_mode_is_0600(gateways, backend, session_dir):
    """The control socket is a socket file only its owner may connect to."""
    _, sock, _ = start(gateways, backend, session_dir)
    mode = os.stat(sock).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600, oct(stat.S_IMODE(mode))


def test_reload_and_status(gateways, backend, session_dir, ctl_bin):
    """`reload` prints the server's text and exits 0; with a broken config file it exits 1 with
    one line `mla-gatewayctl: 500: reload failed: ...` and the gateway keeps serving; `status`
    prints `key: value` lines with the version, readiness and reload state."""
    g, sock, _ = start(gateways, backend, session_dir)
    r = ctl(ctl_bin, "reload", sock=sock)
    assert (r.returncode, r.stdout, r.stderr) == (0, "configuration reloaded\n", "")

    good = g.config_file.read_text()
    g.config_file.write_text(good + "bogus_key: 1\n")
    r = ctl(ctl_bin, "reload", sock=sock)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert re.fullmatch(r"mla-gatewayctl: 500: reload failed: .*bogus_key.*\n", r.stderr), r.stderr

    status = ctl(ctl_bin, "status", sock=sock)
    assert status.returncode == 0, status.stderr
    fields = dict(line.split(": ", 1) for line in status.stdout.splitlines()
                  if ": " in line and not line.startswith(" "))
    version = ctl(ctl_bin, "--version").stdout.split()[-1]
    assert fields["version"] == version
    assert fields["ready"] == "true"
    assert fields["draining"] == "false"
    assert fields["config_last_reload_successful"] == "false"
    assert fields["config_file"] == str(g.config_file)

    g.config_file.write_text(good)
    assert ctl(ctl_bin, "reload", sock=sock).returncode == 0
    fields = dict(line.split(": ", 1) for line in ctl(ctl_bin, "status", sock=sock)
                  .stdout.splitlines() if ": " in line and not line.startswith(" "))
    assert fields["config_last_reload_successful"] == "true"
    assert re.fullmatch(RFC3339, fields["config_last_reload_success_time"]), fields


def assert_gateway_error_400(r, args):
    assert r.returncode == 1, (args, r.stdout, r.stderr)
    assert r.stdout == ""
    assert re.fullmatch(r"mla-gatewayctl: 400: \S.*\n", r.stderr), (args, r.stderr)


def test_invalid_tenant_disable_is_a_gateway_error(gateways, backend, session_dir, ctl_bin):
    """The gateway answers 400 to disabling a tenant ID outside [a-zA-Z0-9!-_.*'()] or "..",
    and to a --reason it will not store: exit 1 with one line naming the status."""
    _, sock, _ = start(gateways, backend, session_dir)
    for args in (("bad tenant/x", "--reason=x"), ("..",), (".",), ("x" * 151,),
                 ("tenant-a", "--reason=" + "r" * 1025)):
        assert_gateway_error_400(ctl(ctl_bin, "tenants", "disable", *args, sock=sock), args)


def test_invalid_tenant_enable_is_a_gateway_error(gateways, backend, session_dir, ctl_bin):
    """Enabling an invalid tenant ID is a 400 too (admin-api-contract.md: errors on /api/v1/*
    include "400 (bad tenant id ...)"): exit 1."""
    _, sock, _ = start(gateways, backend, session_dir)
    for tenant in ("bad tenant/x", ".."):
        assert_gateway_error_400(ctl(ctl_bin, "tenants", "enable", tenant, sock=sock), tenant)


def test_unreachable_gateway_exits_3(ctl_bin, session_dir):
    """A missing socket and a gateway that never answers (past --timeout) exit 3 with one clear
    line on stderr."""
    d = short_dir(session_dir)
    missing = str(d / "missing.sock")
    r = ctl(ctl_bin, "status", sock=missing)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.stderr == (f"mla-gatewayctl: cannot connect to {missing}: No such file or "
                        "directory (is mla-gateway running with admin.socket set?)\n")
    r = ctl(ctl_bin, "tenants", "list", env={"MLA_GATEWAY_SOCKET": missing})
    assert r.returncode == 3 and missing in r.stderr, r.stderr

    silent_path = str(d / "silent.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
        silent.bind(silent_path)
        silent.listen(4)  # connections complete in the backlog; nobody ever answers
        r = ctl(ctl_bin, "--timeout=300ms", "tenants", "list", sock=silent_path, timeout=10)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.stderr == f"mla-gatewayctl: no answer from {silent_path} within 0.3s (--timeout)\n"


@pytest.mark.parametrize("args", [
    (),
    ("tenants",),
    ("tenants", "disable"),
    ("tenants", "disable", "t", "--for=5x"),
    ("tenants", "disable", "t", "--for=0"),
    ("tenants", "disable", "t", "--for=500ms"),
    ("tenants", "disable", "t", "--for=-1h"),
    ("tenants", "list", "-o", "yaml"),
    ("tenants", "frobnicate"),
    ("restart",),
    ("--timeout=soon", "status"),
    ("status", "--bogus"),
])
def test_usage_errors_exit_2(ctl_bin, session_dir, args):
    """Bad command lines exit 2 before any connection (the socket does not exist, which would
    be exit 3)."""
    r = ctl(ctl_bin, *args, sock=str(short_dir(session_dir) / "none.sock"))
    assert r.returncode == 2, (args, r.stdout, r.stderr)
    assert "cannot connect" not in r.stderr


def test_help_and_version(ctl_bin):
    """--help documents the exit codes and exits 0; --version prints the version."""
    r = ctl(ctl_bin, "--help")
    assert r.returncode == 0
    for line in ("0  success", "1  the gateway answered with an error", "2  usage error",
                 "3  cannot reach the gateway", "MLA_GATEWAY_SOCKET",
                 "/run/mla-gateway/control.sock"):
        assert line in r.stdout, line
    r = ctl(ctl_bin, "--version")
    assert r.returncode == 0
    assert re.fullmatch(r"mla-gatewayctl \d+\.\d+\.\d+\n", r.stdout), r.stdout
