#include "bench/loadgen/dial.h"

namespace mla::bench {

awaitable<error_code> connect_tcp(beast::tcp_stream& stream, const tcp::endpoint& endpoint) {
  auto [error] = co_await stream.async_connect(endpoint, kUseTuple);
  if (error) co_return error;
  error_code ignored;
  stream.socket().set_option(tcp::no_delay(true), ignored);
  co_return error_code{};
}

awaitable<error_code> handshake_tls(TlsStream& stream, const ClientTls& tls, std::size_t index) {
  if (!tls.prepare(stream.native_handle(), index)) co_return asio::error::invalid_argument;
  auto [error] = co_await stream.async_handshake(asio::ssl::stream_base::client, kUseTuple);
  co_return error;
}

std::string_view selected_alpn(TlsStream& stream) {
  const unsigned char* protocol = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(stream.native_handle(), &protocol, &length);
  if (protocol == nullptr) return {};
  return {reinterpret_cast<const char*>(protocol), length};
}

}  // namespace mla::bench
