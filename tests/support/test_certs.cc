#include "tests/support/test_certs.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace mla::testing {
namespace {

std::string openssl_errors() {
  std::string text;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("test_certs: " + what + ": " + openssl_errors());
}

EvpPkeyPtr generate_key() {
  EvpPkeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key generation");
  return key;
}

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

BioPtr open_for_write(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"), &BIO_free);
  check(bio != nullptr, "open " + path);
  return bio;
}

void write_cert(const std::string& path, X509* cert) {
  BioPtr bio = open_for_write(path);
  check(PEM_write_bio_X509(bio.get(), cert) == 1, "write " + path);
}

void write_key(const std::string& path, EVP_PKEY* key) {
  BioPtr bio = open_for_write(path);
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1,
        "write " + path);
}

// Adds an extension given in openssl.cnf syntax, e.g. "critical,CA:TRUE".
void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, std::string("extension ") + OBJ_nid2sn(nid));
  int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(added == 1, "add extension");
}

void add_name_entry(X509_NAME* name, int nid, const std::string& value) {
  // Explicit length so tests can embed NUL bytes.
  check(X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.data()),
                                   static_cast<int>(value.size()), -1, 0) == 1,
        "subject entry");
}

// SAN built by hand (not from a config string) so values may hold commas or NUL bytes.
void add_san(X509* cert, const std::vector<std::string>& dns,
             const std::vector<std::string>& uris) {
  if (dns.empty() && uris.empty()) return;
  GENERAL_NAMES* names = sk_GENERAL_NAME_new_null();
  auto push = [&](int type, const std::string& value) {
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    ASN1_STRING_set(ia5, value.data(), static_cast<int>(value.size()));
    GENERAL_NAME* name = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(name, type, ia5);
    sk_GENERAL_NAME_push(names, name);
  };
  for (const auto& value : dns) push(GEN_DNS, value);
  for (const auto& value : uris) push(GEN_URI, value);
  int added = X509_add1_ext_i2d(cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT);
  GENERAL_NAMES_free(names);
  check(added == 1, "subjectAltName");
}

X509Ptr new_cert(long serial, std::chrono::seconds not_before, std::chrono::seconds not_after,
                 EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(not_after.count()));
  check(X509_set_pubkey(cert.get(), key) == 1, "set public key");
  return cert;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/mla-test-XXXXXX";
  if (mkdtemp(templ.data()) == nullptr) {
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + templ);
  }
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out) throw std::runtime_error("cannot write " + path);
}

TestCa::TestCa(const std::filesystem::path& dir, std::string name)
    : dir_(dir),
      name_(std::move(name)),
      cert_file_((dir_ / (name_ + ".crt")).string()),
      key_file_((dir_ / (name_ + ".key")).string()),
      key_(generate_key()) {
  cert_ = new_cert(1, -std::chrono::hours(24), std::chrono::hours(24 * 365), key_.get());
  X509_NAME* subject = X509_get_subject_name(cert_.get());
  add_name_entry(subject, NID_organizationName, "mla-gateway tests");
  add_name_entry(subject, NID_commonName, name_);
  check(X509_set_issuer_name(cert_.get(), subject) == 1, "issuer name");
  add_ext(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(cert_.get(), cert_.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(cert_.get(), key_.get(), EVP_sha256()) > 0, "sign CA");
  write_cert(cert_file_, cert_.get());
  write_key(key_file_, key_.get());
}

TestCa::~TestCa() = default;

IssuedCert TestCa::issue(const CertOptions& options) {
  IssuedCert out;
  out.serial = next_serial_++;
  out.key = generate_key();
  out.cert = new_cert(out.serial, options.not_before, options.not_after, out.key.get());
  X509* cert = out.cert.get();

  X509_NAME* subject = X509_get_subject_name(cert);
  add_name_entry(subject, NID_organizationName, "mla-gateway tests");
  for (const auto& ou : options.organizational_units) {
    add_name_entry(subject, NID_organizationalUnitName, ou);
  }
  if (!options.common_name.empty()) add_name_entry(subject, NID_commonName, options.common_name);
  check(X509_set_issuer_name(cert, X509_get_subject_name(cert_.get())) == 1, "issuer name");

  add_ext(cert, cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert, cert_.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(cert, cert_.get(), NID_ext_key_usage, options.is_server ? "serverAuth" : "clientAuth");
  add_ext(cert, cert_.get(), NID_subject_key_identifier, "hash");
  add_ext(cert, cert_.get(), NID_authority_key_identifier, "keyid:always");
  add_san(cert, options.dns_names, options.uris);
  check(X509_sign(cert, key_.get(), EVP_sha256()) > 0, "sign leaf");

  std::string stem = name_ + "-" + std::to_string(out.serial);
  out.cert_file = (dir_ / (stem + ".crt")).string();
  out.key_file = (dir_ / (stem + ".key")).string();
  write_cert(out.cert_file, cert);
  write_key(out.key_file, out.key.get());
  return out;
}

std::string TestCa::write_crl(const std::vector<long>& serials, const std::string& file_name) {
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), &X509_CRL_free);
  check(crl != nullptr, "X509_CRL_new");
  X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(cert_.get()));
  using Asn1TimePtr = std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)>;
  Asn1TimePtr last_update(X509_gmtime_adj(nullptr, -3600), &ASN1_TIME_free);
  Asn1TimePtr next_update(X509_gmtime_adj(nullptr, 24L * 3600), &ASN1_TIME_free);
  X509_CRL_set1_lastUpdate(crl.get(), last_update.get());
  X509_CRL_set1_nextUpdate(crl.get(), next_update.get());
  for (long serial : serials) {
    X509_REVOKED* revoked = X509_REVOKED_new();
    ASN1_INTEGER* number = ASN1_INTEGER_new();
    ASN1_INTEGER_set(number, serial);
    X509_REVOKED_set_serialNumber(revoked, number);  // copies
    ASN1_INTEGER_free(number);
    X509_REVOKED_set_revocationDate(revoked, last_update.get());  // copies
    X509_CRL_add0_revoked(crl.get(), revoked);                    // takes ownership
  }
  X509_CRL_sort(crl.get());
  check(X509_CRL_sign(crl.get(), key_.get(), EVP_sha256()) > 0, "sign CRL");

  std::string path = (dir_ / (file_name.empty() ? name_ + ".crl" : file_name)).string();
  BioPtr bio = open_for_write(path);
  check(PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1, "write " + path);
  return path;
}

}  // namespace mla::testing
