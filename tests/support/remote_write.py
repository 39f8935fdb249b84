"""Prometheus remote-write 1.0 and Loki push bodies built with the standard library only.

Python has no snappy in its standard library, so this module carries a tiny snappy *block* encoder
(literals only: valid snappy that any decoder accepts, just not smaller) and a full block decoder
(to read what real clients send). Protobuf messages are hand-encoded for the few fields needed
(DESIGN.md §5).
"""

from __future__ import annotations

import json
import struct
import time

REMOTE_WRITE_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
    "User-Agent": "mla-gateway-tests/1",
}


# --- protobuf ---------------------------------------------------------------------------------

def _varint(value: int) -> bytes:
    if value < 0:
        value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint((number << 3) | 2) + _varint(len(payload)) + payload


def _field_varint(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _field_double(number: int, value: float) -> bytes:
    return _varint((number << 3) | 1) + struct.pack("<d", value)


def encode_write_request(series: list[tuple[dict[str, str], list[tuple[float, int]]]]) -> bytes:
    """WriteRequest{timeseries=1: TimeSeries{labels=1: Label{name=1,value=2}, samples=2:
    Sample{value=1 (double), timestamp=2 (int64 ms)}}} — labels are sorted by name."""
    out = bytearray()
    for labels, samples in series:
        ts = bytearray()
        for name in sorted(labels):
            label = _field_bytes(1, name.encode()) + _field_bytes(2, labels[name].encode())
            ts += _field_bytes(1, label)
        for value, ts_ms in samples:
            ts += _field_bytes(2, _field_double(1, value) + _field_varint(2, ts_ms))
        out += _field_bytes(1, bytes(ts))
    return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def decode_fields(buf: bytes) -> list[tuple[int, int, object]]:
    """Generic protobuf walk: [(field number, wire type, int | bytes)]."""
    pos, out = 0, []
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def decode_write_request(buf: bytes) -> list[tuple[dict[str, str], list[tuple[float, int]]]]:
    """Inverse of encode_write_request (remote-write 1.0; other fields ignored)."""
    series = []
    for number, _, ts in decode_fields(buf):
        if number != 1:
            continue
        labels, samples = {}, []
        for n, _, v in decode_fields(ts):
            if n == 1:
                kv = {k: val for k, _, val in decode_fields(v)}
                labels[kv.get(1, b"").decode()] = kv.get(2, b"").decode()
            elif n == 2:
                fields = {k: val for k, _, val in decode_fields(v)}
                value = struct.unpack("<d", fields.get(1, b"\0" * 8))[0]
                stamp = fields.get(2, 0)
                if stamp >= 1 << 63:
                    stamp -= 1 << 64
                samples.append((value, stamp))
        series.append((labels, samples))
    return series


# --- snappy (block format) --------------------------------------------------------------------

def snappy_compress(data: bytes) -> bytes:
    """Snappy block format using literal elements only (valid, uncompressed-size output)."""
    out = bytearray(_varint(len(data)))
    pos = 0
    while pos < len(data):
        chunk = data[pos:pos + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 1 << 8:
            out.append(60 << 2)
            out += struct.pack("<B", n)
        else:
            out.append(61 << 2)
            out += struct.pack("<H", n)
        out += chunk
        pos += len(chunk)
    return bytes(out)


def snappy_decompress(data: bytes) -> bytes:
    """Full snappy block decoder (literals and copies)."""
    length, pos = _read_varint(data, 0)
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:
            n = tag >> 2
            if n >= 60:
                extra = n - 59
                n = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            n += 1
            out += data[pos:pos + n]
            pos += n
            continue
        if kind == 1:
            n = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | data[pos]
            pos += 1
        elif kind == 2:
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 2], "little")
            pos += 2
        else:
            n = (tag >> 2) + 1
            offset = int.from_bytes(data[pos:pos + 4], "little")
            pos += 4
        if offset == 0 or offset > len(out):
            raise ValueError("snappy: bad copy offset")
        for _ in range(n):  # byte by byte: copies may overlap their own output
            out.append(out[-offset])
    if len(out) != length:
        raise ValueError(f"snappy: expected {length} bytes, got {len(out)}")
    return bytes(out)


# --- convenience ------------------------------------------------------------------------------

def remote_write_body(metric: str = "mla_test_metric", labels: dict[str, str] | None = None,
                      samples: int = 1, value: float = 1.0, now_ms: int | None = None) -> bytes:
    """A snappy-compressed WriteRequest with one series of SAMPLES samples 1 ms apart."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    all_labels = {"__name__": metric, **(labels or {})}
    points = [(value + i, now_ms - (samples - 1 - i)) for i in range(samples)]
    return snappy_compress(encode_write_request([(all_labels, points)]))


def loki_json_body(labels: dict[str, str] | None = None, lines: list[str] | None = None) -> bytes:
    """A Loki push body in JSON form (Content-Type: application/json)."""
    now_ns = time.time_ns()
    values = [[str(now_ns + i), line] for i, line in enumerate(lines or ["hello from mla tests"])]
    stream = {"stream": labels or {"job": "mla-tests"}, "values": values}
    return json.dumps({"streams": [stream]}).encode()
