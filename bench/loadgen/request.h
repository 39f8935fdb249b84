// The one request mla-loadgen sends, over and over: a request head built once, and the body from
// bench/payloads, referenced (never copied) by the two-buffer gather write of every request.
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <string>
#include <string_view>

#include "bench/loadgen/options.h"
#include "bench/payloads.h"

namespace mla::bench {

// Builds the body --payload / --series / --loki-bytes ask for.
Body make_body(const Options& options);

class RequestTemplate {
 public:
  // Headers as Prometheus / Promtail send them; `close` adds "Connection: close" (handshake
  // mode: one request per connection). `body` must outlive the template.
  RequestTemplate(const Options& options, const Body& body, bool close);

  std::array<boost::asio::const_buffer, 2> buffers() const {
    return {boost::asio::buffer(head_), boost::asio::buffer(body_)};
  }
  const std::string& head() const { return head_; }
  std::size_t body_size() const { return body_.size(); }

 private:
  std::string head_;
  std::string_view body_;
};

}  // namespace mla::bench
