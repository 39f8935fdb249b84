// Differential tests: random messages built with the generated protobuf classes (seeded, so
// failures reproduce) are counted by the hand-written scanner and by a full protobuf parse of the
// same bytes; the counts must agree. Truncated bodies must be rejected exactly when the full
// parser rejects them.
#include <google/protobuf/stubs/logging.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "gateway/ingest/payload_scanner.h"
#include "logproto/push.pb.h"
#include "prompb/io/prometheus/write/v2/types.pb.h"
#include "prompb/remote.pb.h"
#include "tests/unit/ingest/test_codec.h"

namespace mla::ingest {
namespace {

using config::RouteKind;
using testing::snappy_block;
namespace v2 = ::io::prometheus::write::v2;

constexpr int kMessages = 500;
constexpr int kJsonMessages = 200;  // nlohmann's DOM (used to build the bodies) is slow in Debug
constexpr int kPrefixesPerMessage = 8;
constexpr std::string_view kV1Type = "application/x-protobuf";
constexpr std::string_view kV2Type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

class Random {
 public:
  explicit Random(std::uint32_t seed) : engine_(seed) {}
  int upto(int max) { return std::uniform_int_distribution<int>(0, max)(engine_); }
  bool chance(int percent) { return upto(99) < percent; }
  double real() { return std::uniform_real_distribution<double>(-1e6, 1e6)(engine_); }
  std::int64_t ts() { return 1700000000000 + upto(1000000); }
  // Printable ASCII plus escapes-worthy characters; valid UTF-8 either way.
  std::string text(int max_len) {
    static constexpr std::string_view kAlphabet = "abcXYZ019 _-:/{}\"\\\n\t=";
    std::string s(upto(max_len), 'a');
    for (char& c : s) c = kAlphabet[upto(static_cast<int>(kAlphabet.size()) - 1)];
    if (chance(10)) s += "\xc3\xa9";  // é
    return s;
  }
  // Unknown fields a newer sender might add; the scanner must skip them like a parser does.
  void unknown_fields(google::protobuf::Message& message) {
    if (!chance(15)) return;
    auto* unknown = message.GetReflection()->MutableUnknownFields(&message);
    unknown->AddVarint(1000 + upto(100), upto(1 << 20));
    if (chance(50)) unknown->AddFixed32(2000, 7);
    if (chance(50)) unknown->AddFixed64(2001, 9);
    if (chance(50)) unknown->AddLengthDelimited(2002, text(10));
  }
  std::mt19937& engine() { return engine_; }

