#include "gateway/ratelimit/replica_count.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace mla::ratelimit {

std::uint32_t effective_replicas(std::uint32_t configured, std::uint32_t from_dns) {
  return std::max<std::uint32_t>(from_dns != 0 ? from_dns : configured, 1);
}

namespace {

std::size_t distinct(std::vector<std::string>& addresses) {
  std::sort(addresses.begin(), addresses.end());
  return static_cast<std::size_t>(std::unique(addresses.begin(), addresses.end()) -
                                  addresses.begin());
}

}  // namespace

std::uint32_t count_replicas(std::vector<std::string> ipv4, std::vector<std::string> ipv6) {
  const std::size_t replicas = std::max(distinct(ipv4), distinct(ipv6));
  return static_cast<std::uint32_t>(
      std::clamp<std::size_t>(replicas, 1, std::numeric_limits<std::uint32_t>::max()));
}

void DnsReplicaCount::reset(std::string name) {
  name_ = std::move(name);
  count_ = 0;
  failures_in_a_row_ = 0;
}

void DnsReplicaCount::succeeded(std::uint32_t replicas) {
  count_ = std::max<std::uint32_t>(replicas, 1);
  failures_in_a_row_ = 0;
}

void DnsReplicaCount::failed() { ++failures_in_a_row_; }

}  // namespace mla::ratelimit
