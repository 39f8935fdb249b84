// One A + AAAA lookup of a name with c-ares, for limits.replicas_from_dns. Blocks the calling
// thread (the replica resolver's own, never a worker's) for at most kDnsLookupDeadline, and returns
// early once `cancel` is set.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <vector>

namespace mla::server {

// Per query: c-ares waits kDnsTryTimeout for an answer and asks kDnsTries times per server.
inline constexpr std::chrono::milliseconds kDnsTryTimeout{1000};
inline constexpr int kDnsTries = 2;
// The whole lookup (both families, every server and search domain) is cancelled after this.
inline constexpr std::chrono::milliseconds kDnsLookupDeadline{5000};

struct DnsAnswer {
  std::string error;              // "" = success: at least one address
  std::vector<std::string> ipv4;  // text form, as returned (may repeat)
  std::vector<std::string> ipv6;
};

// `server` is "" (the system resolver, /etc/resolv.conf) or "ip:port" / "[ipv6]:port". DNS only:
// /etc/hosts is not consulted. Search domains and ndots apply as in resolv.conf.
DnsAnswer lookup_addresses(const std::string& name, const std::string& server,
                           const std::atomic<bool>& cancel);

}  // namespace mla::server
