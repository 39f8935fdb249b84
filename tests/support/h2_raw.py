"""A small raw-frame HTTP/2 client over mTLS for integration tests (RFC 9113, HPACK RFC 7541).

Standard library only (ssl, socket, struct). It speaks enough HTTP/2 to drive the gateway like a
real client (preface, SETTINGS with ACKs, flow control both ways, HEADERS/CONTINUATION, DATA,
RST_STREAM, PING, GOAWAY) and lets a test send what no real client would: floods of RST_STREAM,
PING or SETTINGS, endless CONTINUATION, any header block bytes.

- Requests are HPACK-encoded as "literal header field without indexing, new name", no Huffman
  (encode_headers()), so a test can send any name/value, duplicates and bad ordering included.
- Responses are decoded with a full HPACK decoder (static + dynamic table, Huffman), because a
  server is free to use all of HPACK.
- Everything runs on the calling thread: pump() reads and handles frames until a condition
  holds, a deadline passes (TimeoutError) or the connection ends. Every wait is bounded.

    with H2Connection(port, gw.client_context(pki, "tenant-a")) as c:
        assert c.alpn_protocol == "h2"
        sid = c.request("POST", "/api/v1/push", headers=[("content-type", "...")], body=b"...")
        s = c.wait_response(sid)
        assert s.status == 200 and s.data == b"ok\\n"

`python3 -m tests.support.h2_raw` (or running this file) checks the Huffman table against the
system libnghttp2 through ctypes when that library is present.
"""

from __future__ import annotations

import contextlib
import dataclasses
import socket
import ssl
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

# Frame types.
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
FRAME_NAMES = {DATA: "DATA", HEADERS: "HEADERS", PRIORITY: "PRIORITY", RST_STREAM: "RST_STREAM",
               SETTINGS: "SETTINGS", PUSH_PROMISE: "PUSH_PROMISE", PING: "PING",
               GOAWAY: "GOAWAY", WINDOW_UPDATE: "WINDOW_UPDATE", CONTINUATION: "CONTINUATION"}

# Flags.
FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

# SETTINGS identifiers.
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_MAX_CONCURRENT_STREAMS = 0x3
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_MAX_FRAME_SIZE = 0x5
SETTINGS_MAX_HEADER_LIST_SIZE = 0x6

# Error codes.
NO_ERROR = 0x0
PROTOCOL_ERROR = 0x1
INTERNAL_ERROR = 0x2
FLOW_CONTROL_ERROR = 0x3
SETTINGS_TIMEOUT = 0x4
STREAM_CLOSED = 0x5
FRAME_SIZE_ERROR = 0x6
REFUSED_STREAM = 0x7
CANCEL = 0x8
COMPRESSION_ERROR = 0x9
CONNECT_ERROR = 0xa
ENHANCE_YOUR_CALM = 0xb
INADEQUATE_SECURITY = 0xc
HTTP_1_1_REQUIRED = 0xd
ERROR_NAMES = {0x0: "NO_ERROR", 0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR",
               0x3: "FLOW_CONTROL_ERROR", 0x4: "SETTINGS_TIMEOUT", 0x5: "STREAM_CLOSED",
               0x6: "FRAME_SIZE_ERROR", 0x7: "REFUSED_STREAM", 0x8: "CANCEL",
               0x9: "COMPRESSION_ERROR", 0xa: "CONNECT_ERROR", 0xb: "ENHANCE_YOUR_CALM",
               0xc: "INADEQUATE_SECURITY", 0xd: "HTTP_1_1_REQUIRED"}

DEFAULT_WINDOW = 65535
DEFAULT_MAX_FRAME = 16384
MAX_WINDOW = 2**31 - 1


def error_name(code: int | None) -> str:
    if code is None:
        return "none"
    return ERROR_NAMES.get(code, f"0x{code:x}")


# --- frames -------------------------------------------------------------------------------------

def frame(ftype: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    """One frame on the wire (9-byte header + payload)."""
    n = len(payload)
    if n >= 1 << 24:
        raise ValueError("frame payload too large")
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags, stream_id & 0x7FFFFFFF) + \
        payload


def settings_payload(settings: dict[int, int] | None) -> bytes:
    return b"".join(struct.pack(">HI", k, v) for k, v in (settings or {}).items())


