#include "gateway/http2/h2_message.h"

#include <catch2/catch.hpp>
#include <string>

namespace mla::http2 {
namespace {

std::string nv_name(const nghttp2_nv& nv) {
  return {reinterpret_cast<const char*>(nv.name), nv.namelen};
}
std::string nv_value(const nghttp2_nv& nv) {
  return {reinterpret_cast<const char*>(nv.value), nv.valuelen};
}

TEST_CASE("pseudo-headers become method, target and Host", "[http2]") {
  proxy::UpstreamRequest request;
  add_request_field(request, ":method", "POST");
  add_request_field(request, ":scheme", "https");
  add_request_field(request, ":authority", "gateway.example:8443");
  add_request_field(request, ":path", "/api/v1/push?x=1");
  add_request_field(request, "content-type", "application/x-protobuf");
  add_request_field(request, "x-scope-orgid", "spoofed");
  CHECK(request.method() == http::verb::post);
  CHECK(request.target() == "/api/v1/push?x=1");
  CHECK(request[http::field::host] == "gateway.example:8443");
  CHECK(request[http::field::content_type] == "application/x-protobuf");
  CHECK(request["X-Scope-OrgID"] == "spoofed");  // replaced later by the pipeline
  CHECK(request.find("scheme") == request.end());
}

TEST_CASE("a host field wins over :authority", "[http2]") {
  proxy::UpstreamRequest request;
  add_request_field(request, "host", "a.example");
  add_request_field(request, ":authority", "b.example");
  CHECK(request[http::field::host] == "a.example");
}

TEST_CASE("declared_length reads Content-Length", "[http2]") {
  proxy::UpstreamRequest request;
  CHECK_FALSE(declared_length(request).has_value());
  add_request_field(request, "content-length", "1048576");
  CHECK(declared_length(request) == 1048576u);
  request.set(http::field::content_length, "12x");
  CHECK_FALSE(declared_length(request).has_value());
}

TEST_CASE("response headers: :status first, names lowercased", "[http2]") {
  http::response<http::string_body> response{http::status::too_many_requests, 11};
  response.set(http::field::retry_after, "3");
  response.set("X-Custom-Thing", "v");
  ResponseHeaders headers(response);
  REQUIRE(headers.size() == 3);
  CHECK(nv_name(headers.data()[0]) == ":status");
  CHECK(nv_value(headers.data()[0]) == "429");
  CHECK(nv_name(headers.data()[1]) == "retry-after");
  CHECK(nv_value(headers.data()[1]) == "3");
  CHECK(nv_name(headers.data()[2]) == "x-custom-thing");
}

TEST_CASE("which answers carry no body", "[http2]") {
  CHECK(response_has_no_body(http::verb::head, 200));
  CHECK(response_has_no_body(http::verb::post, 204));
  CHECK(response_has_no_body(http::verb::get, 304));
  CHECK_FALSE(response_has_no_body(http::verb::post, 200));
  CHECK_FALSE(response_has_no_body(http::verb::post, 429));
}

}  // namespace
}  // namespace mla::http2
