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

WireError validate_fields(std::string_view message) {
  Reader reader(message);
  Field field;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) return e;
  }
  return WireError::kNone;
}

}  // namespace mla::ingest::wire
