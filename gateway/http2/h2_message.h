// Translation between HTTP/2 header lists and the Beast messages the request pipeline works on.
// nghttp2 has already checked the header block (RFC 9113 §8: lowercase names, no connection-
// specific fields, no CR/LF/NUL in values, well-formed pseudo-headers, Content-Length against
// DATA), so these only map fields. Pure functions.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/proxy/request_body.h"

namespace mla::http2 {

// Adds one request header field: pseudo-headers set the method, target and Host; the others are
// added as they are (HTTP/1.1 field names are case-insensitive).
void add_request_field(proxy::UpstreamRequest& request, std::string_view name,
                       std::string_view value);

// The request's Content-Length, if it sent one (nghttp2 checked that it is a number).
std::optional<std::uint64_t> declared_length(const http::request_header<>& request);

// An HTTP/2 header list for a response: ":status" first, then the fields with lowercase names
// (hop-by-hop fields must already be gone). The nghttp2_nv entries point into this object.
class ResponseHeaders {
 public:
  explicit ResponseHeaders(const http::response_header<>& response);
  const nghttp2_nv* data() const { return nv_.data(); }
  std::size_t size() const { return nv_.size(); }

 private:
  std::string status_;
  std::vector<std::string> names_;
  std::vector<nghttp2_nv> nv_;
};

// Whether a response with this status to this method carries no body (HEAD, 1xx, 204, 304).
bool response_has_no_body(http::verb method, unsigned status);

}  // namespace mla::http2
