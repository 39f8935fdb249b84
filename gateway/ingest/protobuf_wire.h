// Protobuf wire-format reader (https://protobuf.dev/programming-guides/encoding/) over a borrowed
// byte range. It yields one field at a time without materialising messages or allocating, so the
// payload scanners can count samples and log lines at memory speed. Strict where a full parser
// would be: field number 0, groups (wire types 3/4) and the unused wire types 6/7, varints longer
// than 10 bytes, and lengths past the end of the enclosing message are errors.
// Not thread-safe per Reader; Readers are cheap values, make one per message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mla::ingest::wire {

enum class WireType : std::uint8_t {
  kVarint = 0,
  kFixed64 = 1,
  kLengthDelimited = 2,
  kStartGroup = 3,  // deprecated groups: rejected
  kEndGroup = 4,    // deprecated groups: rejected
  kFixed32 = 5,
};

enum class WireError : std::uint8_t {
  kNone,
  kTruncatedVarint,  // input ends inside a varint
  kOverlongVarint,   // more than 10 bytes, or a 10th byte above 1 (value > 2^64-1)
  kBadFieldNumber,   // field number 0 or above 2^29-1
  kBadWireType,      // wire type 3, 4, 6 or 7
  kTruncatedFixed,   // input ends inside a fixed32/fixed64
  kLengthPastEnd,    // a length-delimited field claims more bytes than remain
};

// Short, stable text for error messages ("truncated varint", ...).
std::string_view describe(WireError error);

struct Field {
  std::uint32_t number = 0;
  WireType type = WireType::kVarint;
  std::uint64_t varint = 0;  // value of a kVarint field
  std::string_view bytes;    // payload of kLengthDelimited; the raw 4/8 bytes of kFixed32/64
};

// Reads the fields of one message in order. The viewed bytes must outlive the Reader and the
// string_views it hands out.
class Reader {
 public:
  explicit Reader(std::string_view message)
      : pos_(reinterpret_cast<const std::uint8_t*>(message.data())), end_(pos_ + message.size()) {}

  bool done() const { return pos_ == end_; }

  // Reads the next field into `field`. Precondition: !done(). On error the Reader is left in an
  // unspecified position and must not be used further.
  WireError next(Field& field) {
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

 private:
  static constexpr std::uint64_t kMaxFieldNumber = (std::uint64_t{1} << 29) - 1;

  WireError read_varint(std::uint64_t& value) {
    // Fast path: most tags, lengths and small values fit in one byte.
    if (pos_ < end_ && *pos_ < 0x80) {
      value = *pos_++;
      return WireError::kNone;
    }
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

  WireError read_fixed(Field& field, std::size_t width) {
    if (static_cast<std::size_t>(end_ - pos_) < width) return WireError::kTruncatedFixed;
    field.bytes = {reinterpret_cast<const char*>(pos_), width};
    pos_ += width;
    return WireError::kNone;
  }

  const std::uint8_t* pos_;
  const std::uint8_t* end_;
};

// One-line 400 reasons naming the protobuf message, e.g.
// "invalid protobuf: truncated varint in prometheus.TimeSeries".
std::string format_error(WireError error, std::string_view message_name);
std::string format_wire_type_error(const Field& field, std::string_view message_name);

// Checks the framing of every top-level field of `message` (tags, varints, lengths) without
// descending into nested messages. Used for leaf messages that are counted but not inspected.
WireError validate_fields(std::string_view message);

}  // namespace mla::ingest::wire
