// One connection on the read listener (DESIGN.md §3 `read`): Grafana's queries, rules, alerts and
// log reads. Per request: bearer token (read.token_file), tenant (read.tenant_from), kill switch,
// route + rewrite, per-tenant query limit, then the request goes to the route's upstream and the
// answer is relayed as it arrives: a fixed buffer per request whatever the response size, and a
// slow client slows the upstream read instead of filling memory.
//
// `Stream` is beast::tcp_stream (plain HTTP) or tls::TlsSocket (read.tls); both are instantiated
// in read_session.cc.
#pragma once

#include <string>

#include "gateway/common/asio.h"
#include "gateway/proxy/request_body.h"
#include "gateway/server/worker.h"

namespace mla::read {

template <typename Stream>
class ReadSession : public server::IdleConnection {
 public:
  ReadSession(server::Worker& worker, Stream& stream, std::string remote);
  ~ReadSession() override;
  ReadSession(const ReadSession&) = delete;
  ReadSession& operator=(const ReadSession&) = delete;

  awaitable<void> run();
  void close_idle() override;

 private:
  using Parser = http::request_parser<proxy::RequestBody>;

  // Handles one request whose header has been read; returns whether to keep the connection.
  awaitable<bool> handle(Parser& parser);
  awaitable<bool> reject(const http::request_header<>& request, http::status status,
                         std::string_view reason, bool keep_alive, std::string_view tenant,
                         std::string_view route, std::int64_t retry_after_seconds = 0);
  // Forwards `request` and relays the answer; false when the connection must close.
  awaitable<bool> forward(proxy::UpstreamRequest& request, const std::string& tenant,
                          const config::RouteConfig& route);

  server::Worker& worker_;
  Stream& stream_;
  const std::string remote_;
  beast::flat_buffer buffer_;
  bool idle_ = false;  // waiting for the next request: close_idle() may cancel it
};

}  // namespace mla::read
