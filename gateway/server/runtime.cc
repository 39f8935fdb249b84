#include "gateway/server/runtime.h"

#include "gateway/tls/file_fingerprint.h"
#include "gateway/tls/tls_context.h"

namespace mla::server {

std::shared_ptr<const Runtime> build_runtime(config::Config config) {
  auto runtime = std::make_shared<Runtime>();
  runtime->files_fingerprint = tls::files_fingerprint(tls::tls_material_files(config));
  runtime->tenants = std::make_shared<tenant::TenantMapper>(config.tenant);
  runtime->server_tls = tls::make_server_context(config.tls, config.server.http2);
  if (config.read.listen && !config.read.tls.cert_file.empty()) {
    runtime->read_tls = tls::make_read_server_context(config.read.tls, config.tls.min_version);
  }
  for (const auto& [name, upstream] : config.upstreams) {
    if (upstream.use_tls) runtime->upstream_tls[name] = tls::make_upstream_context(upstream.tls);
  }
  runtime->certificate_expiry = tls::read_certificate_expiry(config);
  runtime->config = std::make_shared<const config::Config>(std::move(config));
  return runtime;
}

}  // namespace mla::server
