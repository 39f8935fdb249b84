#include "gateway/ingest/remote_write_scanner.h"

#include <cstdint>

#include "gateway/ingest/protobuf_wire.h"

namespace mla::ingest {
namespace {

using wire::Field;
using wire::Reader;
using wire::WireError;
using wire::WireType;

constexpr std::string_view kV1Request = "prometheus.WriteRequest";
constexpr std::string_view kV1Series = "prometheus.TimeSeries";
constexpr std::string_view kV1Sample = "prometheus.Sample";
constexpr std::string_view kV1Exemplar = "prometheus.Exemplar";
constexpr std::string_view kV1Histogram = "prometheus.Histogram";
constexpr std::string_view kV1Metadata = "prometheus.MetricMetadata";
constexpr std::string_view kV2Request = "io.prometheus.write.v2.Request";
constexpr std::string_view kV2Series = "io.prometheus.write.v2.TimeSeries";
constexpr std::string_view kV2Sample = "io.prometheus.write.v2.Sample";
constexpr std::string_view kV2Exemplar = "io.prometheus.write.v2.Exemplar";
constexpr std::string_view kV2Histogram = "io.prometheus.write.v2.Histogram";
constexpr std::string_view kV2Metadata = "io.prometheus.write.v2.Metadata";

// Error path of count_leaf, kept out of line so the hot loops stay small.
[[gnu::noinline, gnu::cold]] bool leaf_error(const Field& field, std::string_view parent,
                                             std::string_view leaf, std::string& reason) {
  if (field.type != WireType::kLengthDelimited) {
    reason = wire::format_wire_type_error(field, parent);
  } else {
    reason = wire::format_error(wire::validate_fields(field.bytes), leaf);
  }
  return false;
}

// A repeated message field that is counted: checked to be length-delimited and well framed.
[[gnu::always_inline]] inline bool count_leaf(const Field& field, std::string_view parent,
                                              std::string_view leaf, std::uint64_t& counter,
                                              std::string& reason) {
  if (field.type != WireType::kLengthDelimited ||
      wire::validate_fields(field.bytes) != WireError::kNone) {
    return leaf_error(field, parent, leaf, reason);
  }
  ++counter;
  return true;
}

// count_leaf for a Sample{value=1 double, timestamp=2 int64}, with a check of the shape nearly
// every sample has before the general one. 1.0 and 2.0 Samples share these two field numbers.
[[gnu::always_inline]] inline bool count_sample(const Field& field, std::string_view parent,
                                                std::string_view leaf, std::uint64_t& counter,
                                                std::string& reason) {
  if (field.type == WireType::kLengthDelimited &&
      wire::is_fixed64_then_varint(field.bytes, 0x09, 0x10)) {
    ++counter;
    return true;
  }
  return count_leaf(field, parent, leaf, counter, reason);
}

bool expect_type(const Field& field, WireType type, std::string_view parent, std::string& reason) {
  if (field.type == type) return true;
  reason = wire::format_wire_type_error(field, parent);
  return false;
}

// prometheus.TimeSeries{labels=1, samples=2, exemplars=3, histograms=4}
bool scan_series_v1(std::string_view message, Counts& counts, std::string& reason) {
  Reader reader(message);
  Field field;
  while (!reader.done()) {
    // Labels are ~90% of the fields and are not inspected: skip them on framing alone.
    reader.skip_run(wire::length_delimited_tag(1));
    if (reader.done()) break;
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kV1Series);
      return false;
    }
    bool ok = true;
    switch (field.number) {
      case 1: ok = expect_type(field, WireType::kLengthDelimited, kV1Series, reason); break;
      case 2: ok = count_sample(field, kV1Series, kV1Sample, counts.samples, reason); break;
      case 3: ok = count_leaf(field, kV1Series, kV1Exemplar, counts.exemplars, reason); break;
      case 4: ok = count_leaf(field, kV1Series, kV1Histogram, counts.histograms, reason); break;
      default: break;  // unknown field: skipped
    }
    if (!ok) return false;
  }
  return true;
}

// io.prometheus.write.v2.TimeSeries{labels_refs=1, samples=2, histograms=3, exemplars=4,
// metadata=5, created_timestamp=6}
bool scan_series_v2(std::string_view message, Counts& counts, std::string& reason) {
  Reader reader(message);
  Field field;
  bool has_metadata = false;
  std::uint64_t unused = 0;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kV2Series);
      return false;
    }
    bool ok = true;
    switch (field.number) {
      case 1:  // repeated uint32: packed (length-delimited) or one varint per element
        if (field.type != WireType::kLengthDelimited && field.type != WireType::kVarint) {
          reason = wire::format_wire_type_error(field, kV2Series);
          ok = false;
        }
        break;
      case 2: ok = count_sample(field, kV2Series, kV2Sample, counts.samples, reason); break;
      case 3: ok = count_leaf(field, kV2Series, kV2Histogram, counts.histograms, reason); break;
      case 4: ok = count_leaf(field, kV2Series, kV2Exemplar, counts.exemplars, reason); break;
      case 5:  // singular message: repeated occurrences merge into one
        ok = count_leaf(field, kV2Series, kV2Metadata, unused, reason);
        has_metadata = true;
        break;
      case 6: ok = expect_type(field, WireType::kVarint, kV2Series, reason); break;
      default: break;
    }
    if (!ok) return false;
  }
  if (has_metadata) ++counts.metadata;
  return true;
}

}  // namespace

// prometheus.WriteRequest{timeseries=1, metadata=3}; field 2 is reserved and skipped if present.
bool scan_remote_write_v1(std::string_view message, Counts& counts, std::string& reason) {
  Reader reader(message);
  Field field;
  while (!reader.done()) {
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kV1Request);
      return false;
    }
    if (field.number == 1) {
      if (!expect_type(field, WireType::kLengthDelimited, kV1Request, reason)) return false;
      if (!scan_series_v1(field.bytes, counts, reason)) return false;
      ++counts.series;
    } else if (field.number == 3) {
      if (!count_leaf(field, kV1Request, kV1Metadata, counts.metadata, reason)) return false;
    }
  }
  return true;
}

// io.prometheus.write.v2.Request{symbols=4, timeseries=5}; fields 1-3 are reserved.
bool scan_remote_write_v2(std::string_view message, Counts& counts, std::string& reason) {
  Reader reader(message);
  Field field;
  while (!reader.done()) {
    reader.skip_run(wire::length_delimited_tag(4));  // symbols: opaque strings
    if (reader.done()) break;
    if (WireError e = reader.next(field); e != WireError::kNone) {
      reason = wire::format_error(e, kV2Request);
      return false;
    }
    if (field.number == 4) {
      if (!expect_type(field, WireType::kLengthDelimited, kV2Request, reason)) return false;
    } else if (field.number == 5) {
      if (!expect_type(field, WireType::kLengthDelimited, kV2Request, reason)) return false;
      if (!scan_series_v2(field.bytes, counts, reason)) return false;
      ++counts.series;
    }
  }
  return true;
}

}  // namespace mla::ingest
