// Which files a config reads TLS material from, and the expiry of the certificates among them:
// the certificate watcher polls the former (file_fingerprint.h), /metrics and the status API
// report the latter as loaded (certificate_expiry_timestamp_seconds{file}).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "gateway/config/config.h"

namespace mla::tls {

// Certificate, key, client CA and CRL files of the listener and of every https upstream (empty
// names included: the fingerprint skips them).
std::vector<std::string> tls_material_files(const config::Config& config);

// notAfter of the first certificate of each certificate file (server certificate, client CA,
// upstream CA and client certificates), read now; files that cannot be read are left out.
using CertificateExpiry = std::map<std::string, std::chrono::system_clock::time_point>;
CertificateExpiry read_certificate_expiry(const config::Config& config);

}  // namespace mla::tls
