// OpenSSL contexts for the mTLS listener and for https upstreams. Built at start-up (and on
// reload); an SSL_CTX is shared read-only by all workers once built. A reload builds a new context
// (new files, new CRL, new session-ticket keys) rather than mutating a live one.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "gateway/config/config.h"

namespace mla::tls {

// Server cert/key, client CA (verify peer, fail if no cert), optional CRL (checked for the leaf),
// min_version, ALPN http/1.1 (and h2 first when http2). Throws std::runtime_error naming the file
// and the OpenSSL reason.
std::shared_ptr<boost::asio::ssl::context> make_server_context(const config::TlsConfig& tls,
                                                               bool http2);

// The read listener's context (read.tls): server cert/key; with client_ca_file, client
// certificates are required and verified against it; min_version from tls.min_version; ALPN
// http/1.1. Throws like make_server_context.
std::shared_ptr<boost::asio::ssl::context> make_read_server_context(
    const config::ReadTlsConfig& tls, config::TlsVersion min_version);

// Client context for an https upstream: CA (or system default), optional client cert/key. SNI and
// host-name checks are per connection (SSL_set_tlsext_host_name / SSL_set1_host by the caller).
std::shared_ptr<boost::asio::ssl::context> make_upstream_context(
    const config::UpstreamTlsConfig& tls);

// Reason label for tls_handshake_failures_total: "no_certificate", "unknown_ca", "expired",
// "revoked", "bad_certificate", "protocol", "timeout", "eof" or "other". `ssl` may be null.
std::string classify_handshake_failure(SSL* ssl, const boost::system::error_code& ec);

// notAfter of the first certificate in a PEM file (for certificate_expiry_timestamp_seconds);
// nullopt if the file cannot be read or holds no certificate.
std::optional<std::chrono::system_clock::time_point> certificate_not_after(
    const std::string& pem_file);

}  // namespace mla::tls
