// The body type of a request on its way to the upstream.
#pragma once

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/common/asio.h"

namespace mla::proxy {

// An allocator whose value-less construct() default-initialises: resizing a body buffer leaves
// its bytes as they are (the read right after overwrites them) instead of zeroing up to
// max_request_body_bytes on every request, as std::string::resize does.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <typename U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}  // NOLINT: as std::allocator

  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using RequestBody = http::vector_body<char, DefaultInitAllocator<char>>;
using UpstreamRequest = http::request<RequestBody>;

inline std::string_view body_view(const UpstreamRequest& request) {
  return {request.body().data(), request.body().size()};
}

}  // namespace mla::proxy
