// Client certificates minted in memory at start-up for --tenants N: EC P-256 keys,
// CN=tenant-00001.., signed by the given CA, valid from an hour ago for a week. Nothing is
// written to disk.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

namespace mla::bench {

struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

struct TenantCert {
  X509Ptr cert;
  EvpPkeyPtr key;
};

// "tenant-00001" for index 0: the CN (and, with tenant.source subject_cn, the tenant) of cert i.
std::string tenant_name(std::size_t index);

// Mints `count` certificates signed by the CA in `ca_cert_file` / `ca_key_file` (PEM). On failure
// returns an empty vector and sets `error`.
std::vector<TenantCert> mint_tenant_certs(const std::string& ca_cert_file,
                                          const std::string& ca_key_file, std::size_t count,
                                          std::string& error);

}  // namespace mla::bench