def rst_stream_frame(stream_id: int, code: int = CANCEL) -> bytes:
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def ping_frame(data: bytes = b"\0" * 8, ack: bool = False) -> bytes:
    return frame(PING, FLAG_ACK if ack else 0, 0, data.ljust(8, b"\0")[:8])


def window_update_frame(stream_id: int, increment: int) -> bytes:
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", increment & 0x7FFFFFFF))


def goaway_frame(last_stream_id: int, code: int = NO_ERROR, debug: bytes = b"") -> bytes:
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_stream_id & 0x7FFFFFFF, code) + debug)


@dataclasses.dataclass
class Frame:
    type: int
    flags: int
    stream_id: int
    payload: bytes

    @property
    def name(self) -> str:
        return FRAME_NAMES.get(self.type, f"type{self.type}")

    def __repr__(self) -> str:
        return (f"Frame({self.name} flags=0x{self.flags:x} stream={self.stream_id} "
                f"len={len(self.payload)})")


@dataclasses.dataclass
class GoAway:
    last_stream_id: int
    error_code: int
    debug: bytes
    received_at: float

    def __repr__(self) -> str:
        return (f"GoAway(last_stream_id={self.last_stream_id}, "
                f"error={error_name(self.error_code)}, debug={self.debug[:200]!r})")


# --- HPACK: encoding (literal without indexing, no Huffman) --------------------------------------

