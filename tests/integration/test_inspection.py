"""Payload inspection on the push routes (DESIGN.md §4, §5): valid remote-write and Loki bodies
are counted and forwarded byte for byte; undecodable bodies get 400, unsupported Content-Type or
Content-Encoding 415, decompression bombs 413, and none of them reaches the upstream; a
`scan: false` route forwards anything unchanged."""

import gzip
import types

import pytest

from support import gateway as gw
from support import ingest
from support import loki_proto as lp
from support import remote_write as rw
from support.loki_backend import LokiBackend
from support.recording_backend import RecordingBackend

RW = "/api/v1/push"
LOKI = "/loki/api/v1/push"
RW_RAW = "/raw-rw/push"
LOKI_RAW = "/raw-loki/push"
V2_CONTENT_TYPE = "application/x-protobuf;proto=io.prometheus.write.v2.Request"


@pytest.fixture(scope="module")
def env(module_gateways, test_pki):
    """One gateway, max_decompressed_bytes 1MiB, no rate limits; cortex and loki backends."""
    cortex = RecordingBackend().start()
    loki = LokiBackend().start()
    routes = [
        {"path": RW, "kind": "prometheus_remote_write", "upstream": "cortex"},
        {"path": LOKI, "kind": "loki_push", "upstream": "loki"},
        {"path": RW_RAW, "kind": "prometheus_remote_write", "upstream": "cortex", "scan": False},
        {"path": LOKI_RAW, "kind": "loki_push", "upstream": "loki", "scan": False},
    ]
    limits = {"defaults": {
        "metrics": {"samples_per_second": 0, "burst_samples": 0},
        "logs": {"bytes_per_second": 0, "burst_bytes": 0},
    }}
    g = ingest.start_gateway(module_gateways, {"cortex": cortex.url, "loki": loki.url},
                             routes=routes, limits=limits,
                             server={"max_decompressed_bytes": "1MiB",
                                     "max_request_body_bytes": "4MiB"})
    yield types.SimpleNamespace(gw=g, cortex=cortex, loki=loki, pki=test_pki,
                                ctx=gw.client_context(test_pki, "tenant-a"))
    cortex.stop()
    loki.stop()


@pytest.fixture(autouse=True)
def _fresh(env):
    env.cortex.reset()
    env.loki.reset()


def _post(env, path, body, headers):
    return gw.https_request(env.gw.port, env.ctx, "POST", path, body, list(headers.items()))


def _request_line(env, offset, route):
    """The gateway's debug line for the one request forwarded on ROUTE since OFFSET."""
    recs = gw.wait_until(lambda: ingest.forwarded(env.gw.log_since(offset), route=route),
                         timeout=5, what=f"a debug request line for {route}")
    assert len(recs) == 1, recs
    return recs[0]


def _assert_rejected(env, r, status):
    assert r.status == status, (r.status, r.text)
    assert gw.one_line_reason(r.body), r.body
    assert env.cortex.requests == [] and env.loki.requests == [], "a rejected body was forwarded"


# --- remote-write -------------------------------------------------------------------------------

def _pb_fixed64(number, raw):
    return rw._varint((number << 3) | 1) + raw


def _series_with_extras(samples, exemplars, histograms):
    """TimeSeries with SAMPLES samples, EXEMPLARS Exemplar{labels,value,timestamp} and
    HISTOGRAMS Histogram{count_int=1, sum=3, schema=4, timestamp=15}."""
    ts = rw._field_bytes(1, rw._field_bytes(1, b"__name__") + rw._field_bytes(2, b"mla_mixed"))
    for i in range(samples):
        ts += rw._field_bytes(2, rw._field_double(1, float(i)) + rw._field_varint(2, 1000 + i))
    for i in range(exemplars):
        label = rw._field_bytes(1, b"trace_id") + rw._field_bytes(2, b"abc%d" % i)
        ts += rw._field_bytes(3, rw._field_bytes(1, label) + rw._field_double(2, 1.5)
                              + rw._field_varint(3, 1000 + i))
    for i in range(histograms):
        ts += rw._field_bytes(4, rw._field_varint(1, 3) + rw._field_double(3, 4.5)
                              + rw._field_varint(4, 0) + rw._field_varint(15, 1000 + i))
    return rw._field_bytes(1, ts)


