#include "gateway/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <stdexcept>

namespace mla::tls {
namespace {

namespace ssl = boost::asio::ssl;

// Chains deeper than this are not a real PKI; bounding it bounds verification work per handshake.
constexpr int kVerifyDepth = 8;

// Any stable bytes: OpenSSL refuses to resume sessions on a verify_peer server without one.
constexpr unsigned char kSessionIdContext[] = "mla-gateway";

// Mozilla "intermediate" TLS 1.2 suites: forward secret AEAD only. TLS 1.3 keeps its defaults.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// ALPN lists in wire format (length-prefixed), in server preference order.
struct AlpnList {
  const unsigned char* data;
  unsigned int size;
};
constexpr unsigned char kAlpnHttp1[] = "\x08http/1.1";
constexpr unsigned char kAlpnH2Http1[] = "\x02h2\x08http/1.1";
constexpr AlpnList kAlpnServerHttp1{kAlpnHttp1, sizeof(kAlpnHttp1) - 1};
constexpr AlpnList kAlpnServerH2{kAlpnH2Http1, sizeof(kAlpnH2Http1) - 1};

// Drains the calling thread's OpenSSL error queue into one line.
std::string drain_openssl_errors() {
  std::string text;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

[[noreturn]] void fail(const std::string& key, const std::string& file, const std::string& what) {
  throw std::runtime_error(key + " \"" + file + "\": " + what);
}

// Fails with errno's text when the file cannot be opened: OpenSSL's own message for a missing
// file ("system library") says less than "No such file or directory".
void require_readable(const std::string& key, const std::string& file) {
  std::ifstream in(file);
  if (!in) fail(key, file, std::strerror(errno));
}

void load_chain_and_key(SSL_CTX* ctx, const std::string& cert_key, const std::string& cert_file,
                        const std::string& key_key, const std::string& key_file) {
  require_readable(cert_key, cert_file);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    fail(cert_key, cert_file, "cannot load certificate chain: " + drain_openssl_errors());
  }
  require_readable(key_key, key_file);
  const std::string mismatch = "private key does not match " + cert_key + " \"" + cert_file + "\"";
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL checks the key against the loaded certificate here already.
    unsigned long err = ERR_peek_last_error();
    bool mismatched =
        ERR_GET_LIB(err) == ERR_LIB_X509 && (ERR_GET_REASON(err) == X509_R_KEY_VALUES_MISMATCH ||
                                             ERR_GET_REASON(err) == X509_R_KEY_TYPE_MISMATCH);
    fail(key_key, key_file,
         (mismatched ? mismatch : std::string("cannot load private key")) + ": " +
             drain_openssl_errors());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    fail(key_key, key_file, mismatch + ": " + drain_openssl_errors());
  }
}

// Adds every CRL in a PEM file to the store. At least one is required: an empty CRL file with
// CRL checking on would reject every client with "unable to get CRL".
void load_crls(X509_STORE* store, const std::string& file) {
  require_readable("tls.crl_file", file);
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(file.c_str(), "r"), &BIO_free);
  if (!bio) fail("tls.crl_file", file, drain_openssl_errors());
  int count = 0;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) {
    int added = X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);  // the store holds its own reference
    if (added != 1) fail("tls.crl_file", file, "cannot add CRL: " + drain_openssl_errors());
    ++count;
  }
  // The loop ends on "no start line" at end of file; anything else is a broken CRL.
  unsigned long last = ERR_peek_last_error();
  if (last != 0 &&
      !(ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE)) {
    fail("tls.crl_file", file, "cannot parse CRL: " + drain_openssl_errors());
  }
  ERR_clear_error();
  if (count == 0) fail("tls.crl_file", file, "no CRL found in file");
  // CRL_CHECK (not CRL_CHECK_ALL): the leaf's issuer must publish a CRL; intermediates need not.
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
}