def encode_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    """HPACK integer with an N-bit prefix; FIRST holds the bits above the prefix."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_string(data: bytes) -> bytes:
    """A string literal without Huffman coding (H=0)."""
    return encode_int(len(data), 7, 0x00) + data


def _b(x: str | bytes) -> bytes:
    return x if isinstance(x, bytes) else x.encode("latin-1")


def encode_header(name: str | bytes, value: str | bytes) -> bytes:
    """Literal header field without indexing, new name (0x00 + name + value)."""
    return b"\x00" + encode_string(_b(name)) + encode_string(_b(value))


def encode_headers(headers) -> bytes:
    """A header block: every (name, value) as encode_header(), in the given order."""
    return b"".join(encode_header(k, v) for k, v in headers)


def request_headers(method: str, path: str, headers=(), authority: str = "localhost",
                    scheme: str = "https") -> list[tuple[str, str]]:
    """Pseudo-headers first, then HEADERS (names lower-cased, as HTTP/2 requires)."""
    out = [(":method", method), (":scheme", scheme), (":authority", authority), (":path", path)]
    items = headers.items() if isinstance(headers, dict) else headers
    out += [(k.lower() if isinstance(k, str) else k.lower(), v) for k, v in items]
    return out


# --- HPACK: decoding ----------------------------------------------------------------------------

STATIC_TABLE = [
    (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"),
    (":path", "/index.html"), (":scheme", "http"), (":scheme", "https"), (":status", "200"),
    (":status", "204"), (":status", "206"), (":status", "304"), (":status", "400"),
    (":status", "404"), (":status", "500"), ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""),
    ("accept", ""), ("access-control-allow-origin", ""), ("age", ""), ("allow", ""),
    ("authorization", ""), ("cache-control", ""), ("content-disposition", ""),
    ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
    ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""),
    ("date", ""), ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""),
    ("if-match", ""), ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""),
    ("if-unmodified-since", ""), ("last-modified", ""), ("link", ""), ("location", ""),
    ("max-forwards", ""), ("proxy-authenticate", ""), ("proxy-authorization", ""), ("range", ""),
    ("referer", ""), ("refresh", ""), ("retry-after", ""), ("server", ""), ("set-cookie", ""),
    ("strict-transport-security", ""), ("transfer-encoding", ""), ("user-agent", ""),
    ("vary", ""), ("via", ""), ("www-authenticate", ""),
]
assert len(STATIC_TABLE) == 61

# Code lengths of the HPACK Huffman code (RFC 7541 Appendix B) for symbols 0..256 (256 = EOS).
# The code is canonical: codes are assigned in order of (length, symbol), so the lengths are all
# that is needed to rebuild it (checked by _self_check() against libnghttp2).
_HUFFMAN_LENGTHS = (
    # 0-31: control characters
    [13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
     28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28]
    # 32-63: ' ' ! " # $ % & ' ( ) * + , - . / 0-9 : ; < = > ?
    + [6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
       5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10]
    # 64-95: @ A-Z [ \ ] ^ _
    + [13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
       7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6]
    # 96-127: ` a-z { | } ~ DEL
    + [15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
       6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28]
    # 128-255
    + [20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
       24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
       22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
       21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
       26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
       19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
       20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
       26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26]
    # 256: EOS
    + [30]
)
assert len(_HUFFMAN_LENGTHS) == 257


def _build_huffman() -> tuple[dict[tuple[int, int], int], list[tuple[int, int]]]:
    """Canonical code from the lengths: {(length, code): symbol} and [(code, length)] by symbol."""
    order = sorted(range(257), key=lambda s: (_HUFFMAN_LENGTHS[s], s))
    decode: dict[tuple[int, int], int] = {}
    encode: list[tuple[int, int]] = [(0, 0)] * 257
    code, prev_len = 0, _HUFFMAN_LENGTHS[order[0]]
    for i, sym in enumerate(order):
        length = _HUFFMAN_LENGTHS[sym]
        if i:
            code = (code + 1) << (length - prev_len)
        prev_len = length
        decode[(length, code)] = sym
        encode[sym] = (code, length)
    return decode, encode


_HUFFMAN_DECODE, _HUFFMAN_ENCODE = _build_huffman()


class HpackError(ValueError):
    pass


def huffman_decode(data: bytes) -> bytes:
    out = bytearray()
    code, length = 0, 0
    for byte in data:
        for shift in range(7, -1, -1):
            code = (code << 1) | ((byte >> shift) & 1)
            length += 1
            sym = _HUFFMAN_DECODE.get((length, code))
            if sym is not None:
                if sym == 256:
                    raise HpackError("EOS symbol inside a Huffman string")
                out.append(sym)
                code, length = 0, 0
            elif length > 30:
                raise HpackError("invalid Huffman code")
    if length > 7 or code != (1 << length) - 1:
        raise HpackError("bad Huffman padding")
    return bytes(out)


def huffman_encode(data: bytes) -> bytes:
    """Huffman-code DATA (only used to test the decoder and to send H=1 strings)."""
    acc, bits, out = 0, 0, bytearray()
    for b in data:
        code, length = _HUFFMAN_ENCODE[b]
        acc = (acc << length) | code
        bits += length
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
        acc &= (1 << bits) - 1
    if bits:
        out.append(((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xFF)
    return bytes(out)


class HpackDecoder:
    """RFC 7541 decoder with a dynamic table (one per connection, in frame order)."""

    def __init__(self, max_table_size: int = 4096):
        self.max_table_size = max_table_size  # what we allow (SETTINGS_HEADER_TABLE_SIZE)
        self.table_size_limit = max_table_size  # current limit set by the encoder
        self.dynamic: list[tuple[str, str]] = []
        self.size = 0

    def _entry(self, index: int) -> tuple[str, str]:
        if index <= 0:
            raise HpackError("index 0")
        if index <= len(STATIC_TABLE):
            return STATIC_TABLE[index - 1]
        i = index - len(STATIC_TABLE) - 1
        if i >= len(self.dynamic):
            raise HpackError(f"index {index} beyond the dynamic table ({len(self.dynamic)})")
        return self.dynamic[i]

    def _evict(self) -> None:
        while self.size > self.table_size_limit and self.dynamic:
            n, v = self.dynamic.pop()
            self.size -= len(n) + len(v) + 32

    def _add(self, name: str, value: str) -> None:
        self.dynamic.insert(0, (name, value))
        self.size += len(name) + len(value) + 32
        self._evict()

    @staticmethod
    def _int(buf: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
        if pos >= len(buf):
            raise HpackError("truncated integer")
        limit = (1 << prefix_bits) - 1
        value = buf[pos] & limit
        pos += 1
        if value < limit:
            return value, pos
        shift = 0
        while True:
            if pos >= len(buf):
                raise HpackError("truncated integer")
            b = buf[pos]
            pos += 1
            value += (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value, pos
            if shift > 35:
                raise HpackError("integer too long")

    def _string(self, buf: bytes, pos: int) -> tuple[str, int]:
        if pos >= len(buf):
            raise HpackError("truncated string")
        huff = bool(buf[pos] & 0x80)
        n, pos = self._int(buf, pos, 7)
        if pos + n > len(buf):
            raise HpackError("truncated string")
        raw = buf[pos:pos + n]
        data = huffman_decode(raw) if huff else raw
        return data.decode("latin-1"), pos + n

    def decode(self, block: bytes) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        pos = 0
        while pos < len(block):
            b = block[pos]
            if b & 0x80:  # indexed
                idx, pos = self._int(block, pos, 7)
                out.append(self._entry(idx))
            elif b & 0xC0 == 0x40:  # literal with incremental indexing
                idx, pos = self._int(block, pos, 6)
                if idx:
                    name = self._entry(idx)[0]
                else:
                    name, pos = self._string(block, pos)
                value, pos = self._string(block, pos)
                out.append((name, value))
                self._add(name, value)
            elif b & 0xE0 == 0x20:  # dynamic table size update
                size, pos = self._int(block, pos, 5)
                if size > self.max_table_size:
                    raise HpackError(f"table size update {size} above {self.max_table_size}")
                self.table_size_limit = size
                self._evict()
            else:  # literal without indexing (0000) / never indexed (0001)
                idx, pos = self._int(block, pos, 4)
                if idx:
                    name = self._entry(idx)[0]
                else:
                    name, pos = self._string(block, pos)
                value, pos = self._string(block, pos)
                out.append((name, value))
        return out


# --- the connection -----------------------------------------------------------------------------

@dataclasses.dataclass
class Stream:
    id: int
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # final response
    interim: list[list[tuple[str, str]]] = dataclasses.field(default_factory=list)  # 1xx
    trailers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    data: bytearray = dataclasses.field(default_factory=bytearray)
    ended: bool = False  # END_STREAM received
    reset: int | None = None  # RST_STREAM error code received
    send_window: int = DEFAULT_WINDOW
    recv_unacked: int = 0

    @property
    def status(self) -> int | None:
        v = self.header(":status")
        return int(v) if v is not None else None

    def header(self, name: str) -> str | None:
        low = name.lower()
        for k, v in self.headers:
            if k == low:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [v for k, v in self.headers if k == low]

    @property
    def done(self) -> bool:
        return self.ended or self.reset is not None

    @property
    def body(self) -> bytes:
        return bytes(self.data)

    def __repr__(self) -> str:
        return (f"Stream(id={self.id}, status={self.status}, ended={self.ended}, "
                f"reset={error_name(self.reset) if self.reset is not None else None}, "
                f"data={bytes(self.data[:120])!r}{'...' if len(self.data) > 120 else ''})")


class ConnectionClosed(EOFError):
    pass


class H2Connection:
    """One HTTP/2 connection over TLS (see the module docstring).

    settings: the client's SETTINGS (default: ENABLE_PUSH=0, INITIAL_WINDOW_SIZE=1 MiB and a
    connection window opened to 16 MiB); preface=False leaves the preface to the test.
    auto_ack: answer SETTINGS and PING. auto_window: give back flow-control credit for received
    DATA (turn off for slow readers)."""

    def __init__(self, port: int, context: ssl.SSLContext, *, host: str = "127.0.0.1",
                 server_hostname: str = "localhost", alpn: tuple[str, ...] | None = ("h2",),
                 timeout: float = 10.0, settings: dict[int, int] | None = None,
                 connection_window: int = 16 * 1024 * 1024, preface: bool = True,
                 auto_ack: bool = True, auto_window: bool = True, require_h2: bool = True):
        if alpn is not None:
            context.set_alpn_protocols(list(alpn))
        raw = socket.create_connection((host, port), timeout=timeout)
        try:
            self.sock = context.wrap_socket(raw, server_hostname=server_hostname)
        except Exception:
            raw.close()
            raise
        self.timeout = timeout
        self.alpn_protocol = self.sock.selected_alpn_protocol()
        if require_h2 and self.alpn_protocol != "h2":
            self.sock.close()
            raise AssertionError(f"ALPN selected {self.alpn_protocol!r}, not h2")
        self.buf = bytearray()
        self.closed = False  # EOF or reset from the server
        self.close_reason = ""
        self.frames: list[Frame] = []  # every frame received, in order
        self.goaways: list[GoAway] = []
        self.server_settings: dict[int, int] = {}
        self.server_settings_frames = 0
        self.settings_acks = 0  # ACKs of our SETTINGS received
        self.ping_acks: list[bytes] = []
        self.streams: dict[int, Stream] = {}
        self.next_stream_id = 1
        self.decoder = HpackDecoder()
        self.auto_ack = auto_ack
        self.auto_window = auto_window
        self.local_settings = {SETTINGS_ENABLE_PUSH: 0,
                               SETTINGS_INITIAL_WINDOW_SIZE: 1024 * 1024}
        if settings is not None:
            self.local_settings.update(settings)
        self.local_initial_window = self.local_settings.get(SETTINGS_INITIAL_WINDOW_SIZE,
                                                            DEFAULT_WINDOW)
        self.conn_send_window = DEFAULT_WINDOW
        self.peer_initial_window = DEFAULT_WINDOW
        self.peer_max_frame = DEFAULT_MAX_FRAME
        self.conn_recv_unacked = 0
        self._header_block: tuple[Frame, bytearray] | None = None  # HEADERS awaiting CONTINUATION
        if preface and (self.alpn_protocol == "h2" or alpn is None):
            self.send(PREFACE + frame(SETTINGS, 0, 0, settings_payload(self.local_settings)))
            if connection_window > DEFAULT_WINDOW:
                self.send(window_update_frame(0, connection_window - DEFAULT_WINDOW))

    # -- sending ---------------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_frame(self, ftype: int, flags: int, stream_id: int, payload: bytes = b"") -> None:
        self.send(frame(ftype, flags, stream_id, payload))

    def send_settings(self, settings: dict[int, int] | None = None) -> None:
        self.send_frame(SETTINGS, 0, 0, settings_payload(settings))

    def send_ping(self, data: bytes = b"pingpong") -> None:
        self.send(ping_frame(data))

    def send_rst(self, stream_id: int, code: int = CANCEL) -> None:
        self.send(rst_stream_frame(stream_id, code))

    def send_goaway(self, last_stream_id: int = 0, code: int = NO_ERROR) -> None:
        self.send(goaway_frame(last_stream_id, code))

    def new_stream_id(self) -> int:
        sid = self.next_stream_id
        self.next_stream_id += 2
        self.streams[sid] = Stream(sid, send_window=self.peer_initial_window)
        return sid

    def header_frames(self, stream_id: int, block: bytes, end_stream: bool,
                      max_frame: int | None = None) -> bytes:
        """HEADERS (+ CONTINUATION) frames carrying BLOCK."""
        size = max_frame or self.peer_max_frame
        parts = [block[i:i + size] for i in range(0, len(block), size)] or [b""]
        out = []
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            flags = FLAG_END_HEADERS if last else 0
            if i == 0:
                flags |= FLAG_END_STREAM if end_stream else 0
                out.append(frame(HEADERS, flags, stream_id, part))
            else:
                out.append(frame(CONTINUATION, flags, stream_id, part))
        return b"".join(out)

    def send_headers(self, stream_id: int, headers=None, end_stream: bool = False,
                     block: bytes | None = None) -> None:
        """HEADERS for STREAM_ID from a list of (name, value) or a ready BLOCK."""
        if stream_id not in self.streams:
            self.streams[stream_id] = Stream(stream_id, send_window=self.peer_initial_window)
        data = block if block is not None else encode_headers(headers)
        self.send(self.header_frames(stream_id, data, end_stream))

    def send_data(self, stream_id: int, data: bytes, end_stream: bool = True,
                  flow_control: bool = True, timeout: float | None = None) -> None:
        """DATA frames (max frame size each); with FLOW_CONTROL wait (pumping frames) for window.
        Stops early without error if the stream was reset or answered and ended meanwhile."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        st = self.streams.setdefault(stream_id, Stream(stream_id,
                                                       send_window=self.peer_initial_window))
        view = memoryview(data)
        pos = 0
        while True:
            n = min(len(data) - pos, self.peer_max_frame)
            if flow_control and n > 0:
                if st.reset is not None or self.closed or self.goaways and \
                        self.goaways[-1].error_code != NO_ERROR:
                    return
                n = min(n, st.send_window, self.conn_send_window)
                if n <= 0:
                    self.pump(lambda: (min(st.send_window, self.conn_send_window) > 0
                                       or st.reset is not None or self.closed),
                              timeout=max(0.0, deadline - time.monotonic()),
                              what=f"flow-control window for stream {stream_id}")
                    continue
                st.send_window -= n
                self.conn_send_window -= n
            last = pos + n >= len(data)
            flags = FLAG_END_STREAM if (last and end_stream) else 0
            self.send(frame(DATA, flags, stream_id, bytes(view[pos:pos + n])))
            pos += n
            if last:
                return

    def request(self, method: str, path: str, headers=(), body: bytes | None = None,
                content_length: bool = True, end_stream: bool = True,
                authority: str = "localhost") -> int:
        """Open a stream and send a request; returns the stream id. BODY None sends HEADERS with
        END_STREAM (when END_STREAM); otherwise DATA follows. content-length is added for BODY
        unless CONTENT_LENGTH is False or the headers have one."""
        sid = self.new_stream_id()
        hdrs = request_headers(method, path, headers, authority=authority)
        if body is not None and content_length and \
                not any(k == "content-length" for k, _ in hdrs):
            hdrs.append(("content-length", str(len(body))))
        self.send_headers(sid, hdrs, end_stream=end_stream and body is None)
        if body is not None:
            self.send_data(sid, body, end_stream=end_stream)
        return sid

    # -- receiving -------------------------------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no data from the server in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 17)
        except (socket.timeout, TimeoutError):
            raise TimeoutError("no data from the server in time") from None
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError,
                ssl.SSLZeroReturnError) as e:
            data, self.close_reason = b"", type(e).__name__
        except ssl.SSLError as e:
            data, self.close_reason = b"", f"SSLError: {e}"
        except OSError as e:
            data, self.close_reason = b"", f"{type(e).__name__}: {e}"
        if not data:
            self.closed = True
            self.close_reason = self.close_reason or "EOF"
            return False
        self.buf += data
        return True

    def read_frame(self, timeout: float | None = None) -> Frame | None:
        """The next frame (handled already), or None when the connection ended."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while True:
            if len(self.buf) >= 9:
                n = (self.buf[0] << 16) | (self.buf[1] << 8) | self.buf[2]
                if len(self.buf) >= 9 + n:
                    ftype, flags = self.buf[3], self.buf[4]
                    sid = struct.unpack(">I", self.buf[5:9])[0] & 0x7FFFFFFF
                    f = Frame(ftype, flags, sid, bytes(self.buf[9:9 + n]))
                    del self.buf[:9 + n]
                    self.frames.append(f)
                    self._handle(f)
                    return f
            if self.closed or not self._fill(deadline):
                return None

    def pump(self, until, timeout: float | None = None, what: str = "condition"):
        """Handle frames until UNTIL() is truthy (returned). Returns UNTIL()'s value when the
        connection ends first; TimeoutError when TIMEOUT passes."""
        timeout = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + timeout
        while True:
            v = until()
            if v or self.closed:
                return v
            try:
                self.read_frame(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise TimeoutError(f"{what} not reached within {timeout}s; last frames "
                                   f"{self.frames[-8:]}, goaways {self.goaways}") from None

    def wait_response(self, stream_id: int, timeout: float | None = None) -> Stream:
        """Pump until STREAM_ID ends (END_STREAM or RST_STREAM) or the connection ends."""
        st = self.streams[stream_id]
        self.pump(lambda: st.done, timeout=timeout, what=f"end of stream {stream_id}")
        return st

    def wait_all(self, stream_ids, timeout: float | None = None) -> list[Stream]:
        sts = [self.streams[s] for s in stream_ids]
        self.pump(lambda: all(s.done for s in sts), timeout=timeout,
                  what=f"end of {len(sts)} streams")
        return sts

    def wait_settings(self, timeout: float | None = None) -> dict[int, int]:
        """Pump until the server's SETTINGS arrived and it acknowledged ours."""
        self.pump(lambda: self.server_settings_frames and self.settings_acks,
                  timeout=timeout, what="SETTINGS exchange")
        return self.server_settings

    def wait_goaway(self, timeout: float | None = None) -> GoAway | None:
        """Pump until a GOAWAY arrives; None if the connection ended without one."""
        self.pump(lambda: self.goaways, timeout=timeout, what="GOAWAY")
        return self.goaways[0] if self.goaways else None

    def wait_closed(self, timeout: float) -> bool:
        """Read (handling frames) until the server closes; True if it did within TIMEOUT s."""
        deadline = time.monotonic() + timeout
        try:
            while not self.closed:
                self.read_frame(timeout=max(0.0, deadline - time.monotonic()))
            return True
        except TimeoutError:
            return False

    def ping_roundtrip(self, data: bytes = b"roundtrp", timeout: float | None = None) -> bool:
        """Send PING and wait for its ACK (False if the connection ended first)."""
        self.send_ping(data)
        return bool(self.pump(lambda: data in self.ping_acks, timeout=timeout, what="PING ACK"))

    def _stream(self, sid: int) -> Stream:
        if sid not in self.streams:
            self.streams[sid] = Stream(sid, send_window=self.peer_initial_window)
        return self.streams[sid]

    def _handle(self, f: Frame) -> None:
        if self._header_block is not None and f.type != CONTINUATION:
            raise AssertionError(f"server sent {f} inside a header block")
        if f.type == SETTINGS:
            if f.flags & FLAG_ACK:
                self.settings_acks += 1
                return
            self.server_settings_frames += 1
            for i in range(0, len(f.payload) - len(f.payload) % 6, 6):
                k, v = struct.unpack(">HI", f.payload[i:i + 6])
                self.server_settings[k] = v
                if k == SETTINGS_INITIAL_WINDOW_SIZE:
                    delta = v - self.peer_initial_window
                    self.peer_initial_window = v
                    for st in self.streams.values():
                        st.send_window += delta
                elif k == SETTINGS_MAX_FRAME_SIZE:
                    self.peer_max_frame = v
                elif k == SETTINGS_HEADER_TABLE_SIZE:
                    pass  # only matters for an encoder with a dynamic table (we have none)
            if self.auto_ack and not self.closed:
                with contextlib.suppress(OSError):
                    self.send(frame(SETTINGS, FLAG_ACK, 0))
        elif f.type == PING:
            if f.flags & FLAG_ACK:
                self.ping_acks.append(f.payload)
            elif self.auto_ack and not self.closed:
                with contextlib.suppress(OSError):
                    self.send(ping_frame(f.payload, ack=True))
        elif f.type == GOAWAY:
            last, code = struct.unpack(">II", f.payload[:8])
            self.goaways.append(GoAway(last & 0x7FFFFFFF, code, f.payload[8:], time.monotonic()))
        elif f.type == WINDOW_UPDATE:
            inc = struct.unpack(">I", f.payload[:4])[0] & 0x7FFFFFFF
            if f.stream_id == 0:
                self.conn_send_window += inc
            else:
                self._stream(f.stream_id).send_window += inc
        elif f.type == RST_STREAM:
            self._stream(f.stream_id).reset = struct.unpack(">I", f.payload[:4])[0]
        elif f.type == HEADERS:
            payload = f.payload
            pad = 0
            if f.flags & FLAG_PADDED:
                pad = payload[0]
                payload = payload[1:]
            if f.flags & FLAG_PRIORITY:
                payload = payload[5:]
            if pad:
                payload = payload[:-pad]
            if f.flags & FLAG_END_HEADERS:
                self._headers_done(f, payload)
            else:
                self._header_block = (f, bytearray(payload))
        elif f.type == CONTINUATION:
            if self._header_block is None:
                raise AssertionError(f"CONTINUATION outside a header block: {f}")
            self._header_block[1].extend(f.payload)
            if f.flags & FLAG_END_HEADERS:
                first, block = self._header_block
                self._header_block = None
                self._headers_done(first, bytes(block))
        elif f.type == DATA:
            st = self._stream(f.stream_id)
            payload = f.payload
            if f.flags & FLAG_PADDED:
                payload = payload[1:len(payload) - payload[0]]
            st.data += payload
            if f.flags & FLAG_END_STREAM:
                st.ended = True
            if self.auto_window and f.payload:
                self.conn_recv_unacked += len(f.payload)
                st.recv_unacked += len(f.payload)
                out = b""
                if self.conn_recv_unacked >= 16384:
                    out += window_update_frame(0, self.conn_recv_unacked)
                    self.conn_recv_unacked = 0
                if st.recv_unacked >= 16384 and not st.ended:
                    out += window_update_frame(f.stream_id, st.recv_unacked)
                    st.recv_unacked = 0
                if out and not self.closed:
                    with contextlib.suppress(OSError):
                        self.send(out)
        elif f.type == PUSH_PROMISE:
            raise AssertionError("server sent PUSH_PROMISE although ENABLE_PUSH is 0")

    def _headers_done(self, first: Frame, block: bytes) -> None:
        headers = self.decoder.decode(block)
        st = self._stream(first.stream_id)
        status = next((v for k, v in headers if k == ":status"), None)
        if status is not None and status.startswith("1") and not st.headers:
            st.interim.append(headers)
        elif not st.headers:
            st.headers = headers
        else:
            st.trailers = headers
        if first.flags & FLAG_END_STREAM:
            st.ended = True

    # -- misc ------------------------------------------------------------------------------------

    def frames_of(self, ftype: int) -> list[Frame]:
        return [f for f in self.frames if f.type == ftype]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def __enter__(self) -> "H2Connection":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect(port: int, context: ssl.SSLContext, **kw) -> H2Connection:
    """An H2Connection whose SETTINGS exchange has completed."""
    c = H2Connection(port, context, **kw)
    try:
        c.wait_settings()
    except BaseException:
        c.close()
        raise
    return c


