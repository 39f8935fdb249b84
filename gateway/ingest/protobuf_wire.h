// Protobuf wire-format reader (https://protobuf.dev/programming-guides/encoding/) over a borrowed
// byte range. It yields one field at a time without materialising messages or allocating, so the
// payload scanners can count samples and log lines at memory speed. Strict where a full parser
// would be: field number 0, groups (wire types 3/4) and the unused wire types 6/7, varints longer
// than 10 bytes, and lengths past the end of the enclosing message are errors.
//
// Speed: the scanners walk ~25 fields per remote-write series, so the per-field cost is the whole
// cost. The hot entry points (Reader::next, Reader::skip_run, validate_fields) are forced inline
// and handle the encoding real senders produce — one-byte tags (field numbers 1-15), one- or
// two-byte lengths, varints of at most 9 bytes — without decoding values. Anything else, including
// every malformed input, falls back to an out-of-line general path that restarts at the same field
// boundary, so the errors reported are exactly the general path's.
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

// One-byte tag of a length-delimited field 1-15, e.g. length_delimited_tag(1) == 0x0a.
constexpr std::uint8_t length_delimited_tag(std::uint8_t number) {
  return static_cast<std::uint8_t>(number << 3 | 2);
}

namespace detail {

// Fast-path decode of the header of a length-delimited field with a one-byte tag and a one- or
// two-byte length at `pos` (pos < end). On success returns the payload start and sets `length`
// (payload within [pos, end)); otherwise returns nullptr and the caller takes the general path.
[[gnu::always_inline]] inline const std::uint8_t* fast_length_delimited(const std::uint8_t* pos,
                                                                        const std::uint8_t* end,
                                                                        std::size_t& length) {
  // (tag & 0x87) == 2: one-byte tag (high bit clear) with wire type 2; tag >= 8: field number > 0.
  if ((pos[0] & 0x87) != 2 || pos[0] < 8 || end - pos < 2) return nullptr;
  std::size_t len = pos[1];
  const std::uint8_t* data = pos + 2;
  if (len >= 0x80) {
    if (end - pos < 3 || pos[2] >= 0x80) return nullptr;
    len = (len & 0x7f) | static_cast<std::size_t>(pos[2]) << 7;
    ++data;
  }
  if (len > static_cast<std::size_t>(end - data)) return nullptr;
  length = len;
  return data;
}

// General path of validate_fields from a field boundary.
WireError validate_fields_slow(const std::uint8_t* pos, const std::uint8_t* end);

}  // namespace detail

// Reads the fields of one message in order. The viewed bytes must outlive the Reader and the
// string_views it hands out.
class Reader {
 public:
  explicit Reader(std::string_view message)
      : pos_(reinterpret_cast<const std::uint8_t*>(message.data())), end_(pos_ + message.size()) {}

  bool done() const { return pos_ == end_; }

  // Reads the next field into `field`. Precondition: !done(). On error the Reader is left in an
  // unspecified position and must not be used further.
  [[gnu::always_inline]] WireError next(Field& field) {
    std::size_t length;
    if (const std::uint8_t* data = detail::fast_length_delimited(pos_, end_, length)) {
      field.number = pos_[0] >> 3;
      field.type = WireType::kLengthDelimited;
      field.bytes = {reinterpret_cast<const char*>(data), length};
      pos_ = data + length;
      return WireError::kNone;
    }
    // A separate Field keeps the caller's from escaping into the out-of-line call, so the fast
    // path can keep it in registers.
    Field general;
    const WireError error = next_slow(general);
    field = general;
    return error;
  }

