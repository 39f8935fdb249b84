#include "gateway/ingest/loki_scanner.h"

#include <cstdint>

#include "gateway/ingest/protobuf_wire.h"

namespace mla::ingest {
namespace {

using wire::Field;
using wire::Reader;
using wire::WireError;
using wire::WireType;

constexpr std::string_view kPushRequest = "logproto.PushRequest";
constexpr std::string_view kStream = "logproto.StreamAdapter";
constexpr std::string_view kEntry = "logproto.EntryAdapter";
constexpr std::string_view kLabelPair = "logproto.LabelPairAdapter";

bool expect_type(const Field& field, WireType type, std::string_view parent, std::string& reason) {
  if (field.type == type) return true;
  reason = wire::format_wire_type_error(field, parent);
  return false;
}

// LabelPairAdapter{name=1, value=2}: returns len(name) + len(value). proto3 singular fields: the
// last occurrence wins, as in a full parse.
bool scan_label_pair(std::string_view message, std::uint64_t& bytes, std::string& reason) {
  Reader reader(message);
  Field field;
  std::uint64_t name = 0;
  std::uint64_t value = 0;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kLabelPair);
      return false;
    }
    if (field.number == 1 || field.number == 2) {
      if (!expect_type(field, WireType::kLengthDelimited, kLabelPair, reason)) return false;
      (field.number == 1 ? name : value) = field.bytes.size();
    }
  }
  bytes = name + value;
  return true;
}

// EntryAdapter{timestamp=1, line=2, structuredMetadata=3, parsed=4}. `parsed` is a query-side
// field clients should not send; like Loki's rate limiter, it is not counted.
bool scan_entry(std::string_view message, Counts& counts, std::string& reason) {
  Reader reader(message);
  Field field;
  std::uint64_t line = 0;
  std::uint64_t metadata = 0;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kEntry);
      return false;
    }
    switch (field.number) {
      case 1:  // google.protobuf.Timestamp
        if (!expect_type(field, WireType::kLengthDelimited, kEntry, reason)) return false;
        if (WireError e = wire::validate_fields(field.bytes); e != WireError::kNone) {
          reason = wire::format_error(e, "google.protobuf.Timestamp");
          return false;
        }
        break;
      case 2:
        if (!expect_type(field, WireType::kLengthDelimited, kEntry, reason)) return false;
        line = field.bytes.size();
        break;
      case 3: {
        if (!expect_type(field, WireType::kLengthDelimited, kEntry, reason)) return false;
        std::uint64_t pair = 0;
        if (!scan_label_pair(field.bytes, pair, reason)) return false;
        metadata += pair;
        break;
      }
      case 4:
        if (!expect_type(field, WireType::kLengthDelimited, kEntry, reason)) return false;
        break;
      default: break;
    }
  }
  ++counts.log_lines;
  counts.log_bytes += line + metadata;
  return true;
}

// StreamAdapter{labels=1, entries=2, hash=3}
bool scan_stream(std::string_view message, Counts& counts, std::string& reason) {
  Reader reader(message);
  Field field;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kStream);
      return false;
    }
    switch (field.number) {
      case 1:
        if (!expect_type(field, WireType::kLengthDelimited, kStream, reason)) return false;
        break;
      case 2:
        if (!expect_type(field, WireType::kLengthDelimited, kStream, reason)) return false;
        if (!scan_entry(field.bytes, counts, reason)) return false;
        break;
      case 3:
        if (!expect_type(field, WireType::kVarint, kStream, reason)) return false;
        break;
      default: break;
    }
  }
  ++counts.series;
  return true;
}

}  // namespace

// PushRequest{streams=1, format=2}
bool scan_loki_proto(std::string_view message, Counts& counts, std::string& reason) {
  Reader reader(message);
  Field field;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kPushRequest);
      return false;
    }
    if (field.number == 1 || field.number == 2) {
      if (!expect_type(field, WireType::kLengthDelimited, kPushRequest, reason)) return false;
      if (field.number == 1 && !scan_stream(field.bytes, counts, reason)) return false;
    }
  }
  return true;
}

}  // namespace mla::ingest
