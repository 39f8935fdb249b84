#include "gateway/tls/tls_socket.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <tuple>
#include <vector>

#include "gateway/tls/tls_context.h"
#include "tests/support/test_certs.h"

namespace mla::tls {
namespace {

using testing::IssuedCert;
using testing::TestCa;
using ClientStream = asio::ssl::stream<tcp::socket>;

// A server TlsSocket and an asio::ssl client over a real loopback TCP connection, handshaken.
struct Pair {
  testing::TempDir dir;
  TestCa ca{dir.path()};
  IssuedCert server_cert =
      ca.issue({.common_name = "gateway", .dns_names = {"localhost"}, .is_server = true});
  IssuedCert client_cert = ca.issue({.common_name = "tenant-a"});
  asio::io_context io;
  std::shared_ptr<asio::ssl::context> server_ctx;
  std::shared_ptr<asio::ssl::context> client_ctx;
  std::unique_ptr<TlsSocket> server;
  std::unique_ptr<ClientStream> client;

  Pair() {
    config::TlsConfig tls;
    tls.cert_file = server_cert.cert_file;
    tls.key_file = server_cert.key_file;
    tls.client_ca_file = ca.cert_file();
    server_ctx = make_server_context(tls, false);
    config::UpstreamTlsConfig client_tls;
    client_tls.ca_file = ca.cert_file();
    client_tls.cert_file = client_cert.cert_file;
    client_tls.key_file = client_cert.key_file;
    client_ctx = make_upstream_context(client_tls);

    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    tcp::socket client_socket(io);
    client_socket.connect(acceptor.local_endpoint());
    server = std::make_unique<TlsSocket>(acceptor.accept(), server_ctx->native_handle());
    client = std::make_unique<ClientStream>(std::move(client_socket), *client_ctx);
    SSL_set_tlsext_host_name(client->native_handle(), "localhost");

    error_code server_ec = asio::error::would_block;
    error_code client_ec = asio::error::would_block;
    run([&]() -> awaitable<void> { server_ec = co_await server->handshake(); });
    client->async_handshake(asio::ssl::stream_base::client,
                            [&](const error_code& ec) { client_ec = ec; });
    drive();
    REQUIRE(server_ec == error_code{});
    REQUIRE(client_ec == error_code{});
  }

  void run(std::function<awaitable<void>()> body) {
    asio::co_spawn(io, std::move(body), asio::detached);
  }
  // Runs until every started operation is done (bounded).
  void drive() {
    io.restart();
    io.run_for(std::chrono::seconds(10));
    REQUIRE(io.stopped());
  }
};

std::string pattern(std::size_t size) {
  std::string out(size, '\0');
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return out;
}

TEST_CASE("TlsSocket reads a large body across many records and gathers small writes", "[tls]") {
  Pair pair;
  const std::string request = pattern(1 << 20);
  std::string received(request.size(), '\0');
  error_code read_ec;
  std::size_t read_bytes = 0;
  pair.run([&]() -> awaitable<void> {
    auto [ec, n] = co_await asio::async_read(*pair.server, asio::buffer(received), kUseTuple);
    read_ec = ec;
    read_bytes = n;
  });
  asio::async_write(*pair.client, asio::buffer(request), [](const error_code&, std::size_t) {});
  pair.drive();
  REQUIRE(read_ec == error_code{});
  REQUIRE(read_bytes == request.size());
  REQUIRE(received == request);

  // 200 small pieces and one large one, as Beast presents a response header and body.
  std::vector<std::string> pieces;
  for (int i = 0; i < 200; ++i) pieces.push_back("line " + std::to_string(i) + "\r\n");
  pieces.push_back(pattern(100000));
  std::vector<asio::const_buffer> buffers;
  std::string expected;
  for (const auto& piece : pieces) {
    buffers.push_back(asio::buffer(piece));
    expected += piece;
  }
  std::string echoed(expected.size(), '\0');
  error_code write_ec;
  pair.run([&]() -> awaitable<void> {
    auto [ec, n] = co_await asio::async_write(*pair.server, buffers, kUseTuple);
    write_ec = ec;
    REQUIRE(n == expected.size());
  });
  asio::async_read(*pair.client, asio::buffer(echoed), [](const error_code&, std::size_t) {});
  pair.drive();
  REQUIRE(write_ec == error_code{});
  REQUIRE(echoed == expected);
}

TEST_CASE("TlsSocket deadline fails a pending read with a timeout", "[tls]") {
  Pair pair;
  error_code ec_seen;
  pair.run([&]() -> awaitable<void> {
    pair.server->expires_after(std::chrono::milliseconds(50));
    char byte = 0;
    auto [ec, n] = co_await pair.server->async_read_some(asio::buffer(&byte, 1), kUseTuple);
    ec_seen = ec;
  });
  pair.drive();
  REQUIRE(ec_seen == beast::error::timeout);
}

TEST_CASE("TlsSocket reports close_notify as eof and a bare TCP close as truncation", "[tls]") {
  SECTION("close_notify") {
    Pair pair;
    error_code ec_seen;
    pair.run([&]() -> awaitable<void> {
      char byte = 0;
      auto [ec, n] = co_await pair.server->async_read_some(asio::buffer(&byte, 1), kUseTuple);
      ec_seen = ec;
      co_await pair.server->shutdown();  // answers the client's close_notify
    });
    pair.client->async_shutdown([](const error_code&) {});
    pair.drive();
    REQUIRE(ec_seen == asio::error::eof);
  }
  SECTION("TCP FIN without close_notify") {
    Pair pair;
    error_code ec_seen;
    pair.run([&]() -> awaitable<void> {
      char byte = 0;
      auto [ec, n] = co_await pair.server->async_read_some(asio::buffer(&byte, 1), kUseTuple);
      ec_seen = ec;
    });
    pair.client->next_layer().shutdown(tcp::socket::shutdown_send);
    pair.drive();
    REQUIRE(ec_seen == asio::ssl::error::stream_truncated);
  }
}

TEST_CASE("TlsSocket wait_readable sees bytes already decrypted or buffered", "[tls]") {
  Pair pair;
  // Two messages in one client write: reading the first leaves the second inside OpenSSL, where
  // a socket readiness wait alone would never see it.
  const std::string both = "first|second";
  asio::async_write(*pair.client, asio::buffer(both), [](const error_code&, std::size_t) {});
  std::string first(6, '\0');
  error_code read_ec;
  error_code wait_ec = asio::error::would_block;
  pair.run([&]() -> awaitable<void> {
    auto [ec, n] = co_await asio::async_read(*pair.server, asio::buffer(first), kUseTuple);
    read_ec = ec;
    pair.server->expires_after(std::chrono::seconds(2));
    std::tie(wait_ec) = co_await pair.server->async_wait_readable(kUseTuple);
    pair.server->expires_never();
  });
  pair.drive();
  REQUIRE(read_ec == error_code{});
  REQUIRE(first == "first|");
  REQUIRE(wait_ec == error_code{});
}

}  // namespace
}  // namespace mla::tls
