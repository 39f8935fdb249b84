#include "bench/loadgen/request.h"

#include <cctype>

namespace mla::bench {

Body make_body(const Options& options) {
  switch (options.payload) {
    case PayloadKind::kRw1: return remote_write_v1(options.series);
    case PayloadKind::kRw2: return remote_write_v2(options.series);
    case PayloadKind::kLokiProto: return loki_proto_body(options.loki_bytes);
    case PayloadKind::kLokiJson: return loki_json_body(options.loki_bytes);
  }
  return remote_write_v1(options.series);
}

RequestTemplate::RequestTemplate(const Options& options, const Body& body, bool close)
    : body_(body.bytes) {
  std::vector<HeaderField> fields{{"User-Agent", "mla-loadgen"},
                                  {"Content-Type", body.content_type}};
  if (!body.content_encoding.empty())
    fields.emplace_back("Content-Encoding", body.content_encoding);
  if (options.payload == PayloadKind::kRw1) {
    fields.emplace_back("X-Prometheus-Remote-Write-Version", "0.1.0");
  } else if (options.payload == PayloadKind::kRw2) {
    fields.emplace_back("X-Prometheus-Remote-Write-Version", "2.0.0");
  }
  const std::string content_length = std::to_string(body.bytes.size());

  head_ = "POST " + options.path + " HTTP/1.1\r\n";
  head_ += "Host: " + options.target + "\r\n";
  for (const auto& [name, value] : fields) head_ += name + ": " + value + "\r\n";
  if (close) head_ += "Connection: close\r\n";
  head_ += "Content-Length: " + content_length + "\r\n\r\n";

  h2_headers_ = {{":method", "POST"},
                 {":scheme", "https"},
                 {":authority", options.target},
                 {":path", options.path}};
  for (const auto& [name, value] : fields) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    h2_headers_.emplace_back(std::move(lower), value);
  }
  h2_headers_.emplace_back("content-length", content_length);
}

}  // namespace mla::bench