  // Skips the fields at the current position while they are length-delimited with the one-byte
  // tag `tag` (see length_delimited_tag) and fast-path encoded, checking only their framing. Stops
  // at the first other field, which next() then reads (and reports, if malformed).
  [[gnu::always_inline]] void skip_run(std::uint8_t tag) {
    // Locals, not the members: the Reader's address escapes into next_slow(), which would make
    // the compiler store pos_ on every iteration.
    const std::uint8_t* pos = pos_;
    std::ptrdiff_t remaining = end_ - pos_;
    while (remaining >= 2 && pos[0] == tag) {
      std::ptrdiff_t step = pos[1] + 2;  // tag, one-byte length, payload
      if (pos[1] >= 0x80) {
        if (remaining < 3 || pos[2] >= 0x80) break;
        step = ((pos[1] & 0x7f) | pos[2] << 7) + 3;
      }
      if (step > remaining) break;
      pos += step;
      remaining -= step;
    }
    pos_ = pos;
  }

 private:
  static constexpr std::uint64_t kMaxFieldNumber = (std::uint64_t{1} << 29) - 1;

  // The general decoder: any tag, length and wire type, with every error check.
  WireError next_slow(Field& field);
  WireError read_varint(std::uint64_t& value);
  WireError read_fixed(Field& field, std::size_t width);

  const std::uint8_t* pos_;
  const std::uint8_t* end_;
};

// One-line 400 reasons naming the protobuf message, e.g.
// "invalid protobuf: truncated varint in prometheus.TimeSeries".
std::string format_error(WireError error, std::string_view message_name);
std::string format_wire_type_error(const Field& field, std::string_view message_name);

// True when `message` is exactly a fixed64 field with the one-byte tag `fixed_tag` followed by a
// varint field of at most 9 bytes with the one-byte tag `varint_tag`: a remote-write Sample
// {value, timestamp} as clients write it when neither is zero. Such a message is well framed; any
// other (including malformed) message must go through validate_fields.
[[gnu::always_inline]] inline bool is_fixed64_then_varint(std::string_view message,
                                                          std::uint8_t fixed_tag,
                                                          std::uint8_t varint_tag) {
  const auto* b = reinterpret_cast<const std::uint8_t*>(message.data());
  const std::size_t n = message.size();
  // 1 + 8 bytes of fixed64, 1 tag byte, then a 1- to 9-byte varint.
  if (n < 11 || n > 19 || b[0] != fixed_tag || b[9] != varint_tag || b[n - 1] >= 0x80) return false;
  for (std::size_t i = 10; i < n - 1; ++i) {
    if (b[i] < 0x80) return false;  // the varint ends before the message does
  }
  return true;
}

// Checks the framing of every top-level field of `message` (tags, varints, lengths) without
// descending into nested messages or decoding values. Used for leaf messages that are counted but
// not inspected (a remote-write Sample is a fixed64 and a varint).
[[gnu::always_inline]] inline WireError validate_fields(std::string_view message) {
  const auto* pos = reinterpret_cast<const std::uint8_t*>(message.data());
  const std::uint8_t* const end = pos + message.size();
  while (pos != end) {
    const std::uint8_t tag = pos[0];
    const auto remaining = static_cast<std::size_t>(end - pos);
    // Multi-byte tags and field number 0 take the general path (the default case).
    switch (tag >= 0x80 || tag < 8 ? 8 : tag & 7) {
      case 0: {  // varint: find its last byte among the next 9 (10-byte ones take the general path)
        const std::uint8_t* const limit = remaining > 10 ? pos + 10 : end;
        const std::uint8_t* p = pos + 1;
        while (p != limit && *p >= 0x80) ++p;
        if (p == limit) break;
        pos = p + 1;
        continue;
      }
      case 1:
        if (remaining < 9) break;
        pos += 9;
        continue;
      case 5:
        if (remaining < 5) break;
        pos += 5;
        continue;
      case 2: {
        std::size_t length;
        const std::uint8_t* data = detail::fast_length_delimited(pos, end, length);
        if (data == nullptr) break;
        pos = data + length;
        continue;
      }
      default: break;
    }
    return detail::validate_fields_slow(pos, end);
  }
  return WireError::kNone;
}

}  // namespace mla::ingest::wire
