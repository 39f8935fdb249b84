// Remote-write bodies (built with the generated prompb classes) through scan_payload.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "gateway/ingest/payload_scanner.h"
#include "prompb/io/prometheus/write/v2/types.pb.h"
#include "prompb/remote.pb.h"
#include "tests/unit/ingest/test_codec.h"

namespace mla::ingest {
namespace {

using namespace std::string_literals;
using config::RouteKind;
using testing::snappy_block;
namespace v2 = ::io::prometheus::write::v2;

constexpr std::string_view kV1Type = "application/x-protobuf";
constexpr std::string_view kV2Type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

void add_label(::prometheus::TimeSeries& series, const std::string& name,
               const std::string& value) {
  auto* label = series.add_labels();
  label->set_name(name);
  label->set_value(value);
}

// 3 series: 2 + 3 + 0 samples, 1 exemplar, 2 histograms; 2 metadata entries.
::prometheus::WriteRequest v1_request() {
  ::prometheus::WriteRequest request;
  for (int s = 0; s < 3; ++s) {
    auto* series = request.add_timeseries();
    add_label(*series, "__name__", "metric_" + std::to_string(s));
    add_label(*series, "job", "node");
    const int samples = s == 0 ? 2 : (s == 1 ? 3 : 0);
    for (int i = 0; i < samples; ++i) {
      auto* sample = series->add_samples();
      sample->set_value(i * 1.5);
      sample->set_timestamp(1700000000000 + i);
    }
  }
  auto* exemplar = request.mutable_timeseries(0)->add_exemplars();
  exemplar->set_value(3.0);
  exemplar->set_timestamp(1700000000000);
  auto* trace = exemplar->add_labels();
  trace->set_name("trace_id");
  trace->set_value("abc123");
  for (int i = 0; i < 2; ++i) {
    auto* histogram = request.mutable_timeseries(2)->add_histograms();
    histogram->set_count_int(10);
    histogram->set_sum(12.5);
    histogram->set_schema(3);
    auto* span = histogram->add_positive_spans();
    span->set_offset(-2);
    span->set_length(2);
    histogram->add_positive_deltas(4);
    histogram->add_positive_deltas(-1);
    histogram->set_timestamp(1700000000000 + i);
  }
  for (int i = 0; i < 2; ++i) {
    auto* metadata = request.add_metadata();
    metadata->set_type(::prometheus::MetricMetadata::COUNTER);
    metadata->set_metric_family_name("metric_" + std::to_string(i));
    metadata->set_help("help text");
  }
  return request;
}

// 2 series: 1 sample + 1 exemplar with metadata; 1 histogram without metadata.
v2::Request v2_request() {
  v2::Request request;
  for (const char* symbol : {"", "__name__", "up", "job", "node", "help"}) {
    request.add_symbols(symbol);
  }
  auto* first = request.add_timeseries();
  for (int ref : {1, 2, 3, 4}) first->add_labels_refs(ref);
  auto* sample = first->add_samples();
  sample->set_value(1);
  sample->set_timestamp(1700000000000);
  auto* exemplar = first->add_exemplars();
  exemplar->set_value(1);
  first->mutable_metadata()->set_type(v2::Metadata::METRIC_TYPE_GAUGE);
  first->mutable_metadata()->set_help_ref(5);
  first->set_created_timestamp(1600000000000);
  auto* second = request.add_timeseries();
  for (int ref : {1, 2}) second->add_labels_refs(ref);
  second->add_histograms()->set_count_float(2.5);
  return request;
}

// WriteRequest field 2 (reserved, skipped) holding `size` bytes.
std::string reserved_field(std::size_t size) {
  std::string message = "\x12";
  for (std::size_t n = size;; n >>= 7) {
    message += static_cast<char>(n < 0x80 ? n : (n & 0x7f) | 0x80);
    if (n < 0x80) break;
  }
  return message + std::string(size, 'a');
}

ScanResult scan(std::string_view type, std::string_view encoding, std::string_view body,
                const ScanLimits& limits = {}) {
  ScanBuffers scratch;
  return scan_payload(RouteKind::kPrometheusRemoteWrite, {type, encoding}, body, scratch, limits);
}

TEST_CASE("remote-write 1.0 counts series, samples, histograms, exemplars, metadata", "[ingest]") {
  const ScanResult result = scan(kV1Type, "snappy", snappy_block(v1_request().SerializeAsString()));
  REQUIRE(result.ok());
  Counts want;
  want.series = 3;
  want.samples = 5;
  want.histograms = 2;
  want.exemplars = 1;
  want.metadata = 2;
  CHECK(result.counts == want);
  CHECK(result.counts.metric_cost() == 8);  // metadata costs nothing
}

TEST_CASE("remote-write 2.0 counts per-series metadata and ignores symbols", "[ingest]") {
  const ScanResult result = scan(kV2Type, "snappy", snappy_block(v2_request().SerializeAsString()));
  REQUIRE(result.ok());
  Counts want;
  want.series = 2;
  want.samples = 1;
  want.histograms = 1;
  want.exemplars = 1;
  want.metadata = 1;
  CHECK(result.counts == want);
}

TEST_CASE("empty remote-write request is valid and costs nothing", "[ingest]") {
  const ScanResult result = scan(kV1Type, "snappy", snappy_block(""));
  REQUIRE(result.ok());
  CHECK(result.counts == Counts{});
}

TEST_CASE("remote-write version is chosen by Content-Type, else 415", "[ingest]") {
  const std::string v1_body = snappy_block(v1_request().SerializeAsString());
  const std::string v2_body = snappy_block(v2_request().SerializeAsString());
  struct Row {
    std::string_view type;
    std::string_view encoding;
    int want;  // 1, 2 = version; else HTTP status
  };
  const std::vector<Row> rows = {
      {"application/x-protobuf", "snappy", 1},
      {"", "", 1},  // Prometheus' receiver defaults both, for old clients
      {"application/x-protobuf", "", 1},
      {"application/x-protobuf;proto=prometheus.WriteRequest", "snappy", 1},
      {"Application/X-Protobuf; proto=\"prometheus.WriteRequest\"", "SNAPPY", 1},
      {"application/x-protobuf;proto=io.prometheus.write.v2.Request", "snappy", 2},
      {"application/x-protobuf; charset=utf-8; proto=io.prometheus.write.v2.Request", "snappy", 2},
      {"application/json", "snappy", 415},
      {"text/plain", "", 415},
      {"application/x-protobuf;proto=io.prometheus.write.v3.Request", "snappy", 415},
      {"application/x-protobuf;proto", "snappy", 415},
      {"application/x-protobuf", "gzip", 415},
      {"application/x-protobuf", "zstd", 415},
      {"application/x-protobuf", "snappy, gzip", 415},
  };
  for (const Row& row : rows) {
    INFO(row.type << " / " << row.encoding);
    const ScanResult result = scan(row.type, row.encoding, row.want == 2 ? v2_body : v1_body);
    if (row.want == 1 || row.want == 2) {
      REQUIRE(result.ok());
      CHECK(result.counts.series == (row.want == 1 ? 3u : 2u));
    } else {
      CHECK(result.http_status == row.want);
      CHECK(result.reason.find('\n') == std::string::npos);
    }
  }
}

TEST_CASE("malformed remote-write bodies are 400 with a reason naming the problem", "[ingest]") {
  // Valid wire pieces to splice: a series with one sample.
  struct Row {
    const char* name;
    std::string_view type;
    std::string message;  // uncompressed protobuf
    std::string_view reason;
  };
  const std::vector<Row> rows = {
      {"truncated varint", kV1Type, "\x0a\xff"s, "truncated varint in prometheus.WriteRequest"},
      {"length past end", kV1Type, "\x0a\x05\x12\x00"s, "length past end of message"},
      {"overlong varint", kV1Type, "\x08"s + std::string(10, '\xff') + "\x01", "overlong varint"},
      {"group wire type", kV1Type, "\x0b\x0c"s, "invalid wire type"},
      {"field number zero", kV1Type, "\x00\x00"s, "invalid field number"},
      {"timeseries as varint", kV1Type, "\x08\x01"s,
       "wrong wire type 0 for field 1 in prometheus.WriteRequest"},
      {"samples as fixed32", kV1Type, "\x0a\x05\x15\x00\x00\x00\x00"s,
       "wrong wire type 5 for field 2 in prometheus.TimeSeries"},
      {"sample with cut fixed64", kV1Type, "\x0a\x05\x12\x03\x09\x00\x00"s,
       "truncated fixed-width field in prometheus.Sample"},
      {"length past end inside series", kV1Type, "\x0a\x02\x12\x07"s,
       "length past end of message in prometheus.TimeSeries"},
      {"metadata as varint", kV1Type, "\x18\x01"s, "wrong wire type 0 for field 3"},
      {"v2 series cut", kV2Type, "\x2a\x03\x12\x02\x09"s, "in io.prometheus.write.v2.TimeSeries"},
      {"v2 created_timestamp as string", kV2Type, "\x2a\x02\x32\x00"s, "wrong wire type 2"},
      {"v2 labels_refs as fixed64", kV2Type, "\x2a\x09\x09" + std::string(8, '\x00'),
       "wrong wire type 1 for field 1"},
      {"v2 symbols as varint", kV2Type, "\x20\x01"s, "wrong wire type 0 for field 4"},
  };
  for (const Row& row : rows) {
    INFO(row.name);
    const ScanResult result = scan(row.type, "snappy", snappy_block(row.message));
    CHECK(result.http_status == 400);
    CHECK_THAT(result.reason, Catch::Contains(std::string(row.reason)));
  }
}

TEST_CASE("unknown and reserved fields are skipped", "[ingest]") {
  // WriteRequest field 2 (reserved), field 15 varint, field 16 fixed32 around one series.
  const std::string series = "\x12\x00"s;  // one empty sample
  const std::string message =
      "\x12\x03"s + "abc" + "\x78\x05"s + "\x0a\x02"s + series + "\x85\x01\x00\x00\x00\x00"s;
  const ScanResult result = scan(kV1Type, "snappy", snappy_block(message));
  REQUIRE(result.ok());
  CHECK(result.counts.series == 1);
  CHECK(result.counts.samples == 1);
}

TEST_CASE("bad snappy is 400, a decompression bomb is 413", "[ingest]") {
  CHECK(scan(kV1Type, "snappy", "definitely not snappy").http_status == 400);
  CHECK(scan(kV1Type, "snappy", "").http_status == 400);
  ScanLimits limits;
  limits.max_decompressed_bytes = 1 << 20;
  // A valid 16 MiB message (one reserved field 2) compresses to well under 1 MiB.
  const std::string body = snappy_block(reserved_field(16u << 20));
  CHECK(body.size() < (1u << 20));
  const ScanResult result = scan(kV1Type, "snappy", body, limits);
  CHECK(result.http_status == 413);
  CHECK_THAT(result.reason, Catch::Contains("exceeds 1048576 bytes"));
  // Claimed 4 GiB in a 5-byte header: refused from the header alone.
  CHECK(scan(kV1Type, "snappy", "\xff\xff\xff\xff\x0f"s).http_status == 413);
}

TEST_CASE("scratch buffers are reused and large ones released", "[ingest]") {
  ScanBuffers scratch;
  ScanLimits limits;
  limits.retained_buffer_bytes = 1 << 16;
  const std::string small = snappy_block(v1_request().SerializeAsString());
  REQUIRE(
      scan_payload(RouteKind::kPrometheusRemoteWrite, {kV1Type, "snappy"}, small, scratch, limits)
          .ok());
  const auto capacity = scratch.payload.capacity();
  CHECK(capacity > 0);
  REQUIRE(
      scan_payload(RouteKind::kPrometheusRemoteWrite, {kV1Type, "snappy"}, small, scratch, limits)
          .ok());
  CHECK(scratch.payload.capacity() == capacity);
  const std::string big = reserved_field(1u << 20);
  REQUIRE(scan_payload(RouteKind::kPrometheusRemoteWrite, {kV1Type, "snappy"}, snappy_block(big),
                       scratch, limits)
              .ok());
  CHECK(scratch.payload.capacity() <= limits.retained_buffer_bytes);
}

TEST_CASE("passthrough routes are not inspected", "[ingest]") {
  ScanBuffers scratch;
  const ScanResult result =
      scan_payload(RouteKind::kPassthrough, {"text/plain", "br"}, "anything", scratch);
  REQUIRE(result.ok());
  CHECK(result.counts == Counts{});
}

}  // namespace
}  // namespace mla::ingest
