// The data-plane rules of DESIGN.md §4 for one request, whatever protocol carried it: an
// HTTP/1.1 session and an HTTP/2 stream both check the header, read the body their own way and
// then forward through the same steps (inspection, limits, upstream). Worker thread only.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/config/config.h"
#include "gateway/proxy/request_body.h"
#include "gateway/server/worker.h"
#include "gateway/tenant/tenant_mapper.h"

namespace mla::server {

struct ConnectionInfo {
  tenant::TenantResult tenant;  // resolved at handshake, again after a reload changed the rules
  std::shared_ptr<const tenant::TenantMapper> mapped_by;  // the rules `tenant` came from
  std::vector<std::string> client_names;   // certificate CN + SAN DNS, for route `clients`
  std::string remote;                      // "ip:port", for logs
  std::string_view protocol = "HTTP/1.1";  // or "HTTP/2", for logs
};

using Response = http::response<http::string_body>;

// A request the gateway answers itself.
struct Refusal {
  http::status status = http::status::ok;
  std::string reason;  // one line, sent to the client
  std::int64_t retry_after_seconds = 0;
  bool tenant_disabled = false;  // the kill switch: the connection ends after the answer
};

// The outcome of the checks that need only the request header.
struct HeadCheck {
  const config::RouteConfig* route = nullptr;  // the matched route, once known
  std::optional<Refusal> refusal;              // set: answer this without reading the body
};

// The outcome of forwarding a complete request.
struct Forwarded {
  std::optional<Response> response;  // the upstream's answer, hop-by-hop fields removed
  std::optional<Refusal> refusal;    // else the gateway's own answer (inspection, limits, 502/504)
};

class RequestPipeline {
 public:
  // `info` and `ssl` belong to the connection and outlive the pipeline.
  RequestPipeline(Worker& worker, ConnectionInfo& info, SSL* ssl);

  // Tenant (re-mapped after a reload changed the rules), kill switch, route, method, route
  // clients and a declared body length beyond max_request_body_bytes.
  HeadCheck check_head(const Runtime& runtime, const http::request_header<>& request,
                       std::optional<std::uint64_t> content_length);
  // The kill switch's answer for this connection's tenant, if it is disabled now.
  std::optional<Refusal> disabled_now();
  // For a body cut off by a disable: the switch's answer, also if the tenant was re-enabled since.
  Refusal disabled_mid_body();
  // 413 for a body that turned out larger than max_request_body_bytes while being read.
  Refusal body_too_large(std::uint64_t max_body);

  // Inspects and charges the complete request, then forwards it to the route's upstream with the
  // tenant header set. `request` is modified (headers, target) on the way.
  awaitable<Forwarded> forward(const Runtime& runtime, const config::RouteConfig& route,
                               proxy::UpstreamRequest& request);

  // The gateway's own answer for `refusal`: logged and counted. `version` is the client's.
  Response answer(const http::request_header<>& request, const Refusal& refusal,
                  std::string_view route);

  const ConnectionInfo& info() const { return info_; }

 private:
  Refusal refuse(common::RejectReason counted_as, http::status status, std::string reason);
  Refusal disabled(std::int64_t retry_after_seconds);

  Worker& worker_;
  ConnectionInfo& info_;
  SSL* ssl_;
};

}  // namespace mla::server
