#include "gateway/ingest/protobuf_wire.h"

namespace mla::ingest::wire {

std::string_view describe(WireError error) {
  switch (error) {
    case WireError::kNone: return "ok";
    case WireError::kTruncatedVarint: return "truncated varint";
    case WireError::kOverlongVarint: return "overlong varint";
    case WireError::kBadFieldNumber: return "invalid field number";
    case WireError::kBadWireType: return "invalid wire type";
    case WireError::kTruncatedFixed: return "truncated fixed-width field";
    case WireError::kLengthPastEnd: return "length past end of message";
  }
  return "unknown error";
}

std::string format_error(WireError error, std::string_view message_name) {
  std::string reason = "invalid protobuf: ";
  reason += describe(error);
  reason += " in ";
  reason += message_name;
  return reason;
}

std::string format_wire_type_error(const Field& field, std::string_view message_name) {
  std::string reason = "invalid protobuf: wrong wire type ";
  reason += std::to_string(static_cast<int>(field.type));
  reason += " for field ";
  reason += std::to_string(field.number);
  reason += " in ";
  reason += message_name;
  return reason;
}

WireError Reader::next_slow(Field& field) {
  std::uint64_t tag = 0;
  if (WireError e = read_varint(tag); e != WireError::kNone) return e;
  const std::uint64_t number = tag >> 3;
  if (number == 0 || number > kMaxFieldNumber) return WireError::kBadFieldNumber;
  field.number = static_cast<std::uint32_t>(number);
  field.type = static_cast<WireType>(tag & 7);
  switch (field.type) {
    case WireType::kVarint: return read_varint(field.varint);
    case WireType::kFixed64: return read_fixed(field, 8);
    case WireType::kFixed32: return read_fixed(field, 4);
    case WireType::kLengthDelimited: {
      std::uint64_t length = 0;
      if (WireError e = read_varint(length); e != WireError::kNone) return e;
      if (length > static_cast<std::uint64_t>(end_ - pos_)) return WireError::kLengthPastEnd;
      field.bytes = {reinterpret_cast<const char*>(pos_), static_cast<std::size_t>(length)};
      pos_ += length;
      return WireError::kNone;
    }
    default: return WireError::kBadWireType;
  }
}

WireError Reader::read_varint(std::uint64_t& value) {
  std::uint64_t result = 0;
  for (int i = 0; i < 10; ++i) {
    if (pos_ == end_) return WireError::kTruncatedVarint;
    const std::uint8_t byte = *pos_++;
    if (i == 9 && byte > 1) return WireError::kOverlongVarint;
    result |= static_cast<std::uint64_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      value = result;
      return WireError::kNone;
    }
  }
  return WireError::kOverlongVarint;
}

WireError Reader::read_fixed(Field& field, std::size_t width) {
  if (static_cast<std::size_t>(end_ - pos_) < width) return WireError::kTruncatedFixed;
  field.bytes = {reinterpret_cast<const char*>(pos_), width};
  pos_ += width;
  return WireError::kNone;
}

namespace detail {

WireError validate_fields_slow(const std::uint8_t* pos, const std::uint8_t* end) {
  Reader reader({reinterpret_cast<const char*>(pos), static_cast<std::size_t>(end - pos)});
  Field field;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) return e;
  }
  return WireError::kNone;
}

}  // namespace detail

}  // namespace mla::ingest::wire
