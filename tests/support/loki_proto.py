"""Loki push bodies without dependencies: a hand-written protobuf encoder/decoder for
`logproto.PushRequest` and a decoder for every body shape a Loki distributor accepts
(DESIGN.md §5): snappy protobuf (with or without `Content-Encoding: snappy`), JSON, either one
optionally wrapped in `Content-Encoding: gzip|deflate|snappy`.

    PushRequest{streams=1: StreamAdapter{labels=1 (string), entries=2: EntryAdapter{
        timestamp=1: google.protobuf.Timestamp{seconds=1, nanos=2}, line=2,
        structuredMetadata=3: LabelPairAdapter{name=1, value=2}}}}

Counting follows Loki's rate limiter (and DESIGN.md §4): one line per entry; bytes = line bytes
+ structured-metadata name and value bytes (UTF-8, after JSON unescaping).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import zlib

from .remote_write import _field_bytes, _field_varint, decode_fields, snappy_compress, \
    snappy_decompress


@dataclasses.dataclass
class Entry:
    seconds: int
    nanos: int
    line: bytes
    metadata: list[tuple[bytes, bytes]] = dataclasses.field(default_factory=list)

    @property
    def bytes(self) -> int:
        return len(self.line) + sum(len(k) + len(v) for k, v in self.metadata)


@dataclasses.dataclass
class Stream:
    labels: str  # Prometheus label syntax, e.g. '{job="x"}' (what protobuf carries)
    entries: list[Entry]


def labels_string(labels: dict[str, str]) -> str:
    """{"job": "x", "a": "b"} -> '{a="b", job="x"}' (the protobuf StreamAdapter.labels form)."""
    return "{" + ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(labels.items())) + "}"


# --- protobuf -----------------------------------------------------------------------------------

def encode_entry(entry: Entry) -> bytes:
    ts = b""
    if entry.seconds:
        ts += _field_varint(1, entry.seconds)
    if entry.nanos:
        ts += _field_varint(2, entry.nanos)
    out = _field_bytes(1, ts) + _field_bytes(2, entry.line)
    for name, value in entry.metadata:
        out += _field_bytes(3, _field_bytes(1, name) + _field_bytes(2, value))
    return out


def encode_push_request(streams: list[Stream]) -> bytes:
    """The uncompressed PushRequest protobuf."""
    out = bytearray()
    for s in streams:
        inner = _field_bytes(1, s.labels.encode())
        for e in s.entries:
            inner += _field_bytes(2, encode_entry(e))
        out += _field_bytes(1, inner)
    return bytes(out)


def decode_push_request(buf: bytes) -> list[Stream]:
    """Full decode of a PushRequest (unknown fields ignored); ValueError on malformed input."""
    streams = []
    try:
        for number, wire, value in decode_fields(buf):
            if number != 1:
                continue
            if wire != 2:
                raise ValueError("PushRequest.streams: wrong wire type")
            labels, entries = "", []
            for n, w, v in decode_fields(value):
                if n == 1 and w == 2:
                    labels = v.decode()
                elif n == 2 and w == 2:
                    seconds = nanos = 0
                    line, metadata = b"", []
                    for en, ew, ev in decode_fields(v):
                        if en == 1 and ew == 2:
                            ts = {tn: tv for tn, _, tv in decode_fields(ev)}
                            seconds, nanos = ts.get(1, 0), ts.get(2, 0)
                        elif en == 2 and ew == 2:
                            line = ev
                        elif en == 3 and ew == 2:
                            pair = {pn: pv for pn, _, pv in decode_fields(ev)}
                            metadata.append((pair.get(1, b""), pair.get(2, b"")))
                    entries.append(Entry(seconds, nanos, line, metadata))
            streams.append(Stream(labels, entries))
    except IndexError as e:  # decode_fields ran past the end
        raise ValueError(f"truncated protobuf: {e}") from None
    return streams


# --- JSON ---------------------------------------------------------------------------------------

def decode_push_json(buf: bytes) -> list[Stream]:
    """{"streams":[{"stream":{..},"values":[["<ns>","line"(,{..})]]}]} -> streams."""
    doc = json.loads(buf)
    streams = []
    for s in doc["streams"]:
        entries = []
        for value in s["values"]:
            ns = int(value[0])
            meta = [(k.encode(), v.encode()) for k, v in (value[2] if len(value) > 2 else {}).items()]
            entries.append(Entry(ns // 1_000_000_000, ns % 1_000_000_000, value[1].encode(), meta))
        streams.append(Stream(labels_string(s.get("stream", {})), entries))
    return streams


def json_body(streams: list[tuple[dict[str, str], list[tuple[int, str, dict | None]]]]) -> bytes:
    """A JSON push body: [(labels, [(ns, line, structured metadata or None)])]."""
    out = []
    for labels, values in streams:
        vals = []
        for ns, line, meta in values:
            vals.append([str(ns), line] + ([meta] if meta else []))
        out.append({"stream": labels, "values": vals})
    return json.dumps({"streams": out}).encode()


# --- bodies as sent on the wire ----------------------------------------------------------------

def snappy_proto_body(streams: list[Stream]) -> bytes:
    """What Promtail / winston-loki send: snappy block of the PushRequest."""
    return snappy_compress(encode_push_request(streams))


def decode_body(content_type: str | None, content_encoding: str | None, body: bytes) -> list[Stream]:
    """Decode a push as a Loki distributor does; ValueError when it cannot."""
    enc = (content_encoding or "").strip().lower()
    if enc in ("gzip", "x-gzip"):
        body = gzip.decompress(body)
    elif enc == "deflate":
        try:
            body = zlib.decompress(body)  # zlib-wrapped (RFC 9110 "deflate")
        except zlib.error:
            body = zlib.decompress(body, -15)  # raw deflate, as Go's flate reader expects
    elif enc == "snappy" and (content_type or "").split(";")[0].strip().lower() == \
            "application/json":
        body = snappy_decompress(body)
    elif enc not in ("", "identity", "snappy"):
        raise ValueError(f"unsupported Content-Encoding {content_encoding!r}")
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/json":
        try:
            return decode_push_json(body)
        except (KeyError, TypeError, IndexError, json.JSONDecodeError) as e:
            raise ValueError(f"bad JSON push: {e}") from None
    return decode_push_request(snappy_decompress(body))


def count(streams: list[Stream]) -> tuple[int, int]:
    """(lines, bytes) as Loki's rate limiter counts them."""
    lines = sum(len(s.entries) for s in streams)
    size = sum(e.bytes for s in streams for e in s.entries)
    return lines, size
