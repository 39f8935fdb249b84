#include "gateway/ingest/content_headers.h"

#include <catch2/catch.hpp>
#include <vector>

namespace mla::ingest {
namespace {

TEST_CASE("Content-Type media type and proto parameter are parsed", "[ingest]") {
  struct Row {
    std::string_view header;
    std::string_view media_type;
    bool has_proto;
    std::string_view proto;
    bool valid;
  };
  const std::vector<Row> rows = {
      {"application/x-protobuf", "application/x-protobuf", false, "", true},
      {"", "", false, "", true},
      {" application/json ; charset=utf-8", "application/json", false, "", true},
      {"application/x-protobuf;proto=io.prometheus.write.v2.Request", "application/x-protobuf",
       true, "io.prometheus.write.v2.Request", true},
      {"application/x-protobuf; charset=x ; PROTO=\"prometheus.WriteRequest\"",
       "application/x-protobuf", true, "prometheus.WriteRequest", true},
      {"application/x-protobuf;", "application/x-protobuf", false, "", true},
      {"application/x-protobuf;proto", "application/x-protobuf", false, "", false},
      {"application/x-protobuf;=x", "application/x-protobuf", false, "", false},
  };
  for (const Row& row : rows) {
    INFO(row.header);
    const ContentType type = parse_content_type(row.header);
    CHECK(type.valid == row.valid);
    CHECK(type.media_type == row.media_type);
    if (row.valid) {
      CHECK(type.has_proto == row.has_proto);
      CHECK(type.proto == row.proto);
    }
  }
}

TEST_CASE("Content-Encoding accepts one known coding", "[ingest]") {
  struct Row {
    std::string_view header;
    ContentEncoding want;
  };
  const std::vector<Row> rows = {
      {"", ContentEncoding::kIdentity},        {"identity", ContentEncoding::kIdentity},
      {"snappy", ContentEncoding::kSnappy},    {" Snappy ", ContentEncoding::kSnappy},
      {"gzip", ContentEncoding::kGzip},        {"x-gzip", ContentEncoding::kGzip},
      {"DEFLATE", ContentEncoding::kDeflate},  {"br", ContentEncoding::kUnsupported},
      {"zstd", ContentEncoding::kUnsupported}, {"gzip, snappy", ContentEncoding::kUnsupported},
  };
  for (const Row& row : rows) {
    INFO(row.header);
    CHECK(parse_content_encoding(row.header) == row.want);
  }
}

}  // namespace
}  // namespace mla::ingest
