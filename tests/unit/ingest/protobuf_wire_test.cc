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

// The general decoder, one Reader::next at a time: what every fast path must agree with.
WireError walk_general(std::string_view bytes) {
  return detail::validate_fields_slow(
      reinterpret_cast<const std::uint8_t*>(bytes.data()),
      reinterpret_cast<const std::uint8_t*>(bytes.data()) + bytes.size());
}

// skip_run over fields with tag 0x0a, then next() for the rest, as scan_series_v1 walks.
WireError walk_skipping(std::string_view bytes) {
  Reader reader(bytes);
  Field field;
  while (!reader.done()) {
    reader.skip_run(length_delimited_tag(1));
    if (reader.done()) break;
    if (WireError e = reader.next(field); e != WireError::kNone) return e;
  }
  return WireError::kNone;
}

std::string length_delimited(std::string tag, std::size_t length) {
  std::string out = std::move(tag);
  for (std::size_t v = length;; v >>= 7) {
    out += static_cast<char>(v < 0x80 ? v : (v & 0x7f) | 0x80);
    if (v < 0x80) break;
  }
  return out + std::string(length, 'x');
}

TEST_CASE("fast paths agree with the general decoder at their boundaries", "[ingest]") {
  const std::vector<Row> rows = {
      {"length 127 (one byte)", length_delimited("\x0a", 127), WireError::kNone},
      {"length 128 (two bytes)", length_delimited("\x0a", 128), WireError::kNone},
      {"length 16383 (two bytes)", length_delimited("\x0a", 16383), WireError::kNone},
      {"length 16384 (three bytes)", length_delimited("\x0a", 16384), WireError::kNone},
      {"empty field at the end", "\x0a\x00"s, WireError::kNone},
      {"field 15 (one-byte tag)", length_delimited("\x7a", 3), WireError::kNone},
      {"field 16 (two-byte tag)", length_delimited("\x82\x01", 3), WireError::kNone},
      {"labels then field 16", length_delimited("\x0a", 5) + length_delimited("\x82\x01", 2),
       WireError::kNone},
      {"non-minimal one-byte length",
       "\x0a\x81\x00"
       "a"s,
       WireError::kNone},
      {"length 128 one byte short", "\x0a\x80\x01"s + std::string(127, 'x'),
       WireError::kLengthPastEnd},
      {"length 127 one byte short", "\x0a\x7f"s + std::string(126, 'x'), WireError::kLengthPastEnd},
      {"two-byte length cut", "\x0a\x80"s, WireError::kTruncatedVarint},
      {"three-byte length cut", "\x0a\x80\x80"s, WireError::kTruncatedVarint},
      {"label then cut length", length_delimited("\x0a", 4) + "\x0a\xff",
       WireError::kTruncatedVarint},
      {"label then field 0", length_delimited("\x0a", 4) + "\x02\x00"s, WireError::kBadFieldNumber},
      {"label then group", length_delimited("\x0a", 4) + "\x0b", WireError::kBadWireType},
      {"label then overlong length",
       length_delimited("\x0a", 4) + "\x0a" + std::string(10, '\xff') + "\x01",
       WireError::kOverlongVarint},
      {"9-byte varint", "\x08"s + std::string(8, '\xff') + "\x01", WireError::kNone},
      {"10-byte varint", "\x08"s + std::string(9, '\xff') + "\x01", WireError::kNone},
      {"10-byte varint above 2^64-1", "\x08"s + std::string(9, '\xff') + "\x02",
       WireError::kOverlongVarint},
      {"varint cut after 9 bytes", "\x08"s + std::string(9, '\xff'), WireError::kTruncatedVarint},
      {"fixed64 then fixed32", "\x09"s + std::string(8, 'a') + "\x15" + std::string(4, 'b'),
       WireError::kNone},
      {"fixed64 one byte short", "\x09"s + std::string(7, 'a'), WireError::kTruncatedFixed},
      {"two-byte tag varint", "\x80\x01\x05"s, WireError::kNone},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    CHECK(walk_general(row.bytes) == row.want);
    CHECK(validate_fields(row.bytes) == row.want);
    CHECK(walk_skipping(row.bytes) == row.want);
  }
}

TEST_CASE("next() fast path yields the same field as the general decoder", "[ingest]") {
  for (const std::size_t length : std::vector<std::size_t>{0, 1, 127, 128, 300, 16383, 16384}) {
    INFO(length);
    const std::string bytes = length_delimited("\x12", length) + "\x08\x01";
    Reader reader(bytes);
    Field field;
    REQUIRE(reader.next(field) == WireError::kNone);
    CHECK(field.number == 2);
    CHECK(field.type == WireType::kLengthDelimited);
    CHECK(field.bytes.size() == length);
    CHECK(field.bytes.data() == bytes.data() + bytes.size() - 2 - length);
    REQUIRE(reader.next(field) == WireError::kNone);
    CHECK((field.number == 1 && field.varint == 1 && reader.done()));
  }
}

TEST_CASE("skip_run stops at another tag and leaves it to next()", "[ingest]") {
  const std::string bytes = length_delimited("\x0a", 3) + length_delimited("\x0a", 200) +
                            length_delimited("\x12", 1) + length_delimited("\x0a", 1);
  Reader reader(bytes);
  reader.skip_run(length_delimited_tag(1));
  Field field;
  REQUIRE(reader.next(field) == WireError::kNone);
  CHECK((field.number == 2 && field.bytes == "x"));
  reader.skip_run(length_delimited_tag(1));
  CHECK(reader.done());
}

TEST_CASE("the Sample shape check accepts only fixed64 then a short varint", "[ingest]") {
  const std::string value = "\x09"s + std::string(8, '\x01');
  struct Shape {
    const char* name;
    std::string bytes;
    bool want;
  };
  const std::vector<Shape> rows = {
      {"1-byte timestamp", value + "\x10\x05", true},
      {"6-byte timestamp", value + "\x10\x80\x80\x80\x80\x80\x01", true},
      {"9-byte timestamp", value + "\x10" + std::string(8, '\xff') + "\x01", true},
      {"10-byte timestamp", value + "\x10" + std::string(9, '\xff') + "\x01", false},
      {"timestamp cut", value + "\x10\x80", false},
      {"varint ends early", value + "\x10\x05\x05", false},
      {"no timestamp", value, false},
      {"fields swapped", "\x10\x05"s + value, false},
      {"wrong value tag", "\x0a"s + std::string(8, '\x01') + "\x10\x05", false},
  };
  for (const Shape& row : rows) {
    INFO(row.name);
    CHECK(is_fixed64_then_varint(row.bytes, 0x09, 0x10) == row.want);
    if (row.want) CHECK(walk_general(row.bytes) == WireError::kNone);
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
