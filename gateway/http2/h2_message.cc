#include "gateway/http2/h2_message.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace mla::http2 {
namespace {

nghttp2_nv make_nv(std::string_view name, std::string_view value) {
  // NO_COPY: the strings live in ResponseHeaders (or the response) until nghttp2 sent them.
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

void add_request_field(proxy::UpstreamRequest& request, std::string_view name,
                       std::string_view value) {
  if (name.empty()) return;
  if (name[0] != ':') {
    request.insert(name, value);
  } else if (name == ":method") {
    request.method_string(value);
  } else if (name == ":path") {
    request.target(value);
  } else if (name == ":authority") {
    if (request.find(http::field::host) == request.end()) request.set(http::field::host, value);
  }
  // ":scheme" (always https here) and ":protocol" have no HTTP/1.1 counterpart.
}

std::optional<std::uint64_t> declared_length(const http::request_header<>& request) {
  auto it = request.find(http::field::content_length);
  if (it == request.end()) return std::nullopt;
  std::string_view text = it->value();
  std::uint64_t length = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return length;
}

ResponseHeaders::ResponseHeaders(const http::response_header<>& response)
    : status_(std::to_string(response.result_int())) {
  std::size_t count = std::distance(response.begin(), response.end());
  names_.reserve(count);
  nv_.reserve(count + 1);
  nv_.push_back(make_nv(":status", status_));
  for (const auto& field : response) {
    std::string& name = names_.emplace_back(field.name_string());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    nv_.push_back(make_nv(name, field.value()));
  }
}

bool response_has_no_body(http::verb method, unsigned status) {
  return method == http::verb::head || status < 200 || status == 204 || status == 304;
}

}  // namespace mla::http2