def test_valid_v1_forwarded_byte_for_byte(env):
    """A valid v1 body is forwarded unchanged, with its headers, and counted exactly."""
    body = ingest.samples_body(7, series=3)
    offset = env.gw.log_size()
    r = _post(env, RW, body, rw.REMOTE_WRITE_HEADERS)
    assert r.status == 200, r.text
    req = env.cortex.wait_for_requests(1, timeout=5)[0]
    assert req.body == body
    assert req.header("Content-Encoding") == "snappy"
    assert req.header("Content-Type") == "application/x-protobuf"
    assert req.header("X-Prometheus-Remote-Write-Version") == "0.1.0"
    line = _request_line(env, offset, RW)
    assert (line["tenant"], line["samples"], line["bytes"]) == ("tenant-a", "7", str(len(body)))


def test_v1_histograms_and_exemplars_are_samples(env):
    """Cost of a v1 body = samples + histograms + exemplars (DESIGN.md §4)."""
    body = rw.snappy_compress(_series_with_extras(3, 2, 1) + _series_with_extras(1, 0, 4))
    offset = env.gw.log_size()
    r = _post(env, RW, body, rw.REMOTE_WRITE_HEADERS)
    assert r.status == 200, r.text
    assert env.cortex.wait_for_requests(1, timeout=5)[0].body == body
    assert _request_line(env, offset, RW)["samples"] == str(3 + 2 + 1 + 1 + 4)


def test_valid_v2_forwarded_and_counted(env):
    """A remote-write 2.0 body (symbols + label refs) is forwarded unchanged and counted."""
    symbols = [b"", b"__name__", b"mla_v2", b"job", b"t"]
    req_pb = b"".join(rw._field_bytes(4, s) for s in symbols)
    for n in (2, 3):
        refs = b"".join(rw._varint(i) for i in (1, 2, 3, 4))
        ts = rw._field_bytes(1, refs)  # packed labels_refs
        for i in range(n):
            ts += rw._field_bytes(2, rw._field_double(1, 1.0) + rw._field_varint(2, 1000 + i))
        req_pb += rw._field_bytes(5, ts)
    body = rw.snappy_compress(req_pb)
    headers = dict(rw.REMOTE_WRITE_HEADERS, **{"Content-Type": V2_CONTENT_TYPE,
                                               "X-Prometheus-Remote-Write-Version": "2.0.0"})
    offset = env.gw.log_size()
    r = _post(env, RW, body, headers)
    assert r.status == 200, r.text
    req = env.cortex.wait_for_requests(1, timeout=5)[0]
    assert req.body == body and req.header("Content-Type") == V2_CONTENT_TYPE
    assert _request_line(env, offset, RW)["samples"] == "5"


@pytest.mark.parametrize("body", [
    rw._varint(100) + bytes([(9 << 2) | 2]) + (5).to_bytes(2, "little"),  # copy before any output
    rw._varint(50) + bytes([(19 << 2)]) + b"only ten b",  # literal runs past the end
    b"\xff" * 11,  # the length varint never ends
    rw._varint(10) + bytes([(9 << 2)]) + b"0123456789" + b"trailing",  # longer than declared
], ids=["bad-offset", "short-literal", "bad-varint", "trailing-bytes"])
def test_corrupt_snappy_is_400(env, body):
    """Corrupt snappy on the remote-write route: 400 with a one-line reason, not forwarded."""
    _assert_rejected(env, _post(env, RW, body, rw.REMOTE_WRITE_HEADERS), 400)


@pytest.mark.parametrize("cut", [1, 5, 20])
def test_truncated_protobuf_is_400(env, cut):
    """A WriteRequest cut short (valid snappy around it): 400, not forwarded."""
    pb = rw.encode_write_request([({"__name__": "m", "a": "b"}, [(1.0, 1), (2.0, 2)])])
    body = rw.snappy_compress(pb[:-cut])
    _assert_rejected(env, _post(env, RW, body, rw.REMOTE_WRITE_HEADERS), 400)


def test_wrong_wire_type_is_400(env):
    """WriteRequest.timeseries sent as a varint instead of a message: 400, not forwarded."""
    body = rw.snappy_compress(rw._field_varint(1, 5))
    _assert_rejected(env, _post(env, RW, body, rw.REMOTE_WRITE_HEADERS), 400)


@pytest.mark.parametrize("content_type", [
    "text/plain", "application/json", "application/x-protobuf;proto=foo.bar.Unknown",
])
def test_wrong_content_type_is_415(env, content_type):
    """An unsupported Content-Type on the remote-write route: 415, not forwarded."""
    headers = dict(rw.REMOTE_WRITE_HEADERS, **{"Content-Type": content_type})
    _assert_rejected(env, _post(env, RW, rw.remote_write_body(), headers), 415)


