#include "gateway/read/read_connection.h"

#include "gateway/common/logging.h"
#include "gateway/read/read_session.h"
#include "gateway/server/worker.h"
#include "gateway/tls/tls_socket.h"

namespace mla::read {

awaitable<void> serve_read_connection(server::Worker& worker, tcp::socket socket) {
  auto runtime = worker.runtime();
  error_code ignored;
  std::string remote;
  if (auto endpoint = socket.remote_endpoint(ignored); !ignored) {
    remote = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  }
  socket.set_option(tcp::no_delay(true), ignored);
  if (!runtime->read_tls) {
    beast::tcp_stream stream(std::move(socket));
    ReadSession<beast::tcp_stream> session(worker, stream, std::move(remote));
    co_await session.run();
    co_return;
  }
  tls::TlsSocket stream(std::move(socket), runtime->read_tls->native_handle());
  stream.expires_after(runtime->config->server.read_header_timeout);
  if (error_code ec = co_await stream.handshake()) {
    log::info("read listener: TLS handshake failed", {{"remote", remote}, {"error", ec.message()}});
    co_return;
  }
  ReadSession<tls::TlsSocket> session(worker, stream, std::move(remote));
  co_await session.run();
}

}  // namespace mla::read
