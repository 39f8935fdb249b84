#include "gateway/server/dns_lookup.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string>
#include <utility>

namespace mla::server {
namespace {

// ares_library_init() once per process (it is not thread-safe itself); never cleaned up, as
// other threads may still be resolving at exit.
int init_library() {
  static const int status = ares_library_init(ARES_LIB_INIT_ALL);
  return status;
}

DnsAnswer failure(std::string error) {
  DnsAnswer answer;
  answer.error = std::move(error);
  return answer;
}

struct Pending {
  bool done = false;
  DnsAnswer answer;
};

void on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* result) {
  auto* pending = static_cast<Pending*>(arg);
  pending->done = true;
  if (status != ARES_SUCCESS) {
    pending->answer.error = ares_strerror(status);
    if (result != nullptr) ares_freeaddrinfo(result);
    return;
  }
  for (const ares_addrinfo_node* node = result != nullptr ? result->nodes : nullptr;
       node != nullptr; node = node->ai_next) {
    std::array<char, INET6_ADDRSTRLEN> text{};
    if (node->ai_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(node->ai_addr);
      if (inet_ntop(AF_INET, &in->sin_addr, text.data(), text.size())) {
        pending->answer.ipv4.emplace_back(text.data());
      }
    } else if (node->ai_family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(node->ai_addr);
      if (inet_ntop(AF_INET6, &in6->sin6_addr, text.data(), text.size())) {
        pending->answer.ipv6.emplace_back(text.data());
      }
    }
  }
  if (result != nullptr) ares_freeaddrinfo(result);
  if (pending->answer.ipv4.empty() && pending->answer.ipv6.empty()) {
    pending->answer.error = "no addresses";
  }
}

// Owns a channel; destroying it ends whatever is still pending (callback with EDESTRUCTION).
class Channel {
 public:
  Channel() = default;
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  ~Channel() {
    if (channel_ != nullptr) ares_destroy(channel_);
  }
  ares_channel* out() { return &channel_; }
  ares_channel get() const { return channel_; }

 private:
  ares_channel channel_ = nullptr;
};

// Waits (poll) for the channel's sockets or its next timeout, at most `max`, and lets c-ares
// process what happened.
void process_once(ares_channel channel, std::chrono::milliseconds max) {
  std::array<ares_socket_t, ARES_GETSOCK_MAXNUM> sockets{};
  const int bits = ares_getsock(channel, sockets.data(), ARES_GETSOCK_MAXNUM);
  std::array<pollfd, ARES_GETSOCK_MAXNUM> fds{};
  nfds_t count = 0;
  for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
    const bool readable = ARES_GETSOCK_READABLE(bits, i);
    const bool writable = ARES_GETSOCK_WRITABLE(bits, i);
    if (!readable && !writable) continue;
    fds[count++] = pollfd{
        sockets[i], static_cast<short>((readable ? POLLIN : 0) | (writable ? POLLOUT : 0)), 0};
  }
  timeval max_tv{static_cast<time_t>(max.count() / 1000),
                 static_cast<suseconds_t>(max.count() % 1000 * 1000)};
  timeval tv{};
  ares_timeout(channel, &max_tv, &tv);
  const int timeout_ms = static_cast<int>(tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000);
  const int ready = ::poll(fds.data(), count, timeout_ms);
  if (ready < 0 && errno == EINTR) return;
  if (ready <= 0) {
    ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
    return;
  }
  for (nfds_t i = 0; i < count; ++i) {
    const short events = fds[i].revents;
    if (events == 0) continue;
    const bool read = (events & (POLLIN | POLLERR | POLLHUP)) != 0;
    const bool write = (events & POLLOUT) != 0;
    ares_process_fd(channel, read ? fds[i].fd : ARES_SOCKET_BAD,
                    write ? fds[i].fd : ARES_SOCKET_BAD);
  }
}

}  // namespace

DnsAnswer lookup_addresses(const std::string& name, const std::string& server,
                           const std::atomic<bool>& cancel) {
  if (const int status = init_library(); status != ARES_SUCCESS) {
    return failure(std::string("c-ares init: ") + ares_strerror(status));
  }
  // Declared before the channel: its destructor may still call on_answer.
  Pending pending;
  Channel channel;
  ares_options options{};
  options.timeout = static_cast<int>(kDnsTryTimeout.count());
  options.tries = kDnsTries;
  char dns_only[] = "b";
  options.lookups = dns_only;
  const int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  if (const int status = ares_init_options(channel.out(), &options, mask); status != ARES_SUCCESS) {
    return failure(std::string("c-ares channel: ") + ares_strerror(status));
  }
  if (!server.empty()) {
    if (const int status = ares_set_servers_ports_csv(channel.get(), server.c_str());
        status != ARES_SUCCESS) {
      return failure("DNS server " + server + ": " + ares_strerror(status));
    }
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_flags = ARES_AI_NOSORT;  // sorting would connect a UDP socket to every address
  ares_getaddrinfo(channel.get(), name.c_str(), nullptr, &hints, on_answer, &pending);

  // Short slices, so `cancel` is seen within ~100 ms.
  constexpr std::chrono::milliseconds kSlice{100};
  const auto deadline = std::chrono::steady_clock::now() + kDnsLookupDeadline;
  while (!pending.done) {
    if (cancel.load(std::memory_order_relaxed)) {
      ares_cancel(channel.get());
      if (!pending.done) return failure("cancelled");
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ares_cancel(channel.get());
      return failure("timed out");
    }
    process_once(channel.get(), kSlice);
  }
  return pending.answer;
}

}  // namespace mla::server
