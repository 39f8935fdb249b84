// In-process test PKI (OpenSSL 3 API, EC P-256): a CA, leaf certificates it signs and CRLs, all
// written as PEM files into a temporary directory. No openssl CLI, no network. Not thread-safe:
// one TestCa per test.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace mla::testing {

struct X509Deleter {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // path()/name as a string, for config fields.
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `contents` to `path` (overwriting); throws std::runtime_error on failure.
void write_file(const std::string& path, const std::string& contents);

// Aggregate for designated initializers: {.common_name = "x", .dns_names = {"a"}}. The `{}`
// initializers keep GCC's -Wmissing-field-initializers quiet about omitted fields.
struct CertOptions {
  std::string common_name{};                        // empty = no CN in the subject
  std::vector<std::string> organizational_units{};  // each becomes one OU entry, in order
  std::vector<std::string> dns_names{};             // SAN DNS, in order; may hold NUL bytes
  std::vector<std::string> uris{};                  // SAN URI, in order
  // Validity relative to now; e.g. {-48h, -24h} gives an expired certificate.
  std::chrono::seconds not_before{-std::chrono::hours(1)};
  std::chrono::seconds not_after{std::chrono::hours(24)};
  bool is_server = false;  // extendedKeyUsage serverAuth instead of clientAuth
};

struct IssuedCert {
  std::string cert_file;  // PEM, the leaf only
  std::string key_file;   // PEM, PKCS#8, unencrypted
  X509Ptr cert;
  EvpPkeyPtr key;
  long serial = 0;
};

class TestCa {
 public:
  // Creates the CA key and self-signed certificate in `dir` as <name>.crt / <name>.key. Two CAs in
  // one test need different names: a same-named CA would look like the issuer to the verifier.
  explicit TestCa(const std::filesystem::path& dir, std::string name = "mla-test-ca");
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  // Issues a leaf with the next serial; files are <name>-<serial>.crt/.key in the CA's dir.
  IssuedCert issue(const CertOptions& options);
  // Writes a CRL signed by this CA that revokes `serials`; returns its path (<name>.crl unless
  // `file_name` is given).
  std::string write_crl(const std::vector<long>& serials, const std::string& file_name = "");

  const std::string& cert_file() const { return cert_file_; }
  const std::string& key_file() const { return key_file_; }
  X509* cert() const { return cert_.get(); }

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::string cert_file_;
  std::string key_file_;
  X509Ptr cert_;
  EvpPkeyPtr key_;
  long next_serial_ = 2;  // 1 is the CA itself
};

}  // namespace mla::testing
