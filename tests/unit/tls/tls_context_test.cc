#include "gateway/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include "tests/support/test_certs.h"

namespace mla::tls {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using testing::IssuedCert;
using testing::TestCa;

// A CA with a server certificate for "localhost", and the files a TlsConfig needs.
struct Pki {
  testing::TempDir dir;
  TestCa ca{dir.path()};
  IssuedCert server =
      ca.issue({.common_name = "gateway", .dns_names = {"localhost"}, .is_server = true});

  config::TlsConfig server_config() const {
    config::TlsConfig tls;
    tls.cert_file = server.cert_file;
    tls.key_file = server.key_file;
    tls.client_ca_file = ca.cert_file();
    return tls;
  }
  // Client side built with the upstream context factory, so that is exercised too.
  std::shared_ptr<asio::ssl::context> client_context(const IssuedCert* cert) const {
    config::UpstreamTlsConfig tls;
    tls.ca_file = ca.cert_file();
    if (cert != nullptr) {
      tls.cert_file = cert->cert_file;
      tls.key_file = cert->key_file;
    }
    return make_upstream_context(tls);
  }
};

struct HandshakeResult {
  error_code server_ec;
  error_code client_ec;
  std::string reason;  // classify_handshake_failure() on the server side, "" on success
  std::string alpn;    // protocol the server selected
  bool server_saw_client_cert = false;
};

// Runs both handshake sides over a socketpair on one io_context: no network, no threads.
HandshakeResult handshake(asio::ssl::context& server_ctx, asio::ssl::context& client_ctx,
                          const std::string& client_alpn = "\x08http/1.1") {
  using Socket = asio::local::stream_protocol::socket;
  asio::io_context io;
  Socket server_socket(io);
  Socket client_socket(io);
  asio::local::connect_pair(server_socket, client_socket);
  asio::ssl::stream<Socket> server(std::move(server_socket), server_ctx);
  asio::ssl::stream<Socket> client(std::move(client_socket), client_ctx);
  SSL_set_tlsext_host_name(client.native_handle(), "localhost");
  SSL_set1_host(client.native_handle(), "localhost");
  SSL_set_alpn_protos(client.native_handle(),
                      reinterpret_cast<const unsigned char*>(client_alpn.data()),
                      static_cast<unsigned int>(client_alpn.size()));

  HandshakeResult result;
  server.async_handshake(asio::ssl::stream_base::server, [&](const error_code& ec) {
    result.server_ec = ec;
    if (ec) {
      result.reason = classify_handshake_failure(server.native_handle(), ec);
      server.next_layer().close();  // unblocks a client still waiting for the server's reply
      return;
    }
    const unsigned char* data = nullptr;
    unsigned int size = 0;
    SSL_get0_alpn_selected(server.native_handle(), &data, &size);
    result.alpn.assign(reinterpret_cast<const char*>(data), size);
    result.server_saw_client_cert = SSL_get0_peer_certificate(server.native_handle()) != nullptr;
  });
  client.async_handshake(asio::ssl::stream_base::client, [&](const error_code& ec) {
    result.client_ec = ec;
    if (ec) client.next_layer().close();
  });
  io.run_for(std::chrono::seconds(10));
  REQUIRE(io.stopped());  // both sides completed
  return result;
}

TEST_CASE("server context builds from generated files", "[tls]") {
  Pki pki;
  CHECK(make_server_context(pki.server_config(), false) != nullptr);
  CHECK(make_server_context(pki.server_config(), true) != nullptr);

  auto tls = pki.server_config();
  tls.crl_file = pki.ca.write_crl({});
  tls.min_version = config::TlsVersion::kTls13;
  CHECK(make_server_context(tls, false) != nullptr);
}

TEST_CASE("server context errors name the key, the file and the reason", "[tls]") {
  Pki pki;
  auto other = pki.ca.issue({.common_name = "other"});
  const std::string missing = pki.dir.file("missing.pem");
  const std::string garbage = pki.dir.file("garbage.pem");
  testing::write_file(garbage, "not a PEM file\n");

  SECTION("missing certificate") {
    auto tls = pki.server_config();
    tls.cert_file = missing;
    CHECK_THROWS_WITH(
        make_server_context(tls, false),
        Catch::Contains("tls.cert_file \"" + missing + "\"") && Catch::Contains("No such file"));
  }
  SECTION("missing key") {
    auto tls = pki.server_config();
    tls.key_file = missing;
    CHECK_THROWS_WITH(make_server_context(tls, false),
                      Catch::Contains("tls.key_file \"" + missing + "\""));
  }
  SECTION("key of another certificate") {
    auto tls = pki.server_config();
    tls.key_file = other.key_file;
    CHECK_THROWS_WITH(make_server_context(tls, false),
                      Catch::Contains("tls.key_file \"" + other.key_file + "\"") &&
                          Catch::Contains("does not match tls.cert_file"));
  }
  SECTION("certificate file that is no PEM") {
    auto tls = pki.server_config();
    tls.cert_file = garbage;
    CHECK_THROWS_WITH(
        make_server_context(tls, false),
        Catch::Contains("tls.cert_file \"" + garbage + "\"") && Catch::Contains("no start line"));
  }
  SECTION("missing client CA") {
    auto tls = pki.server_config();
    tls.client_ca_file = missing;
    CHECK_THROWS_WITH(make_server_context(tls, false),
                      Catch::Contains("tls.client_ca_file \"" + missing + "\""));
  }
  SECTION("client CA file without certificates") {
    auto tls = pki.server_config();
    tls.client_ca_file = garbage;
    CHECK_THROWS_WITH(make_server_context(tls, false),
                      Catch::Contains("tls.client_ca_file \"" + garbage + "\""));
  }
  SECTION("CRL file without CRLs") {
    auto tls = pki.server_config();
    tls.crl_file = garbage;
    CHECK_THROWS_WITH(
        make_server_context(tls, false),
        Catch::Contains("tls.crl_file \"" + garbage + "\"") && Catch::Contains("no CRL found"));
  }
  SECTION("upstream CA file missing") {
    config::UpstreamTlsConfig upstream;
    upstream.ca_file = missing;
    CHECK_THROWS_WITH(make_upstream_context(upstream),
                      Catch::Contains("tls.ca_file \"" + missing + "\""));
  }
}

TEST_CASE("a valid client certificate is accepted and ALPN picks http/1.1", "[tls]") {
  Pki pki;
  auto client_cert = pki.ca.issue({.common_name = "cluster-abc"});
  auto server_ctx = make_server_context(pki.server_config(), false);
  auto client_ctx = pki.client_context(&client_cert);

  auto version = GENERATE(TLS1_2_VERSION, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(client_ctx->native_handle(), version);
  // Offering h2 first must not matter while the server has HTTP/2 off.
  auto result = handshake(*server_ctx, *client_ctx, std::string("\x02h2\x08http/1.1"));
  CHECK_FALSE(result.server_ec);
  CHECK_FALSE(result.client_ec);
  CHECK(result.server_saw_client_cert);
  CHECK(result.alpn == "http/1.1");
}

TEST_CASE("ALPN offers h2 first when HTTP/2 is on and is optional for clients", "[tls]") {
  Pki pki;
  auto client_cert = pki.ca.issue({.common_name = "cluster-abc"});
  auto client_ctx = pki.client_context(&client_cert);

  auto h2_server = make_server_context(pki.server_config(), true);
  CHECK(handshake(*h2_server, *client_ctx, std::string("\x08http/1.1\x02h2")).alpn == "h2");
  CHECK(handshake(*h2_server, *client_ctx, "\x08http/1.1").alpn == "http/1.1");

  auto h1_server = make_server_context(pki.server_config(), false);
  auto no_alpn = handshake(*h1_server, *client_ctx, "");
  CHECK_FALSE(no_alpn.server_ec);
  CHECK(no_alpn.alpn.empty());

  // Only protocols we do not speak: fatal no_application_protocol alert.
  auto h2_only = handshake(*h1_server, *client_ctx, std::string("\x02h2"));
  CHECK(h2_only.server_ec);
  CHECK(h2_only.reason == "protocol");
}

TEST_CASE("rejected client certificates are classified by reason", "[tls]") {
  Pki pki;
  TestCa other_ca(pki.dir.path(), "other-ca");
  auto good = pki.ca.issue({.common_name = "good"});
  auto expired = pki.ca.issue({.common_name = "expired",
                               .not_before = -std::chrono::hours(48),
                               .not_after = -std::chrono::hours(24)});
  auto revoked = pki.ca.issue({.common_name = "revoked"});
  auto foreign = other_ca.issue({.common_name = "foreign"});

  auto tls = pki.server_config();
  tls.crl_file = pki.ca.write_crl({revoked.serial});
  auto server_ctx = make_server_context(tls, false);

  struct Case {
    const char* intent;
    const IssuedCert* cert;
    std::string reason;  // "" = accepted
  };
  const Case cases[] = {
      {"valid certificate, CRL without it", &good, ""},
      {"no certificate", nullptr, "no_certificate"},
      {"certificate from another CA", &foreign, "unknown_ca"},
      {"expired certificate", &expired, "expired"},
      {"revoked certificate", &revoked, "revoked"},
  };
  auto version = GENERATE(TLS1_2_VERSION, TLS1_3_VERSION);
  for (const auto& c : cases) {
    INFO(c.intent << ", client max version " << std::hex << version);
    auto client_ctx = pki.client_context(c.cert);
    SSL_CTX_set_max_proto_version(client_ctx->native_handle(), version);
    auto result = handshake(*server_ctx, *client_ctx);
    CHECK(result.reason == c.reason);
    CHECK(static_cast<bool>(result.server_ec) == !c.reason.empty());
  }
}

TEST_CASE("min_version TLS1.3 rejects a client limited to TLS 1.2", "[tls]") {
  Pki pki;
  auto client_cert = pki.ca.issue({.common_name = "cluster-abc"});
  auto tls = pki.server_config();
  tls.min_version = config::TlsVersion::kTls13;
  auto server_ctx = make_server_context(tls, false);

  auto old_client = pki.client_context(&client_cert);
  SSL_CTX_set_max_proto_version(old_client->native_handle(), TLS1_2_VERSION);
  auto rejected = handshake(*server_ctx, *old_client);
  CHECK(rejected.server_ec);
  CHECK(rejected.reason == "protocol");

  auto new_client = pki.client_context(&client_cert);
  CHECK_FALSE(handshake(*server_ctx, *new_client).server_ec);
}

TEST_CASE("handshake failures without a verify result are classified by error code", "[tls]") {
  namespace error = asio::error;
  CHECK(classify_handshake_failure(nullptr, error::operation_aborted) == "timeout");
  CHECK(classify_handshake_failure(nullptr, error::timed_out) == "timeout");
  CHECK(classify_handshake_failure(nullptr, boost::beast::error::timeout) == "timeout");
  CHECK(classify_handshake_failure(nullptr, error::eof) == "eof");
  CHECK(classify_handshake_failure(nullptr, asio::ssl::error::stream_truncated) == "eof");
  CHECK(classify_handshake_failure(nullptr, asio::ssl::error::unexpected_result) == "protocol");
  CHECK(classify_handshake_failure(nullptr, error::connection_reset) == "other");
  CHECK(classify_handshake_failure(
            nullptr, error_code(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE),
                                error::get_ssl_category())) == "no_certificate");
  CHECK(classify_handshake_failure(nullptr,
                                   error_code(ERR_PACK(ERR_LIB_SSL, 0, SSL_R_UNSUPPORTED_PROTOCOL),
                                              error::get_ssl_category())) == "protocol");
}

TEST_CASE("certificate_not_after reads the first certificate's expiry", "[tls]") {
  testing::TempDir dir;
  TestCa ca(dir.path());
  auto cert = ca.issue({.common_name = "x", .not_after = std::chrono::hours(48)});
  auto not_after = certificate_not_after(cert.cert_file);
  REQUIRE(not_after.has_value());
  auto expected = std::chrono::system_clock::now() + std::chrono::hours(48);
  CHECK(std::chrono::abs(*not_after - expected) < std::chrono::seconds(60));

  CHECK_FALSE(certificate_not_after(dir.file("missing.pem")).has_value());
  CHECK_FALSE(certificate_not_after(cert.key_file).has_value());
}

}  // namespace
}  // namespace mla::tls