int select_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* outlen,
                const unsigned char* in, unsigned int inlen, void* arg) {
  const auto* server = static_cast<const AlpnList*>(arg);
  if (inlen == 0) return SSL_TLSEXT_ERR_NOACK;  // nothing offered: go on without ALPN
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, server->data, server->size, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED) {
    // RFC 7301 §3.2: a client that offers only protocols we do not speak gets a fatal
    // no_application_protocol alert instead of a connection it cannot use.
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

int min_version(config::TlsVersion version) {
  return version == config::TlsVersion::kTls13 ? TLS1_3_VERSION : TLS1_2_VERSION;
}

std::string classify_verify_result(long result) {
  switch (result) {
    case X509_V_ERR_CERT_HAS_EXPIRED: return "expired";
    case X509_V_ERR_CERT_REVOKED: return "revoked";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE: return "unknown_ca";
    default: return "bad_certificate";
  }
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_server_context(const config::TlsConfig& tls,
                                                               bool http2) {
  ERR_clear_error();  // so errors reported below are ours
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();

  // No compression (CRIME) and no renegotiation (client-initiated renegotiation is a CPU DoS).
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Record buffers are freed while a connection has nothing buffered: idle keep-alive
  // connections (thousands per gateway) then hold only the SSL object itself.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // No read-ahead: a 64 KiB read-ahead buffer saved read syscalls but libssl then moves partial
  // records to the front of its buffer; CPU per request measured the same, instructions per
  // request 30% higher (callgrind), and every busy connection held 64 KiB more.
  SSL_CTX_set_min_proto_version(ctx, min_version(tls.min_version));
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    throw std::runtime_error("cannot set TLS 1.2 cipher list: " + drain_openssl_errors());
  }

  load_chain_and_key(ctx, "tls.cert_file", tls.cert_file, "tls.key_file", tls.key_file);

  require_readable("tls.client_ca_file", tls.client_ca_file);
  if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
    fail("tls.client_ca_file", tls.client_ca_file,
         "cannot load CA certificates: " + drain_openssl_errors());
  }
  // Tell clients which CAs we accept, so one holding several certificates picks the right one.
  STACK_OF(X509_NAME)* ca_names = SSL_load_client_CA_file(tls.client_ca_file.c_str());
  if (ca_names == nullptr) {
    fail("tls.client_ca_file", tls.client_ca_file,
         "no CA certificate found: " + drain_openssl_errors());
  }
  SSL_CTX_set_client_CA_list(ctx, ca_names);  // takes ownership
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(ctx, kVerifyDepth);

  if (!tls.crl_file.empty()) load_crls(SSL_CTX_get_cert_store(ctx), tls.crl_file);

  // Tickets stay on: their keys are random per context, so a reload (new CRL) also invalidates
  // every ticket and revoked clients cannot resume their way past the new CRL.
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  // Resumption works through those (stateless) tickets; a server-side session cache would keep
  // every session, with its peer certificate, in memory for minutes after its connection ended
  // (as nginx's default "ssl_session_cache none" also avoids).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // One TLS 1.3 ticket per full handshake instead of OpenSSL's two: a remote-write client keeps
  // one ticket per server (Go's session cache does), and each ticket costs an encrypted copy of
  // the session with the client certificate: 12.1M -> 10.4M instructions per handshake (callgrind).
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_alpn_select_cb(ctx, &select_alpn,
                             const_cast<AlpnList*>(http2 ? &kAlpnServerH2 : &kAlpnServerHttp1));
  ERR_clear_error();
  return context;
}

std::shared_ptr<boost::asio::ssl::context> make_read_server_context(
    const config::ReadTlsConfig& tls, config::TlsVersion min) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_min_proto_version(ctx, min_version(min));
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    throw std::runtime_error("cannot set TLS 1.2 cipher list: " + drain_openssl_errors());
  }
  load_chain_and_key(ctx, "read.tls.cert_file", tls.cert_file, "read.tls.key_file", tls.key_file);
  if (!tls.client_ca_file.empty()) {
    require_readable("read.tls.client_ca_file", tls.client_ca_file);
    if (SSL_CTX_load_verify_locations(ctx, tls.client_ca_file.c_str(), nullptr) != 1) {
      fail("read.tls.client_ca_file", tls.client_ca_file,
           "cannot load CA certificates: " + drain_openssl_errors());
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_verify_depth(ctx, kVerifyDepth);
  }
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 1);
  SSL_CTX_set_alpn_select_cb(ctx, &select_alpn, const_cast<AlpnList*>(&kAlpnServerHttp1));
  ERR_clear_error();
  return context;
}

std::shared_ptr<boost::asio::ssl::context> make_upstream_context(
    const config::UpstreamTlsConfig& tls) {
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);

  if (tls.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      throw std::runtime_error("cannot load the system CA store: " + drain_openssl_errors());
    }
  } else {
    require_readable("tls.ca_file", tls.ca_file);
    if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
      fail("tls.ca_file", tls.ca_file, "cannot load CA certificates: " + drain_openssl_errors());
    }
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(ctx, kVerifyDepth);

  if (!tls.cert_file.empty()) {
    // A PEM holding both certificate and key is common; key_file may then be left empty.
    const std::string& key_file = tls.key_file.empty() ? tls.cert_file : tls.key_file;
    load_chain_and_key(ctx, "tls.cert_file", tls.cert_file, "tls.key_file", key_file);
  }
  // The upstream path speaks HTTP/1.1 only; saying so keeps h2-capable upstreams from guessing.
  SSL_CTX_set_alpn_protos(ctx, kAlpnHttp1, sizeof(kAlpnHttp1) - 1);
  ERR_clear_error();
  return context;
}

std::string classify_handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
  namespace error = boost::asio::error;
  if (ec == error::operation_aborted || ec == error::timed_out ||
      ec == boost::beast::error::timeout) {
    return "timeout";
  }
  // A certificate the verifier rejected explains the failure better than the resulting alert.
  if (ssl != nullptr) {
    long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) return classify_verify_result(result);
  }
  if (ec == error::eof || ec == ssl::error::stream_truncated) return "eof";
  if (ec.category() == error::get_ssl_category()) {
    // Asio stores ERR_get_error() as an int; widen without sign extension.
    auto packed = static_cast<unsigned long>(static_cast<unsigned int>(ec.value()));
    if (ERR_GET_LIB(packed) == ERR_LIB_SSL &&
        ERR_GET_REASON(packed) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
      return "no_certificate";
    }
    return "protocol";
  }
  if (ec.category() == ssl::error::get_stream_category()) return "protocol";
  return "other";
}

std::optional<std::chrono::system_clock::time_point> certificate_not_after(
    const std::string& pem_file) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(pem_file.c_str(), "r"), &BIO_free);
  if (!bio) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  std::tm tm{};
  if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  std::time_t seconds = timegm(&tm);  // notAfter is UTC
  return std::chrono::system_clock::from_time_t(seconds);
}

}  // namespace mla::tls