@pytest.mark.parametrize("path,encoding,content_type", [
    (RW, "br", "application/x-protobuf"),
    (RW, "zstd", "application/x-protobuf"),
    (LOKI, "br", "application/json"),
    (LOKI, "compress", "application/x-protobuf"),
])
def test_unsupported_content_encoding_is_415(env, path, encoding, content_type):
    """An unsupported Content-Encoding: 415, not forwarded."""
    body = rw.remote_write_body() if path == RW else lp.json_body([({"a": "b"}, [(1, "x", None)])])
    headers = {"Content-Type": content_type, "Content-Encoding": encoding}
    _assert_rejected(env, _post(env, path, body, headers), 415)


def test_remote_write_decompression_bomb_is_413(env):
    """A ~100 KB snappy body that expands to 2 MiB (> max_decompressed_bytes 1MiB): 413."""
    body = ingest.snappy_bomb(2 * 1024 * 1024)
    assert len(body) < 128 * 1024
    _assert_rejected(env, _post(env, RW, body, rw.REMOTE_WRITE_HEADERS), 413)


def test_loki_gzip_bomb_is_413(env):
    """A few-KB gzip JSON body expanding to 8 MiB: 413, not forwarded."""
    body = gzip.compress(b'{"streams":[' + b" " * (8 * 1024 * 1024) + b"]}")
    assert len(body) < 64 * 1024
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    _assert_rejected(env, _post(env, LOKI, body, headers), 413)


def test_loki_snappy_bomb_is_413(env):
    """A snappy 'protobuf' Loki body expanding to 2 MiB: 413, not forwarded."""
    body = ingest.snappy_bomb(2 * 1024 * 1024)
    _assert_rejected(env, _post(env, LOKI, body, {"Content-Type": "application/x-protobuf"}),
                     413)


def test_just_below_max_decompressed_is_accepted(env):
    """A body whose decompressed size is below max_decompressed_bytes is not a bomb: a
    ~900 KB WriteRequest (one long label value) is forwarded."""
    pb = rw.encode_write_request([({"__name__": "m", "big": "x" * (900 * 1024)},
                                   [(1.0, 1)])])
    body = rw.snappy_compress(pb)
    r = _post(env, RW, body, rw.REMOTE_WRITE_HEADERS)
    assert r.status == 200, r.text
    assert env.cortex.wait_for_requests(1, timeout=5)[0].body == body


# --- Loki ---------------------------------------------------------------------------------------

LOKI_JSON_STREAMS = [
    ({"job": "mla", "app": "x"}, [
        (1_700_000_000_000_000_001, "plain line", None),
        (1_700_000_000_000_000_002, 'escaped "quotes" \\ and\ttab\nnewline', None),
        (1_700_000_000_000_000_003, "unicode é ✓ 𝄞", {"trace_id": "abc", "user": "zoë"}),
    ]),
    ({"job": "other"}, [(1_700_000_000_000_000_004, "", None)]),
]


def test_loki_json_forwarded_and_counted(env):
    """A valid JSON push (escapes, UTF-8, structured metadata) is forwarded byte for byte;
    the gateway's lines and bytes equal what the backend decodes."""
    body = lp.json_body(LOKI_JSON_STREAMS)
    offset = env.gw.log_size()
    r = _post(env, LOKI, body, {"Content-Type": "application/json"})
    assert r.status == 204, r.text
    push = env.loki.wait_for_requests(1, timeout=5) and env.loki.decoded()[0]
    assert push.request.body == body and push.error is None
    assert (push.lines, push.bytes) == (4, lp.count(lp.decode_push_json(body))[1])
    line = _request_line(env, offset, LOKI)
    assert (int(line["lines"]), int(line["log_bytes"])) == (push.lines, push.bytes), line


@pytest.mark.parametrize("body", [
    b"{not json",
    b'{"streams": [',
    b'{"streams": {"stream": {}}}',
    b'{"streams": [{"stream": {"a": "b"}, "values": [["1", 42]]}]}',
    b'{"streams": [{"stream": {"a": "b"}, "values": ["1", "line"]}]}',
    b'{"streams": [{"stream": {"a": 1}, "values": [["1", "line"]]}]}',
    b'{"streams": [{"stream": {"a": "b"}, "values": [["1", "line", {"k": 1}]]}]}',
    b'[]',
], ids=["syntax", "truncated", "streams-object", "line-number", "value-not-pair",
        "label-number", "metadata-number", "top-array"])
def test_loki_json_malformed_is_400(env, body):
    """A malformed or wrongly shaped Loki JSON body: 400 with a one-line reason."""
    _assert_rejected(env, _post(env, LOKI, body, {"Content-Type": "application/json"}), 400)