 private:
  std::mt19937 engine_;
};

void fill_histogram(Random& rnd, auto& histogram) {
  if (rnd.chance(50)) {
    histogram.set_count_int(rnd.upto(1000));
  } else {
    histogram.set_count_float(rnd.real());
  }
  histogram.set_sum(rnd.real());
  histogram.set_schema(rnd.upto(12) - 4);
  for (int i = rnd.upto(3); i > 0; --i) {
    auto* span = histogram.add_positive_spans();
    span->set_offset(rnd.upto(10) - 5);
    span->set_length(rnd.upto(4));
  }
  for (int i = rnd.upto(5); i > 0; --i) histogram.add_positive_deltas(rnd.upto(20) - 10);
  for (int i = rnd.upto(3); i > 0; --i) histogram.add_negative_counts(rnd.real());
  histogram.set_timestamp(rnd.ts());
}

::prometheus::WriteRequest random_v1(Random& rnd) {
  ::prometheus::WriteRequest request;
  for (int s = rnd.upto(20); s > 0; --s) {
    auto* series = request.add_timeseries();
    for (int i = rnd.upto(6); i > 0; --i) {
      auto* label = series->add_labels();
      label->set_name(rnd.text(12));
      label->set_value(rnd.text(30));
    }
    for (int i = rnd.upto(10); i > 0; --i) {
      auto* sample = series->add_samples();
      if (rnd.chance(90)) sample->set_value(rnd.real());  // some samples are empty messages
      if (rnd.chance(90)) sample->set_timestamp(rnd.ts());
    }
    for (int i = rnd.chance(30) ? rnd.upto(3) : 0; i > 0; --i) {
      auto* exemplar = series->add_exemplars();
      exemplar->set_value(rnd.real());
      auto* label = exemplar->add_labels();
      label->set_name("trace_id");
      label->set_value(rnd.text(16));
    }
    for (int i = rnd.chance(30) ? rnd.upto(3) : 0; i > 0; --i) {
      fill_histogram(rnd, *series->add_histograms());
    }
    rnd.unknown_fields(*series);
  }
  for (int i = rnd.chance(30) ? rnd.upto(4) : 0; i > 0; --i) {
    auto* metadata = request.add_metadata();
    metadata->set_type(static_cast<::prometheus::MetricMetadata::MetricType>(rnd.upto(7)));
    metadata->set_metric_family_name(rnd.text(20));
    metadata->set_help(rnd.text(40));
  }
  rnd.unknown_fields(request);
  return request;
}

v2::Request random_v2(Random& rnd) {
  v2::Request request;
  request.add_symbols("");
  for (int i = rnd.upto(30); i > 0; --i) request.add_symbols(rnd.text(20));
  for (int s = rnd.upto(20); s > 0; --s) {
    auto* series = request.add_timeseries();
    for (int i = 2 * rnd.upto(5); i > 0; --i) series->add_labels_refs(rnd.upto(500));
    for (int i = rnd.upto(10); i > 0; --i) {
      auto* sample = series->add_samples();
      sample->set_value(rnd.real());
      sample->set_timestamp(rnd.ts());
    }
    for (int i = rnd.chance(30) ? rnd.upto(3) : 0; i > 0; --i) {
      fill_histogram(rnd, *series->add_histograms());
    }
    for (int i = rnd.chance(30) ? rnd.upto(3) : 0; i > 0; --i) {
      auto* exemplar = series->add_exemplars();
      exemplar->add_labels_refs(rnd.upto(30));
      exemplar->set_value(rnd.real());
    }
    if (rnd.chance(40)) {
      // mutable_metadata() marks presence even when every field is default.
      auto* metadata = series->mutable_metadata();
      if (rnd.chance(50)) metadata->set_type(v2::Metadata::METRIC_TYPE_COUNTER);
      if (rnd.chance(50)) metadata->set_help_ref(rnd.upto(30));
    }
    if (rnd.chance(50)) series->set_created_timestamp(rnd.ts());
    rnd.unknown_fields(*series);
  }
  return request;
}

::logproto::PushRequest random_loki(Random& rnd) {
  ::logproto::PushRequest request;
  for (int s = rnd.upto(8); s > 0; --s) {
    auto* stream = request.add_streams();
    stream->set_labels("{job=\"" + rnd.text(10) + "\"}");
    for (int i = rnd.upto(20); i > 0; --i) {
      auto* entry = stream->add_entries();
      entry->mutable_timestamp()->set_seconds(1700000000 + rnd.upto(1000));
      entry->mutable_timestamp()->set_nanos(rnd.upto(999999999));
      entry->set_line(rnd.text(200));
      for (int m = rnd.chance(40) ? rnd.upto(3) : 0; m > 0; --m) {
        auto* pair = entry->add_structuredmetadata();
        pair->set_name(rnd.text(10));
        pair->set_value(rnd.text(20));
      }
      rnd.unknown_fields(*entry);
    }
    if (rnd.chance(30)) stream->set_hash(rnd.upto(1 << 30));
  }
  if (rnd.chance(20)) request.set_format("loki");
  return request;
}

// Reference counts from a full parse.
bool parse_v1(const std::string& bytes, Counts& counts) {
  ::prometheus::WriteRequest request;
  if (!request.ParseFromString(bytes)) return false;
  counts = {};
  counts.series = request.timeseries_size();
  counts.metadata = request.metadata_size();
  for (const auto& series : request.timeseries()) {
    counts.samples += series.samples_size();
    counts.histograms += series.histograms_size();
    counts.exemplars += series.exemplars_size();
  }
  return true;
}

bool parse_v2(const std::string& bytes, Counts& counts) {
  v2::Request request;
  if (!request.ParseFromString(bytes)) return false;
  counts = {};
  counts.series = request.timeseries_size();
  for (const auto& series : request.timeseries()) {
    counts.samples += series.samples_size();
    counts.histograms += series.histograms_size();
    counts.exemplars += series.exemplars_size();
    counts.metadata += series.has_metadata() ? 1 : 0;
  }
  return true;
}

Counts count_loki(const ::logproto::PushRequest& request) {
  Counts counts;
  counts.series = request.streams_size();
  for (const auto& stream : request.streams()) {
    for (const auto& entry : stream.entries()) {
      ++counts.log_lines;
      counts.log_bytes += entry.line().size();
      for (const auto& pair : entry.structuredmetadata()) {
        counts.log_bytes += pair.name().size() + pair.value().size();
      }
    }
  }
  return counts;
}

bool parse_loki(const std::string& bytes, Counts& counts) {
  ::logproto::PushRequest request;
  if (!request.ParseFromString(bytes)) return false;
  counts = count_loki(request);
  return true;
}

// The scanner and the full parser agree on `bytes` and on kPrefixesPerMessage random prefixes.
template <typename Parse>
void check_agreement(Random& rnd, RouteKind kind, std::string_view type, const std::string& bytes,
                     Parse parse, ScanBuffers& scratch) {
  Counts want;
  REQUIRE(parse(bytes, want));
  const ScanResult full = scan_payload(kind, {type, ""}, snappy_block(bytes), scratch);
  REQUIRE(full.ok());
  REQUIRE(full.counts == want);
  // A full parse of a cut body may log "invalid UTF-8" for a string cut mid-character before it
  // notices the truncation; the parse fails either way, so keep the test output quiet.
  google::protobuf::LogSilencer silence;
  for (int i = 0; i < kPrefixesPerMessage && !bytes.empty(); ++i) {
    const std::string prefix = bytes.substr(0, rnd.upto(static_cast<int>(bytes.size()) - 1));
    Counts parsed;
    const bool parser_ok = parse(prefix, parsed);
    const ScanResult scanned = scan_payload(kind, {type, ""}, snappy_block(prefix), scratch);
    INFO("prefix of " << prefix.size() << " / " << bytes.size() << " bytes");
    REQUIRE(scanned.ok() == parser_ok);
    if (parser_ok) REQUIRE(scanned.counts == parsed);
    if (!parser_ok) REQUIRE(scanned.http_status == 400);
  }
}

TEST_CASE("differential: remote-write 1.0 scanner equals a full parse", "[ingest]") {
  Random rnd(20240401);
  ScanBuffers scratch;
  for (int i = 0; i < kMessages; ++i) {
    INFO("message " << i);
    check_agreement(rnd, RouteKind::kPrometheusRemoteWrite, kV1Type,
                    random_v1(rnd).SerializeAsString(), parse_v1, scratch);
  }
}

TEST_CASE("differential: remote-write 2.0 scanner equals a full parse", "[ingest]") {
  Random rnd(20240402);
  ScanBuffers scratch;
  for (int i = 0; i < kMessages; ++i) {
    INFO("message " << i);
    check_agreement(rnd, RouteKind::kPrometheusRemoteWrite, kV2Type,
                    random_v2(rnd).SerializeAsString(), parse_v2, scratch);
  }
}

TEST_CASE("differential: Loki protobuf scanner equals a full parse", "[ingest]") {
  Random rnd(20240403);
  ScanBuffers scratch;
  for (int i = 0; i < kMessages; ++i) {
    INFO("message " << i);
    check_agreement(rnd, RouteKind::kLokiPush, "application/x-protobuf",
                    random_loki(rnd).SerializeAsString(), parse_loki, scratch);
  }
}

TEST_CASE("differential: Loki JSON scanner equals the counts of the encoded request", "[ingest]") {
  Random rnd(20240404);
  ScanBuffers scratch;
  for (int i = 0; i < kJsonMessages; ++i) {
    INFO("message " << i);
    const ::logproto::PushRequest request = random_loki(rnd);
    nlohmann::json streams = nlohmann::json::array();
    for (const auto& stream : request.streams()) {
      nlohmann::json values = nlohmann::json::array();
      for (const auto& entry : stream.entries()) {
        nlohmann::json value = {std::to_string(entry.timestamp().seconds()) + "000000000",
                                entry.line()};
        if (entry.structuredmetadata_size() > 0 || rnd.chance(10)) {
          nlohmann::json metadata = nlohmann::json::object();
          for (const auto& pair : entry.structuredmetadata()) metadata[pair.name()] = pair.value();
          value.push_back(metadata);
        }
        values.push_back(value);
      }
      streams.push_back({{"stream", {{"job", stream.labels()}}}, {"values", values}});
    }
    const std::string body = nlohmann::json{{"streams", streams}}.dump();
    // JSON objects keep the last duplicate key; count what a JSON decoder sees.
    ::logproto::PushRequest deduplicated = request;
    for (auto& stream : *deduplicated.mutable_streams()) {
      for (auto& entry : *stream.mutable_entries()) {
        nlohmann::json metadata = nlohmann::json::object();
        for (const auto& pair : entry.structuredmetadata()) metadata[pair.name()] = pair.value();
        entry.clear_structuredmetadata();
        for (const auto& [name, value] : metadata.items()) {
          auto* pair = entry.add_structuredmetadata();
          pair->set_name(name);
          pair->set_value(value.get<std::string>());
        }
      }
    }
    const std::string encoding = rnd.chance(50) ? "gzip" : "";
    const ScanResult result = scan_payload(RouteKind::kLokiPush, {"application/json", encoding},
                                           encoding.empty() ? body : testing::gzip(body), scratch);
    REQUIRE(result.ok());
    REQUIRE(result.counts == count_loki(deduplicated));
  }
}

TEST_CASE("random byte corruption never crashes the scanner", "[ingest]") {
  Random rnd(20240405);
  ScanBuffers scratch;
  for (int i = 0; i < kMessages; ++i) {
    std::string bytes = i % 3 == 0   ? random_v1(rnd).SerializeAsString()
                        : i % 3 == 1 ? random_v2(rnd).SerializeAsString()
                                     : random_loki(rnd).SerializeAsString();
    if (bytes.empty()) continue;
    for (int flips = 1 + rnd.upto(4); flips > 0; --flips) {
      bytes[rnd.upto(static_cast<int>(bytes.size()) - 1)] = static_cast<char>(rnd.upto(255));
    }
    const std::string body = snappy_block(bytes);
    for (const auto& [kind, type] : {std::pair{RouteKind::kPrometheusRemoteWrite, kV1Type},
                                     std::pair{RouteKind::kPrometheusRemoteWrite, kV2Type},
                                     std::pair{RouteKind::kLokiPush, kV1Type}}) {
      const ScanResult result = scan_payload(kind, {type, ""}, body, scratch);
      CHECK((result.ok() || result.http_status == 400));
    }
  }
}

}  // namespace
}  // namespace mla::ingest
