#include "bench/loadgen/tls_client.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace mla::bench {
namespace {

std::string openssl_error() {
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  return buf;
}

}  // namespace

ClientTls::ClientTls() : context_(boost::asio::ssl::context::tls_client) {}

std::unique_ptr<ClientTls> ClientTls::create(const Options& options, std::string& error) {
  std::unique_ptr<ClientTls> tls(new ClientTls());
  SSL_CTX* ctx = tls->context_.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No resumption: neither a client-side session cache nor tickets.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  // One protocol offered, so the server cannot fall back: --http2 fails clearly on a listener
  // without HTTP/2 instead of measuring HTTP/1.1.
  static constexpr unsigned char kAlpnHttp11[] = "\x08http/1.1";
  static constexpr unsigned char kAlpnH2[] = "\x02h2";
  if (options.http2) {
    SSL_CTX_set_alpn_protos(ctx, kAlpnH2, sizeof(kAlpnH2) - 1);
  } else {
    SSL_CTX_set_alpn_protos(ctx, kAlpnHttp11, sizeof(kAlpnHttp11) - 1);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    error = "cannot load --ca " + options.ca_file + ": " + openssl_error();
    return nullptr;
  }
  if (options.tenants > 0) {
    tls->tenants_ = mint_tenant_certs(options.tenant_ca_cert, options.tenant_ca_key,
                                      static_cast<std::size_t>(options.tenants), error);
    if (tls->tenants_.empty()) return nullptr;
  } else {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      error = "cannot load --cert " + options.cert_file + ": " + openssl_error();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      error = "cannot use --key " + options.key_file + " with --cert: " + openssl_error();
      return nullptr;
    }
  }
  tls->server_name_ = options.server_name;
  tls->verify_ip_ = options.address.to_string();
  return tls;
}

bool ClientTls::prepare(SSL* ssl, std::size_t connection_index) const {
  if (!server_name_.empty()) {
    if (SSL_set_tlsext_host_name(ssl, server_name_.c_str()) != 1 ||
        SSL_set1_host(ssl, server_name_.c_str()) != 1) {
      return false;
    }
  } else if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), verify_ip_.c_str()) != 1) {
    return false;
  }
  if (tenants_.empty()) return true;
  const TenantCert& tenant = tenants_[connection_index % tenants_.size()];
  // Both calls take their own reference; the TenantCert stays owned here.
  return SSL_use_certificate(ssl, tenant.cert.get()) == 1 &&
         SSL_use_PrivateKey(ssl, tenant.key.get()) == 1;
}

}  // namespace mla::bench
