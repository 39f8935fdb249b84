#include "bench/loadgen/tenant_certs.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>

namespace mla::bench {
namespace {

// Valid from an hour ago (never "not yet valid" to a verifier) for a week.
constexpr long kBackdateSeconds = 3600;
constexpr long kValidSeconds = 7L * 24 * 3600;

std::string openssl_errors() {
  std::string text;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text.empty() ? "unknown OpenSSL error" : text;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

bool add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

X509Ptr mint_one(X509* ca_cert, EVP_PKEY* ca_key, EVP_PKEY* key, std::size_t index) {
  X509Ptr cert(X509_new());
  if (!cert) return nullptr;
  const std::string cn = tenant_name(index);
  X509_NAME* name = X509_get_subject_name(cert.get());
  bool ok = X509_set_version(cert.get(), 2) == 1 &&
            ASN1_INTEGER_set_int64(X509_get_serialNumber(cert.get()),
                                   static_cast<std::int64_t>(index) + 1) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidSeconds) != nullptr &&
            X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>("mla-loadgen"), -1,
                                       -1, 0) == 1 &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                       0) == 1 &&
            X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert)) == 1 &&
            X509_set_pubkey(cert.get(), key) == 1 &&
            add_extension(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE") &&
            add_extension(cert.get(), ca_cert, NID_key_usage, "critical,digitalSignature") &&
            add_extension(cert.get(), ca_cert, NID_ext_key_usage, "clientAuth") &&
            add_extension(cert.get(), ca_cert, NID_authority_key_identifier, "keyid") &&
            X509_sign(cert.get(), ca_key, EVP_sha256()) > 0;
  return ok ? std::move(cert) : nullptr;
}

}  // namespace

std::string tenant_name(std::size_t index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "tenant-%05zu", index + 1);
  return buf;
}

std::vector<TenantCert> mint_tenant_certs(const std::string& ca_cert_file,
                                          const std::string& ca_key_file, std::size_t count,
                                          std::string& error) {
  BioPtr cert_bio(BIO_new_file(ca_cert_file.c_str(), "r"));
  X509Ptr ca_cert(cert_bio ? PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)
                           : nullptr);
  if (!ca_cert) {
    error = "cannot read CA certificate " + ca_cert_file + ": " + openssl_errors();
    return {};
  }
  BioPtr key_bio(BIO_new_file(ca_key_file.c_str(), "r"));
  EvpPkeyPtr ca_key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr)
                            : nullptr);
  if (!ca_key) {
    error = "cannot read CA key " + ca_key_file + ": " + openssl_errors();
    return {};
  }
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    error = "CA key " + ca_key_file + " does not match " + ca_cert_file;
    return {};
  }
  std::vector<TenantCert> certs;
  certs.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    X509Ptr cert = key ? mint_one(ca_cert.get(), ca_key.get(), key.get(), i) : nullptr;
    if (!cert) {
      error = "minting " + tenant_name(i) + ": " + openssl_errors();
      return {};
    }
    certs.push_back({std::move(cert), std::move(key)});
  }
  return certs;
}

}  // namespace mla::bench
