"""Shared pytest fixtures for tests/integration and tests/e2e (run with Debian's /usr/bin/python3).

Fixtures: test_pki (session), gateway_bin, backend (a RecordingBackend per test), gateways (a
GatewayPool per test) and module_gateways (per module). Environment: MLA_GATEWAY_BIN (binary),
MLA_SOURCE_DIR (repo root), MLA_SHARED_DIR (../shared) — set by ctest, defaulted otherwise.
"""

import os
import sys
import tempfile

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support import gateway as gw  # noqa: E402
from support import pki as pki_mod  # noqa: E402
from support.recording_backend import RecordingBackend  # noqa: E402


@pytest.fixture(scope="session")
def session_dir():
    """A scratch directory for the whole run (removed at the end unless MLA_KEEP_TMP is set)."""
    d = tempfile.mkdtemp(prefix="mla-tests-")
    yield d
    if not os.environ.get("MLA_KEEP_TMP"):
        import shutil

        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def test_pki(session_dir):
    """The standard test PKI (CA, server cert, clients, CRL, unrelated CA)."""
    return pki_mod.build_test_pki(os.path.join(session_dir, "pki"))


@pytest.fixture(scope="session")
def gateway_bin():
    """The gateway binary; tests needing it are skipped when it was never built (and no
    MLA_GATEWAY_BIN was given), and fail when MLA_GATEWAY_BIN points at nothing."""
    path = gw.gateway_binary()
    if path is None:
        if os.environ.get("MLA_GATEWAY_BIN"):
            pytest.fail(f"MLA_GATEWAY_BIN={os.environ['MLA_GATEWAY_BIN']} is not an executable")
        pytest.skip(f"gateway binary not built ({gw.DEFAULT_BIN} missing)")
    return path


@pytest.fixture
def backend():
    """A fresh recording upstream for one test."""
    b = RecordingBackend().start()
    yield b
    b.stop()


@pytest.fixture
def gateways(gateway_bin, session_dir, test_pki):
    """Start gateways inside one test; all are stopped (and their logs printed) afterwards."""
    pool = gw.GatewayPool(gateway_bin, session_dir, test_pki)
    yield pool
    _fail_on_sanitizer_reports(pool.stop_all())


@pytest.fixture(scope="module")
def module_gateways(gateway_bin, session_dir, test_pki):
    """Like `gateways`, for gateways shared by every test of a module."""
    pool = gw.GatewayPool(gateway_bin, session_dir, test_pki)
    yield pool
    _fail_on_sanitizer_reports(pool.stop_all())


def _fail_on_sanitizer_reports(findings: list[str]) -> None:
    """A sanitizer report in a gateway's log (even one printed at exit, like a leak) fails the
    test that started it, though every answer it got was right."""
    if findings:
        pytest.fail("sanitizer reported errors:\n" + "\n".join(findings[:20]), pytrace=False)
