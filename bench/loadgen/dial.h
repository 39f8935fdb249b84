// The first steps of every client connection, HTTP/1.1 or HTTP/2: the TCP connect (with
// TCP_NODELAY) and the TLS handshake with the run's client certificate. The caller sets the
// deadline (kConnectTimeout) on the stream before each step.
#pragma once

#include <boost/asio/ssl/stream.hpp>
#include <cstddef>
#include <string_view>

#include "bench/loadgen/tls_client.h"
#include "gateway/common/asio.h"

namespace mla::bench {

using TlsStream = asio::ssl::stream<beast::tcp_stream>;

// Connects `stream` to `endpoint` and turns Nagle off (requests are written whole; see
// bench/README.md, "40 ms stalls"). Returns the error, empty on success.
awaitable<error_code> connect_tcp(beast::tcp_stream& stream, const tcp::endpoint& endpoint);

// SNI, the expected server name and tenant certificate `index` (ClientTls::prepare), then the
// client handshake. Returns the error, empty on success.
awaitable<error_code> handshake_tls(TlsStream& stream, const ClientTls& tls, std::size_t index);

// The ALPN protocol the server selected in the handshake, "" when it selected none.
std::string_view selected_alpn(TlsStream& stream);

}  // namespace mla::bench
