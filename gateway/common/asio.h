// Short names for the Asio/Beast types used across the I/O code.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace mla {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;

// Completion token that returns error codes as part of a tuple instead of throwing.
inline constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

template <typename T>
using awaitable = asio::awaitable<T>;

}  // namespace mla
