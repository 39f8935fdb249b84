// The one request mla-loadgen sends, over and over: a request head built once, and the body from
// bench/payloads, referenced (never copied) by the two-buffer gather write of every request.
// For HTTP/2 the same fields are kept as a header list (pseudo-headers first, lower-case names).
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/loadgen/options.h"
#include "bench/payloads.h"

namespace mla::bench {

// Builds the body --payload / --series / --loki-bytes ask for.
Body make_body(const Options& options);

class RequestTemplate {
 public:
  // Headers as Prometheus / Promtail send them; `close` adds "Connection: close" (handshake
  // mode: one request per connection; HTTP/2 has no such header, the client closes instead).
  // `body` must outlive the template.
  RequestTemplate(const Options& options, const Body& body, bool close);

  std::array<boost::asio::const_buffer, 2> buffers() const {
    return {boost::asio::buffer(head_), boost::asio::buffer(body_)};
  }
  const std::string& head() const { return head_; }
  std::string_view body() const { return body_; }
  std::size_t body_size() const { return body_.size(); }
  // HTTP/2: :method, :scheme, :authority, :path, then the headers of head() without Host and
  // Connection, names in lower case.
  using HeaderField = std::pair<std::string, std::string>;
  const std::vector<HeaderField>& h2_headers() const { return h2_headers_; }

 private:
  std::string head_;
  std::vector<HeaderField> h2_headers_;
  std::string_view body_;
};

}  // namespace mla::bench
