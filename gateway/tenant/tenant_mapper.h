// Client certificate -> tenant ID (DESIGN.md §3 `tenant`, §5 tenant-ID rules). Pure policy: no
// sockets. Built once per config snapshot; map() is const and thread-safe (RE2 is thread-safe).
#pragma once

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config/config.h"

namespace re2 {
class RE2;
}

namespace mla::tenant {

struct TenantResult {
  std::string tenant;  // non-empty on success
  std::string error;   // one-line reason on failure, e.g. "certificate has no subject CN"
  bool ok() const { return error.empty(); }
};

// Cortex/Loki tenant-ID rules: 1-150 chars of [a-zA-Z0-9!-_.*'()], not "." or "..".
bool is_valid_tenant_id(std::string_view id);

// Names a route's `clients` list is matched against: subject CN and every SAN DNS name.
std::vector<std::string> certificate_client_names(X509* cert);

class TenantMapper {
 public:
  // Throws std::invalid_argument if `pattern` does not compile or lacks exactly one capture group.
  explicit TenantMapper(const config::TenantConfig& config);
  ~TenantMapper();
  TenantMapper(const TenantMapper&) = delete;
  TenantMapper& operator=(const TenantMapper&) = delete;

  // Tenant for a verified peer certificate (may be null only with source fixed). With several CNs
  // the last one is used (as Go's crypto/x509 does); OUs, SAN DNS names and SAN URIs are each
  // tried in certificate order. On failure the error describes the first candidate. Source fixed
  // yields tenant.fixed (ID rules and allow-list apply, the pattern does not).
  TenantResult map(X509* cert) const;
  // Applies pattern, ID rules and the allow-list to one source value (each value, in order, for
  // multi-valued sources such as SAN DNS: the first that yields a valid tenant wins).
  // The pattern is matched unanchored (RE2::PartialMatch, like an nginx `map` regex): anchor it
  // with ^...$ to require a whole-value match. Its one capture group is the tenant.
  TenantResult map_value(std::string_view value) const;

 private:
  // map_value() with `label` ("subject CN", "SAN DNS name", ...) naming the value in errors.
  TenantResult map_labeled(std::string_view label, std::string_view value) const;
  TenantResult check_tenant(std::string tenant) const;

  config::TenantConfig config_;      // immutable copy
  std::unique_ptr<re2::RE2> regex_;  // null when no pattern
};

}  // namespace mla::tenant
