// Loki push bodies (protobuf built with the generated logproto classes, and JSON) through
// scan_payload, in every Content-Type / Content-Encoding combination clients use.
#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "gateway/ingest/loki_json_scanner.h"
#include "gateway/ingest/payload_scanner.h"
#include "logproto/push.pb.h"
#include "tests/unit/ingest/test_codec.h"

namespace mla::ingest {
namespace {

using namespace std::string_literals;
using config::RouteKind;
namespace codec = testing;

// 2 streams; entries "hello" (5), "world!" (6) + metadata {trace_id: abc} (8 + 3), "x" (1)
// + metadata {a: "", bb: "cc"} (1 + 0 + 2 + 2). Lines 3, bytes 5 + 17 + 6 = 28.
::logproto::PushRequest loki_request() {
  ::logproto::PushRequest request;
  auto* first = request.add_streams();
  first->set_labels("{job=\"app\"}");
  auto* e1 = first->add_entries();
  e1->mutable_timestamp()->set_seconds(1700000000);
  e1->set_line("hello");
  auto* e2 = first->add_entries();
  e2->mutable_timestamp()->set_seconds(1700000001);
  e2->mutable_timestamp()->set_nanos(5);
  e2->set_line("world!");
  auto* trace = e2->add_structuredmetadata();
  trace->set_name("trace_id");
  trace->set_value("abc");
  auto* second = request.add_streams();
  second->set_labels("{job=\"db\"}");
  auto* e3 = second->add_entries();
  e3->set_line("x");
  auto* a = e3->add_structuredmetadata();
  a->set_name("a");
  auto* bb = e3->add_structuredmetadata();
  bb->set_name("bb");
  bb->set_value("cc");
  return request;
}

Counts loki_counts(std::uint64_t streams, std::uint64_t lines, std::uint64_t bytes) {
  Counts counts;
  counts.series = streams;
  counts.log_lines = lines;
  counts.log_bytes = bytes;
  return counts;
}

// Same content as loki_request() in JSON.
const std::string kJsonWithMetadata =
    R"({"streams":[{"stream":{"job":"app"},"values":[["1700000000000000000","hello"],)"
    R"(["1700000001000000005","world!",{"trace_id":"abc"}]]},)"
    R"({"stream":{"job":"db"},"values":[["1","x",{"a":"","bb":"cc"}]]}]})";
const std::string kJsonPlain =
    R"({"streams":[{"stream":{"job":"app"},"values":[["1","hello"],["2","world!"]]}]})";

ScanResult scan(std::string_view type, std::string_view encoding, std::string_view body,
                const ScanLimits& limits = {}) {
  ScanBuffers scratch;
  return scan_payload(RouteKind::kLokiPush, {type, encoding}, body, scratch, limits);
}

TEST_CASE("Loki protobuf with structured metadata is counted in every encoding", "[ingest]") {
  const std::string snappy = codec::snappy_block(loki_request().SerializeAsString());
  struct Row {
    std::string_view type;
    std::string_view encoding;
    std::string body;
  };
  const std::vector<Row> rows = {
      {"application/x-protobuf", "", snappy},
      {"", "", snappy},  // winston-loki and promtail may send no Content-Type at all
      {"application/x-protobuf", "snappy", snappy},  // names the same single snappy layer
      {"application/x-protobuf", "gzip", codec::gzip(snappy)},
      {"application/x-protobuf", "deflate", codec::zlib_deflate(snappy)},
      {"application/x-protobuf", "deflate", codec::raw_deflate(snappy)},
      {"application/octet-stream", "identity", snappy},
  };
  for (const Row& row : rows) {
    INFO(row.type << " / " << row.encoding);
    const ScanResult result = scan(row.type, row.encoding, row.body);
    REQUIRE(result.ok());
    CHECK(result.counts == loki_counts(2, 3, 28));
  }
}

TEST_CASE("Loki JSON is counted with and without structured metadata", "[ingest]") {
  struct Row {
    std::string_view type;
    std::string_view encoding;
    std::string body;
    Counts want;
  };
  const Counts with = loki_counts(2, 3, 28);
  const Counts plain = loki_counts(1, 2, 11);
  const std::vector<Row> rows = {
      {"application/json", "", kJsonWithMetadata, with},
      {"application/json; charset=utf-8", "", kJsonWithMetadata, with},
      {"application/json; charset", "", kJsonWithMetadata, with},
      {"Application/JSON", "gzip", codec::gzip(kJsonWithMetadata), with},
      {"application/json", "deflate", codec::zlib_deflate(kJsonWithMetadata), with},
      {"application/json", "deflate", codec::raw_deflate(kJsonWithMetadata), with},
      {"application/json", "snappy", codec::snappy_block(kJsonWithMetadata), with},
      {"application/json", "", kJsonPlain, plain},
      {"application/json", "gzip", codec::gzip(kJsonPlain), plain},
  };
  for (const Row& row : rows) {
    INFO(row.type << " / " << row.encoding);
    const ScanResult result = scan(row.type, row.encoding, row.body);
    REQUIRE(result.ok());
    CHECK(result.counts == row.want);
  }
}

TEST_CASE("Loki JSON counts decoded bytes and skips unknown keys", "[ingest]") {
  struct Row {
    const char* body;
    Counts want;
  };
  const std::vector<Row> rows = {
      {"{}", loki_counts(0, 0, 0)},
      {R"({"streams":null})", loki_counts(0, 0, 0)},
      {R"({"streams":[]})", loki_counts(0, 0, 0)},
      {R"({"streams":[{"stream":null,"values":null}]})", loki_counts(1, 0, 0)},
      // "a\nb" is 3 bytes decoded; "\u00e9" is 2 bytes of UTF-8.
      {R"({"streams":[{"values":[["1","a\nb"],["2","\u00e9"]]}]})", loki_counts(1, 2, 5)},
      {R"({"streams":[{"values":[["1","x",null]]}]})", loki_counts(1, 1, 1)},
      {R"({"other":[1,{"a":[true,null,2.5]}],"streams":[{"stream":{"a":"b"},"extra":{"k":[[]]},)"
       R"("values":[["1","xy"]]}],"more":"z"})",
       loki_counts(1, 1, 2)},
  };
  for (const Row& row : rows) {
    INFO(row.body);
    const ScanResult result = scan("application/json", "", row.body);
    REQUIRE(result.ok());
    CHECK(result.counts == row.want);
  }
}

TEST_CASE("Loki JSON with a wrong shape or syntax is 400", "[ingest]") {
  const std::vector<std::string> rows = {
      "",
      "[]",
      "42",
      R"({"streams":{}})",
      R"({"streams":"x"})",
      R"({"streams":[1]})",
      R"({"streams":[[]]})",
      R"({"streams":[{"stream":{"a":1},"values":[]}]})",
      R"({"streams":[{"stream":[],"values":[]}]})",
      R"({"streams":[{"values":{}}]})",
      R"({"streams":[{"values":["1","a"]}]})",
      R"({"streams":[{"values":[["1"]]}]})",
      R"({"streams":[{"values":[[]]}]})",
      R"({"streams":[{"values":[[1,"a"]]}]})",
      R"({"streams":[{"values":[["1",2]]}]})",
      R"({"streams":[{"values":[["1","a",{},"extra"]]}]})",
      R"({"streams":[{"values":[["1","a",[]]]}]})",
      R"({"streams":[{"values":[["1","a",{"k":1}]]}]})",
      R"({"streams":[)",
      R"({"streams":[]} trailing)",
      R"({"streams":[{"values":[["1","a"]]}],})",
      "{\"streams\":[{\"values\":[[\"1\",\"\xff\"]]}]}",  // invalid UTF-8
  };
  for (const std::string& body : rows) {
    INFO(body);
    const ScanResult result = scan("application/json", "", body);
    CHECK(result.http_status == 400);
    CHECK(!result.reason.empty());
    CHECK(result.reason.find('\n') == std::string::npos);
  }
}

TEST_CASE("Loki JSON nesting of unknown values is bounded", "[ingest]") {
  const auto nested = [](int depth) {
    return R"({"x":)" + std::string(depth, '[') + std::string(depth, ']') + R"(,"streams":[]})";
  };
  CHECK(scan("application/json", "", nested(kMaxJsonSkipDepth)).ok());
  const ScanResult deep = scan("application/json", "", nested(kMaxJsonSkipDepth + 1));
  CHECK(deep.http_status == 400);
  CHECK_THAT(deep.reason, Catch::Contains("nesting too deep"));
  CHECK(scan("application/json", "", nested(100000)).http_status == 400);
}

TEST_CASE("malformed Loki protobuf and compression are rejected", "[ingest]") {
  struct Row {
    const char* name;
    std::string_view encoding;
    std::string body;
    int status;
    std::string_view reason;
  };
  const std::string pb = loki_request().SerializeAsString();
  const std::vector<Row> rows = {
      {"raw protobuf without snappy", "", pb, 400, "invalid snappy data"},
      {"corrupt gzip", "gzip", "\x1f\x8b garbage"s, 400, "invalid gzip data"},
      {"gzip of unsnappied protobuf", "gzip", codec::gzip(pb), 400, "invalid snappy data"},
      {"truncated gzip", "gzip", codec::gzip(codec::snappy_block(pb)).substr(0, 20), 400,
       "invalid gzip data"},
      {"corrupt deflate", "deflate", "\x78\x9c\xff\xff"s, 400, "invalid deflate data"},
      {"unsupported encoding", "br", codec::snappy_block(pb), 415, "Content-Encoding \"br\""},
      {"entries as varint", "", codec::snappy_block("\x0a\x02\x10\x01"s), 400,
       "wrong wire type 0 for field 2 in logproto.StreamAdapter"},
      {"hash as string", "", codec::snappy_block("\x0a\x02\x1a\x00"s), 400,
       "wrong wire type 2 for field 3 in logproto.StreamAdapter"},
      {"line as fixed32", "", codec::snappy_block("\x0a\x07\x12\x05\x15\x00\x00\x00\x00"s), 400,
       "wrong wire type 5 for field 2 in logproto.EntryAdapter"},
      {"metadata pair cut", "", codec::snappy_block("\x0a\x06\x12\x04\x1a\x02\x0a\x05"s), 400,
       "length past end of message in logproto.LabelPairAdapter"},
      {"timestamp with bad wire type", "", codec::snappy_block("\x0a\x05\x12\x03\x0a\x01\x0b"s),
       400, "invalid wire type in google.protobuf.Timestamp"},
      {"streams length past end", "", codec::snappy_block("\x0a\x09\x0a"s), 400,
       "length past end of message in logproto.PushRequest"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const ScanResult result = scan("application/x-protobuf", row.encoding, row.body);
    CHECK(result.http_status == row.status);
    CHECK_THAT(result.reason, Catch::Contains(std::string(row.reason)));
  }
}

TEST_CASE("Loki decompression bombs are 413 at every layer", "[ingest]") {
  ScanLimits limits;
  limits.max_decompressed_bytes = 1 << 20;
  const std::string big_json =
      R"({"streams":[{"values":[["1",")" + std::string(4 << 20, 'a') + R"("]]}]})";
  const std::string big_pb = [] {
    ::logproto::PushRequest request;
    request.add_streams()->add_entries()->set_line(std::string(4 << 20, 'a'));
    return request.SerializeAsString();
  }();
  struct Row {
    const char* name;
    std::string_view type;
    std::string_view encoding;
    std::string body;
  };
  const std::vector<Row> rows = {
      {"gzip JSON", "application/json", "gzip", codec::gzip(big_json)},
      {"deflate JSON", "application/json", "deflate", codec::raw_deflate(big_json)},
      {"snappy JSON", "application/json", "snappy", codec::snappy_block(big_json)},
      {"snappy protobuf", "application/x-protobuf", "", codec::snappy_block(big_pb)},
      {"gzip around small snappy of huge protobuf", "application/x-protobuf", "gzip",
       codec::gzip(codec::snappy_block(big_pb))},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(row.body.size() < (1u << 20));
    const ScanResult result = scan(row.type, row.encoding, row.body, limits);
    CHECK(result.http_status == 413);
  }
}

}  // namespace
}  // namespace mla::ingest
