#include "gateway/server/connection.h"

#include <openssl/ssl.h>

#include "gateway/common/logging.h"
#include "gateway/common/stats.h"
#include "gateway/http1/session.h"
#include "gateway/http2/http2_session.h"
#include "gateway/server/worker.h"
#include "gateway/tls/tls_context.h"

namespace mla::server {
namespace {

std::string endpoint_text(const tcp::socket& socket) {
  error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// ALPN chose "h2" (offered only with server.http2: true).
bool negotiated_h2(SSL* ssl) {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl, &protocol, &length);
  return length == 2 && protocol[0] == 'h' && protocol[1] == '2';
}

}  // namespace

awaitable<void> serve_connection(Worker& worker, tcp::socket socket) {
  auto runtime = worker.runtime();
  std::string remote = endpoint_text(socket);
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);  // responses are small: no Nagle delay

  http1::TlsStream stream(std::move(socket), runtime->server_tls->native_handle());
  // The handshake shares the header deadline: a client that connects and stalls is cut off.
  stream.expires_after(runtime->config->server.read_header_timeout);
  error_code ec = co_await stream.handshake();
  if (ec) {
    std::string reason = tls::classify_handshake_failure(stream.native_handle(), ec);
    common::stats().count_handshake_failure(reason);
    // A bare TCP connect-and-close (port probes) is routine; anything else is worth a warning.
    auto level = reason == "eof" ? log::Level::kDebug : log::Level::kWarn;
    log::write(level, "TLS handshake failed",
               {{"remote", remote}, {"reason", reason}, {"error", ec.message()}});
    co_return;
  }

  X509* cert = SSL_get0_peer_certificate(stream.native_handle());
  ConnectionInfo info{runtime->tenants->map(cert), runtime->tenants, {}, remote};
  if (cert != nullptr) info.client_names = tenant::certificate_client_names(cert);
  if (!info.tenant.ok()) {
    log::warn("client certificate gives no tenant",
              {{"remote", remote}, {"reason", info.tenant.error}});
  }
  if (negotiated_h2(stream.native_handle())) {
    http2::Http2Session session(worker, stream, std::move(info));
    co_await session.run();
  } else {
    http1::Http1Session session(worker, stream, std::move(info));
    co_await session.run();
  }
}

}  // namespace mla::server
