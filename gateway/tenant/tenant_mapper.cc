#include "gateway/tenant/tenant_mapper.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <re2/re2.h>

#include <algorithm>
#include <stdexcept>

namespace mla::tenant {
namespace {

constexpr std::size_t kMaxTenantLength = 150;
// Values quoted in errors are cut here: errors end up in logs and 403 bodies.
constexpr std::size_t kMaxQuotedLength = 200;

// Quotes a certificate value for a one-line error: control and non-ASCII bytes become \xNN so a
// hostile certificate cannot forge log lines.
std::string quote(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < value.size() && i < kMaxQuotedLength; ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > kMaxQuotedLength) out += "...";
  out += '"';
  return out;
}

TenantResult failure(std::string error) { return {{}, std::move(error)}; }

// A certificate value that is either usable text or the reason it is not.
struct Candidate {
  std::string value;
  std::string error;  // non-empty: value unusable (embedded NUL, bad encoding)
};

using GeneralNames = std::unique_ptr<GENERAL_NAMES, void (*)(GENERAL_NAMES*)>;

GeneralNames subject_alt_names(X509* cert) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  return GeneralNames(names, [](GENERAL_NAMES* n) { GENERAL_NAMES_free(n); });
}

// Subject name entries of one NID in certificate order, converted to UTF-8 (CN/OU may be
// BMPString or UniversalString). Values with an embedded NUL are reported, never truncated.
std::vector<Candidate> subject_entries(X509* cert, int nid, std::string_view label) {
  std::vector<Candidate> out;
  const X509_NAME* name = X509_get_subject_name(cert);
  if (name == nullptr) return out;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char* utf8 = nullptr;
    int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) {
      out.push_back({{}, std::string(label) + " is not valid text"});
      continue;
    }
    std::string value(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
    OPENSSL_free(utf8);
    if (value.find('\0') != std::string::npos) {
      out.push_back({{}, std::string(label) + " " + quote(value) + " contains a NUL byte"});
    } else {
      out.push_back({std::move(value), {}});
    }
  }
  return out;
}

// SAN entries of one GENERAL_NAME type (GEN_DNS or GEN_URI; both IA5String) in certificate order.
std::vector<Candidate> san_entries(X509* cert, int type, std::string_view label) {
  std::vector<Candidate> out;
  GeneralNames names = subject_alt_names(cert);
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != type) continue;
    const ASN1_IA5STRING* ia5 =
        type == GEN_DNS ? name->d.dNSName : name->d.uniformResourceIdentifier;
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ia5)),
                      static_cast<std::size_t>(ASN1_STRING_length(ia5)));
    if (value.find('\0') != std::string::npos) {
      out.push_back({{}, std::string(label) + " " + quote(value) + " contains a NUL byte"});
    } else {
      out.push_back({std::move(value), {}});
    }
  }
  return out;
}

}  // namespace

bool is_valid_tenant_id(std::string_view id) {
  if (id.empty() || id.size() > kMaxTenantLength || id == "." || id == "..") return false;
  constexpr std::string_view kSpecial = "!-_.*'()";
  return std::all_of(id.begin(), id.end(), [&](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           kSpecial.find(c) != std::string_view::npos;
  });
}

std::vector<std::string> certificate_client_names(X509* cert) {
  std::vector<std::string> names;
  if (cert == nullptr) return names;
  // The same "last CN" rule as tenant mapping, so `clients` and tenant see the same name.
  auto cns = subject_entries(cert, NID_commonName, "subject CN");
  for (auto it = cns.rbegin(); it != cns.rend(); ++it) {
    if (it->error.empty()) {
      names.push_back(std::move(it->value));
      break;
    }
  }
  for (auto& dns : san_entries(cert, GEN_DNS, "SAN DNS name")) {
    if (dns.error.empty()) names.push_back(std::move(dns.value));
  }
  return names;
}

TenantMapper::TenantMapper(const config::TenantConfig& config) : config_(config) {
  if (config_.pattern.empty()) return;
  RE2::Options options;
  options.set_log_errors(false);
  regex_ = std::make_unique<RE2>(config_.pattern, options);
  if (!regex_->ok()) {
    throw std::invalid_argument("tenant.pattern: " + regex_->error());
  }
  if (regex_->NumberOfCapturingGroups() != 1) {
    throw std::invalid_argument("tenant.pattern must have exactly one capture group, has " +
                                std::to_string(regex_->NumberOfCapturingGroups()));
  }
}

TenantMapper::~TenantMapper() = default;

TenantResult TenantMapper::check_tenant(std::string tenant) const {
  if (!is_valid_tenant_id(tenant)) return failure("tenant ID " + quote(tenant) + " is invalid");
  if (!config_.allowed.empty() &&
      std::find(config_.allowed.begin(), config_.allowed.end(), tenant) == config_.allowed.end()) {
    return failure("tenant " + quote(tenant) + " is not in tenant.allowed");
  }
  return {std::move(tenant), {}};
}

TenantResult TenantMapper::map_labeled(std::string_view label, std::string_view value) const {
  if (!regex_) return check_tenant(std::string(value));
  std::string captured;
  if (!RE2::PartialMatch(value, *regex_, &captured)) {
    return failure(std::string(label) + " " + quote(value) + " does not match tenant.pattern");
  }
  return check_tenant(std::move(captured));
}

TenantResult TenantMapper::map_value(std::string_view value) const {
  return map_labeled("value", value);
}

TenantResult TenantMapper::map(X509* cert) const {
  if (config_.source == config::TenantSource::kFixed) return check_tenant(config_.fixed);
  if (cert == nullptr) return failure("no client certificate");

  std::string_view label;
  std::string_view plural;
  std::vector<Candidate> candidates;
  switch (config_.source) {
    case config::TenantSource::kSubjectCn:
      label = "subject CN";
      plural = "subject CN";
      candidates = subject_entries(cert, NID_commonName, label);
      // Only the last CN counts (see header); earlier ones are not tried.
      if (candidates.size() > 1) candidates.erase(candidates.begin(), candidates.end() - 1);
      break;
    case config::TenantSource::kSubjectOu:
      label = "subject OU";
      plural = "subject OU";
      candidates = subject_entries(cert, NID_organizationalUnitName, label);
      break;
    case config::TenantSource::kSanDns:
      label = "SAN DNS name";
      plural = "SAN DNS names";
      candidates = san_entries(cert, GEN_DNS, label);
      break;
    case config::TenantSource::kSanUri:
      label = "SAN URI";
      plural = "SAN URIs";
      candidates = san_entries(cert, GEN_URI, label);
      break;
    case config::TenantSource::kFixed: break;  // handled above
  }
  if (candidates.empty()) return failure("certificate has no " + std::string(plural));

  std::string first_error;
  for (const auto& candidate : candidates) {
    TenantResult result =
        candidate.error.empty() ? map_labeled(label, candidate.value) : failure(candidate.error);
    if (result.ok()) return result;
    if (first_error.empty()) first_error = std::move(result.error);
  }
  return failure(std::move(first_error));
}

}  // namespace mla::tenant