# --- self check -----------------------------------------------------------------------------------

def _self_check() -> None:
    """Kraft equality of the Huffman lengths, round trips, and (when the system libnghttp2 is
    there) every byte Huffman-coded here decoded by nghttp2's own HPACK inflater."""
    from fractions import Fraction

    assert sum(Fraction(1, 2 ** n) for n in _HUFFMAN_LENGTHS) == 1, "Huffman lengths not complete"
    # RFC 7541 C.4.1: "www.example.com" Huffman-coded.
    assert huffman_encode(b"www.example.com") == bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")
    assert huffman_decode(bytes.fromhex("f1e3c2e5f23a6ba0ab90f4ff")) == b"www.example.com"
    # RFC 7541 C.6.1 response header block (Huffman, indexing).
    d = HpackDecoder(256)
    got = d.decode(bytes.fromhex(
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863"
        "c78f0b97c8e9ae82ae43d3"))
    assert got == [(":status", "302"), ("cache-control", "private"),
                   ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                   ("location", "https://www.example.com")], got
    every = bytes(range(256))
    assert huffman_decode(huffman_encode(every)) == every
    try:
        import ctypes

        lib = ctypes.CDLL("libnghttp2.so.14")
    except OSError:
        print("libnghttp2 not found; skipped the cross-check")
        return

    class NV(ctypes.Structure):
        _fields_ = [("name", ctypes.c_void_p), ("value", ctypes.c_void_p),
                    ("namelen", ctypes.c_size_t), ("valuelen", ctypes.c_size_t),
                    ("flags", ctypes.c_uint8)]

    lib.nghttp2_hd_inflate_hd2.restype = ctypes.c_ssize_t
    lib.nghttp2_hd_inflate_hd2.argtypes = [ctypes.c_void_p, ctypes.POINTER(NV),
                                           ctypes.POINTER(ctypes.c_int), ctypes.c_char_p,
                                           ctypes.c_size_t, ctypes.c_int]
    for sym in range(256):
        value = bytes([sym]) * 3 + b"x"
        inf = ctypes.c_void_p()
        assert lib.nghttp2_hd_inflate_new(ctypes.byref(inf)) == 0
        hv = huffman_encode(value)
        block = b"\x00" + encode_string(b"x-v") + encode_int(len(hv), 7, 0x80) + hv
        nv, flags = NV(), ctypes.c_int(0)
        rv = lib.nghttp2_hd_inflate_hd2(inf, ctypes.byref(nv), ctypes.byref(flags), block,
                                        len(block), 1)
        assert rv == len(block) and flags.value & 0x2, (sym, rv, flags.value)
        got = ctypes.string_at(nv.value, nv.valuelen)
        assert got == value, (sym, got)
        lib.nghttp2_hd_inflate_del(inf)
    print("Huffman table matches libnghttp2 for all 256 byte values")


if __name__ == "__main__":
    _self_check()
