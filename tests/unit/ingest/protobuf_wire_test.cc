#include "gateway/ingest/protobuf_wire.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace mla::ingest::wire {
namespace {

using namespace std::string_literals;

struct Row {
  const char* name;
  std::string bytes;
  WireError want;
};

// Walks every field; returns the first error.
WireError walk(std::string_view bytes) { return validate_fields(bytes); }

TEST_CASE("wire reader reads each wire type and the values", "[ingest]") {
  // field 1 varint 300, field 2 fixed64, field 3 "abc", field 4 fixed32, field 536870911 varint 1
  const std::string bytes = "\x08\xac\x02"s + "\x11" + std::string(8, '\x01') + "\x1a\x03" + "abc" +
                            "\x25" + std::string(4, '\x02') + "\xf8\xff\xff\xff\x0f\x01"s;
  Reader reader(bytes);
  Field field;
  REQUIRE(reader.next(field) == WireError::kNone);
  CHECK(field.number == 1);
  CHECK(field.type == WireType::kVarint);
  CHECK(field.varint == 300);
  REQUIRE(reader.next(field) == WireError::kNone);
  CHECK((field.number == 2 && field.type == WireType::kFixed64 && field.bytes.size() == 8));
  REQUIRE(reader.next(field) == WireError::kNone);
  CHECK((field.number == 3 && field.type == WireType::kLengthDelimited && field.bytes == "abc"));
  REQUIRE(reader.next(field) == WireError::kNone);
  CHECK((field.number == 4 && field.type == WireType::kFixed32 && field.bytes.size() == 4));
  REQUIRE(reader.next(field) == WireError::kNone);
  CHECK(field.number == 536870911);
  CHECK(field.varint == 1);
  CHECK(reader.done());
}

TEST_CASE("wire reader accepts the largest 10-byte varint", "[ingest]") {
  const std::string bytes = "\x08"s + std::string(9, '\xff') + "\x01";
  Reader reader(bytes);
  Field field;
  REQUIRE(reader.next(field) == WireError::kNone);
  CHECK(field.varint == UINT64_MAX);
}

TEST_CASE("wire reader rejects malformed framing", "[ingest]") {
  const std::vector<Row> rows = {
      {"varint cut in the value", "\x08\x80"s, WireError::kTruncatedVarint},
      {"tag cut", "\x80"s, WireError::kTruncatedVarint},
      {"length cut", "\x0a\xff"s, WireError::kTruncatedVarint},
      {"11-byte varint", "\x08"s + std::string(10, '\xff') + "\x01", WireError::kOverlongVarint},
      {"10th byte above 1", "\x08"s + std::string(9, '\xff') + "\x02", WireError::kOverlongVarint},
      {"field number 0", "\x00\x01"s, WireError::kBadFieldNumber},
      {"field number 2^29", "\x80\x80\x80\x80\x10\x00"s, WireError::kBadFieldNumber},
      {"start group", "\x0b"s, WireError::kBadWireType},
      {"end group", "\x0c"s, WireError::kBadWireType},
      {"wire type 6", "\x0e"s, WireError::kBadWireType},
      {"wire type 7", "\x0f"s, WireError::kBadWireType},
      {"fixed64 cut", "\x09\x01\x02"s, WireError::kTruncatedFixed},
      {"fixed32 cut", "\x0d\x01"s, WireError::kTruncatedFixed},
      {"length past end", "\x0a\x05"s + "abc", WireError::kLengthPastEnd},
      {"huge length", "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f"s, WireError::kLengthPastEnd},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(walk(row.bytes) == row.want);
  }
}

TEST_CASE("error text names the message", "[ingest]") {
  CHECK(format_error(WireError::kLengthPastEnd, "prometheus.TimeSeries") ==
        "invalid protobuf: length past end of message in prometheus.TimeSeries");
  Field field;
  field.number = 2;
  field.type = WireType::kVarint;
  CHECK(format_wire_type_error(field, "logproto.StreamAdapter") ==
        "invalid protobuf: wrong wire type 0 for field 2 in logproto.StreamAdapter");
}

}  // namespace
}  // namespace mla::ingest::wire
