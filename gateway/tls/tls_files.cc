#include "gateway/tls/tls_files.h"

#include <set>

#include "gateway/tls/tls_context.h"

namespace mla::tls {

std::vector<std::string> tls_material_files(const config::Config& config) {
  std::vector<std::string> files = {config.tls.cert_file,          config.tls.key_file,
                                    config.tls.client_ca_file,     config.tls.crl_file,
                                    config.read.tls.cert_file,     config.read.tls.key_file,
                                    config.read.tls.client_ca_file};
  for (const auto& [name, upstream] : config.upstreams) {
    files.insert(files.end(),
                 {upstream.tls.ca_file, upstream.tls.cert_file, upstream.tls.key_file});
  }
  return files;
}

CertificateExpiry read_certificate_expiry(const config::Config& config) {
  std::set<std::string> files = {config.tls.cert_file, config.tls.client_ca_file,
                                 config.read.tls.cert_file, config.read.tls.client_ca_file};
  for (const auto& [name, upstream] : config.upstreams) {
    files.insert(upstream.tls.ca_file);
    files.insert(upstream.tls.cert_file);
  }
  CertificateExpiry expiry;
  for (const std::string& file : files) {
    if (file.empty()) continue;
    if (auto not_after = certificate_not_after(file)) expiry.emplace(file, *not_after);
  }
  return expiry;
}

}  // namespace mla::tls
