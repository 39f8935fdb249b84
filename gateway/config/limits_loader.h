// YAML `limits` section (DESIGN.md §3) -> ratelimit::LimitsConfig: keys, types and value syntax
// (including the replicas_from_dns name and the replicas_dns_server address). Ranges (replicas,
// statuses, the DNS interval) and override tenant IDs are checked by the validator.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "gateway/config/validator.h"
#include "gateway/ratelimit/limits_config.h"

namespace mla::config {

// Reads the map at `path` into `out`; absent keys keep `out`'s values. Each override starts from a
// copy of the parsed defaults and applies only the keys it gives. Records every key's location in
// `where`; throws ConfigError naming the key path and line:column.
void read_limits(SourceMap& where, const YAML::Node& node, const std::string& path,
                 ratelimit::LimitsConfig& out);

}  // namespace mla::config