def _proto_streams():
    return [
        lp.Stream('{job="mla", app="proto"}', [
            lp.Entry(1, 2, b"first line"),
            lp.Entry(1_700_000_000, 999_999_999, "ünïcode line".encode(),
                     [(b"trace_id", b"0123456789abcdef"), (b"pod", b"p-1")]),
        ]),
        lp.Stream('{job="mla", app="proto2"}', [lp.Entry(3, 0, b"x" * 1000, [(b"k", b"")])]),
    ]


@pytest.mark.parametrize("encoding", [None, "snappy"])
def test_loki_protobuf_forwarded_and_counted(env, encoding):
    """A snappy protobuf push (with or without Content-Encoding: snappy) is forwarded byte for
    byte; the gateway's lines/log_bytes equal the backend's decode."""
    streams = _proto_streams()
    body = lp.snappy_proto_body(streams)
    headers = {"Content-Type": "application/x-protobuf"}
    if encoding:
        headers["Content-Encoding"] = encoding
    offset = env.gw.log_size()
    r = _post(env, LOKI, body, headers)
    assert r.status == 204, r.text
    env.loki.wait_for_requests(1, timeout=5)
    push = env.loki.decoded()[0]
    assert push.request.body == body and push.error is None, push.error
    assert (push.lines, push.bytes) == lp.count(streams) == (3, 10 + 14 + 8 + 16 + 3 + 3 + 1000
                                                             + 1)
    line = _request_line(env, offset, LOKI)
    assert (int(line["lines"]), int(line["log_bytes"])) == (push.lines, push.bytes), line


def test_loki_gzip_json_counted(env):
    """A gzip-wrapped JSON push is forwarded unchanged (still gzip) and counted like the
    decoded body."""
    raw = lp.json_body(LOKI_JSON_STREAMS)
    body = gzip.compress(raw)
    offset = env.gw.log_size()
    r = _post(env, LOKI, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    assert r.status == 204, r.text
    env.loki.wait_for_requests(1, timeout=5)
    push = env.loki.decoded()[0]
    assert push.request.body == body and push.request.header("Content-Encoding") == "gzip"
    assert (push.lines, push.bytes) == lp.count(lp.decode_push_json(raw))
    line = _request_line(env, offset, LOKI)
    assert (int(line["lines"]), int(line["log_bytes"])) == (push.lines, push.bytes), line


def test_loki_corrupt_gzip_is_400(env):
    """A body that claims gzip but is not: 400, not forwarded."""
    body = gzip.compress(lp.json_body(LOKI_JSON_STREAMS))
    body = body[:10] + bytes(b ^ 0x55 for b in body[10:30]) + body[30:]
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    _assert_rejected(env, _post(env, LOKI, body, headers), 400)


def test_loki_truncated_protobuf_is_400(env):
    """A Loki PushRequest cut short inside an entry: 400, not forwarded."""
    pb = lp.encode_push_request(_proto_streams())
    body = rw.snappy_compress(pb[:-7])
    _assert_rejected(env, _post(env, LOKI, body, {"Content-Type": "application/x-protobuf"}),
                     400)


# --- scan: false --------------------------------------------------------------------------------

@pytest.mark.parametrize("path,backend", [(RW_RAW, "cortex"), (LOKI_RAW, "loki")])
def test_scan_false_forwards_garbage_unchanged(env, path, backend):
    """On a `scan: false` route an undecodable body with a foreign Content-Type is forwarded
    byte for byte (only bytes are counted)."""
    body = b"\xff\x00 definitely not snappy, protobuf or json \x01\x02" * 10
    headers = {"Content-Type": "application/x-garbage", "Content-Encoding": "snappy"}
    offset = env.gw.log_size()
    r = _post(env, path, body, headers)
    assert r.status in (200, 204), r.text
    req = getattr(env, backend).wait_for_requests(1, timeout=5)[0]
    assert req.body == body
    assert req.header("Content-Type") == "application/x-garbage"
    line = _request_line(env, offset, path)
    assert line["bytes"] == str(len(body)) and line["samples"] == "0", line


def test_rejections_are_not_forwarded_on_a_kept_alive_connection(env):
    """A bad body on a kept-alive connection gets 400 and the next good request on the same
    connection still goes through; only the good one reaches the backend."""
    with gw.HttpsClient(env.gw.port, env.ctx) as c:
        bad = c.post(RW, b"\x00garbage", rw.REMOTE_WRITE_HEADERS)
        good_body = rw.remote_write_body()
        good = c.post(RW, good_body, rw.REMOTE_WRITE_HEADERS)
    assert bad.status == 400, bad.text
    assert good.status == 200, good.text
    reqs = env.cortex.wait_for_requests(1, timeout=5)
    assert [r.body for r in reqs] == [good_body]
    assert env.loki.requests == []
