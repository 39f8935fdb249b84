#include "bench/loadgen/request.h"

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
  head_ = "POST " + options.path + " HTTP/1.1\r\n";
  head_ += "Host: " + options.target + "\r\n";
  head_ += "User-Agent: mla-loadgen\r\n";
  head_ += "Content-Type: " + body.content_type + "\r\n";
  if (!body.content_encoding.empty()) {
    head_ += "Content-Encoding: " + body.content_encoding + "\r\n";
  }
  if (options.payload == PayloadKind::kRw1) {
    head_ += "X-Prometheus-Remote-Write-Version: 0.1.0\r\n";
  } else if (options.payload == PayloadKind::kRw2) {
    head_ += "X-Prometheus-Remote-Write-Version: 2.0.0\r\n";
  }
  if (close) head_ += "Connection: close\r\n";
  head_ += "Content-Length: " + std::to_string(body.bytes.size()) + "\r\n\r\n";
}

}  // namespace mla::bench
