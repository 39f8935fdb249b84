// Everything built from one config snapshot: the config itself, the tenant mapper and the TLS
// contexts. Immutable once built and shared read-only by all workers; a reload builds a new
// Runtime and swaps the pointer, so in-flight requests finish on the snapshot they started with.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "gateway/common/asio.h"
#include "gateway/config/config.h"
#include "gateway/tenant/tenant_mapper.h"
#include "gateway/tls/tls_files.h"

namespace mla::server {

struct Runtime : std::enable_shared_from_this<Runtime> {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const tenant::TenantMapper> tenants;
  std::shared_ptr<asio::ssl::context> server_tls;
  std::shared_ptr<asio::ssl::context> read_tls;  // null: the read listener is plain HTTP
  std::map<std::string, std::shared_ptr<asio::ssl::context>> upstream_tls;  // https upstreams only
  // Of the TLS files, taken before they were read: a change while they were being read is seen
  // at the next check rather than lost.
  std::string files_fingerprint;
  tls::CertificateExpiry certificate_expiry;  // of the certificates as loaded here
};

// Throws (std::runtime_error / std::invalid_argument) with a one-line reason.
std::shared_ptr<const Runtime> build_runtime(config::Config config);

}  // namespace mla::server
