// Go/Prometheus-style durations ("30s", "5m", "1h30m", "250ms") and byte sizes ("16MiB", "4MB",
// "512KiB", "1024"). Pure functions; std::nullopt for malformed input.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "gateway/config/config.h"

namespace mla::common {

std::optional<config::Duration> parse_duration(std::string_view text);
std::optional<std::uint64_t> parse_size(std::string_view text);

}  // namespace mla::common
