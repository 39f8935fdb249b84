"""Helpers for the payload-inspection and rate-limit tests (DESIGN.md §3 `limits`, §4, §5).

- start_gateway(): a gateway from the standard test config plus a `limits:` section (and any
  other top-level additions), via GatewayPool.start(raw_config=...), retrying on a port race.
- parse_logfmt() / forwarded(): the gateway's `--log.level=debug` request lines
  (`msg=request ... tenant=T route=R upstream=U status=S bytes=N samples=N lines=N log_bytes=N`),
  i.e. what the gateway counted for every forwarded request.
- snappy_bomb(): a small snappy block that expands to N bytes (copies, not literals).
- retry_after(): the Retry-After header as whole seconds.
"""

from __future__ import annotations

import re

from . import gateway as gw
from . import remote_write as rw

_LOGFMT = re.compile(r'([A-Za-z_][\w.\-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def start_gateway(pool: gw.GatewayPool, upstreams: dict, routes: list | None = None,
                  limits: dict | None = None, server: dict | None = None,
                  tenant: dict | None = None, extra: dict | None = None,
                  log_level: str = "debug", timeout: float = 15.0) -> gw.Gateway:
    """Start a gateway with gateway.gateway_config() + `limits` (+ EXTRA top-level keys)."""
    last: Exception | None = None
    for _ in range(3):
        port = gw.free_port()
        cfg = gw.gateway_config(pool.pki, port, upstreams, routes=routes, server=server,
                                tenant=tenant)
        if limits is not None:
            cfg["limits"] = limits
        cfg.update(extra or {})
        try:
            return pool.start(upstreams, raw_config=gw.to_yaml(cfg) + "\n", port=port,
                              log_level=log_level, timeout=timeout)
        except gw.GatewayError as e:
            if "address already in use" not in str(e).lower():
                raise
            last = e
    raise last  # type: ignore[misc]


def parse_logfmt(line: str) -> dict[str, str]:
    out = {}
    for key, value in _LOGFMT.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r'\\(.)', r'\1', value[1:-1])
        out[key] = value
    return out


def forwarded(log_text: str, tenant: str | None = None,
              route: str | None = None) -> list[dict[str, str]]:
    """The debug `msg=request` lines (one per forwarded request), optionally filtered."""
    out = []
    for line in log_text.splitlines():
        if "msg=request" not in line:
            continue
        rec = parse_logfmt(line)
        if rec.get("msg") != "request":
            continue
        if tenant is not None and rec.get("tenant") != tenant:
            continue
        if route is not None and rec.get("route") != route:
            continue
        out.append(rec)
    return out


def counted(log_text: str, field: str, tenant: str | None = None, route: str | None = None,
            status_prefix: str | None = "2") -> int:
    """Sum of FIELD (samples, lines, log_bytes, bytes) over forwarded requests whose upstream
    status starts with STATUS_PREFIX (None: all)."""
    total = 0
    for rec in forwarded(log_text, tenant, route):
        if status_prefix is not None and not rec.get("status", "").startswith(status_prefix):
            continue
        total += int(rec.get(field, "0") or 0)
    return total


def snappy_bomb(size: int, fill: bytes = b"\0") -> bytes:
    """A valid snappy block decompressing to SIZE bytes of FILL: one literal byte then 64-byte
    copies at offset 1 (3 bytes each), so the body is about SIZE/21 bytes."""
    assert size >= 1 and len(fill) == 1
    out = bytearray(rw._varint(size))
    out += bytes([0 << 2]) + fill  # literal of length 1
    left = size - 1
    while left:
        n = min(64, left)
        out += bytes([((n - 1) << 2) | 2]) + (1).to_bytes(2, "little")  # copy-2, 1..64 bytes
        left -= n
    return bytes(out)


def retry_after(resp: gw.Response) -> int | None:
    value = resp.header("Retry-After")
    if value is None:
        return None
    return int(value.strip())


def push_remote_write(port: int, context, body: bytes, headers=None, path: str = "/api/v1/push",
                      timeout: float = 10.0) -> gw.Response:
    """POST a remote-write body with the standard v1 headers (HEADERS override/extend)."""
    hdrs = dict(rw.REMOTE_WRITE_HEADERS)
    hdrs.update(dict(headers or {}))
    return gw.https_request(port, context, "POST", path, body, list(hdrs.items()),
                            timeout=timeout)


def samples_body(samples: int, metric: str = "mla_limits_test", series: int = 1,
                 labels: dict[str, str] | None = None) -> bytes:
    """A snappy WriteRequest with SAMPLES samples spread over SERIES series."""
    import time

    now = int(time.time() * 1000)
    out = []
    per = [samples // series + (1 if i < samples % series else 0) for i in range(series)]
    for i, n in enumerate(per):
        lbl = {"__name__": metric, "series": str(i), **(labels or {})}
        out.append((lbl, [(float(j), now - (n - 1 - j)) for j in range(n)]))
    return rw.snappy_compress(rw.encode_write_request(out))
