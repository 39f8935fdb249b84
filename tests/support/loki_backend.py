"""A recording Loki-compatible push backend (no Loki server can be installed here).

A RecordingBackend that answers 204 like a Loki distributor, and decodes every recorded push with
loki_proto.decode_body (snappy protobuf, JSON, gzip/deflate/snappy Content-Encoding), counting
lines and bytes the way Loki's rate limiter does:

    with LokiBackend() as loki:
        ... push through the gateway ...
        loki.wait_for_requests(1, timeout=10)
        assert loki.totals("tenant-a") == (lines, bytes)
"""

from __future__ import annotations

import dataclasses

from . import loki_proto
from .recording_backend import RecordedRequest, RecordingBackend, Reply


@dataclasses.dataclass
class DecodedPush:
    request: RecordedRequest
    tenant: str | None  # the X-Scope-OrgID the backend got (the first one)
    tenant_headers: list[str]  # every X-Scope-OrgID value, to check there is exactly one
    streams: list[loki_proto.Stream]
    error: str | None  # why the body could not be decoded, None if it could

    @property
    def lines(self) -> int:
        return loki_proto.count(self.streams)[0]

    @property
    def bytes(self) -> int:
        return loki_proto.count(self.streams)[1]


class LokiBackend(RecordingBackend):
    """RecordingBackend answering 204 (empty body), with decoded views of what it received."""

    def __init__(self, **kwargs):
        kwargs.setdefault("default", Reply(status=204, body=b""))
        super().__init__(**kwargs)

    def reset(self) -> None:
        super().reset()
        self.set_default(Reply(status=204, body=b""))

    def decoded(self, header: str = "X-Scope-OrgID") -> list[DecodedPush]:
        out = []
        for req in self.requests:
            try:
                streams = loki_proto.decode_body(req.header("Content-Type"),
                                                 req.header("Content-Encoding"), req.body)
                error = None
            except (ValueError, IndexError, UnicodeDecodeError, OSError, EOFError) as e:
                streams, error = [], f"{type(e).__name__}: {e}"
            out.append(DecodedPush(req, req.header(header), req.header_all(header), streams,
                                   error))
        return out

    def totals(self, tenant: str | None = None) -> tuple[int, int]:
        """(lines, bytes) decoded from every push (of TENANT, if given)."""
        lines = size = 0
        for push in self.decoded():
            if tenant is None or push.tenant == tenant:
                lines += push.lines
                size += push.bytes
        return lines, size
