// Client-side TLS for every connection of a run: one SSL_CTX (creating SSL objects from it is
// thread-safe) with the server CA, TLS >= 1.2, ALPN http/1.1 (h2 alone with --http2) and no
// session resumption (each connection does a full handshake, as a fleet of distinct clients
// would), plus the per-tenant certificates chosen per connection.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "bench/loadgen/options.h"
#include "bench/loadgen/tenant_certs.h"

namespace mla::bench {

class ClientTls {
 public:
  // Loads --ca and --cert/--key, or mints --tenants certificates. nullptr and `error` set when a
  // file cannot be used.
  static std::unique_ptr<ClientTls> create(const Options& options, std::string& error);

  boost::asio::ssl::context& context() { return context_; }
  std::size_t tenant_count() const { return tenants_.size(); }

  // Sets up a fresh SSL object before its handshake: SNI and the expected server name (or IP),
  // and tenant certificate `connection_index % tenants` when tenants were minted. Thread-safe.
  bool prepare(SSL* ssl, std::size_t connection_index) const;

 private:
  ClientTls();

  boost::asio::ssl::context context_;
  std::string server_name_;  // "" = check the certificate against verify_ip_
  std::string verify_ip_;
  std::vector<TenantCert> tenants_;  // read-only after create()
};

}  // namespace mla::bench
