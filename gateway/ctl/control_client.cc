#include "gateway/ctl/control_client.h"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/use_future.hpp>
#include <cerrno>

#include "gateway/common/asio.h"

namespace mla::ctl {
namespace {

using stream_protocol = asio::local::stream_protocol;
using UnixStream = beast::basic_stream<stream_protocol>;

// The tenant list grows with the number of tenants (~1 KB each); far above any real list, and
// still a bound on what a confused peer can make us buffer.
constexpr std::uint64_t kMaxAnswerBytes = 64 << 20;

std::string seconds_text(std::chrono::milliseconds timeout) {
  return fmt::format("{:g}s", static_cast<double>(timeout.count()) / 1000.0);
}

// What a person can do about a failed connect.
std::string connect_hint(const error_code& ec) {
  if (ec == asio::error::access_denied) {
    return " (the control socket is mode 0600: run as the gateway's user)";
  }
  if (ec == asio::error::connection_refused || ec == asio::error::not_found ||
      ec == boost::system::errc::no_such_file_or_directory) {
    return " (is mla-gateway running with admin.socket set?)";
  }
  return "";
}

awaitable<ControlAnswer> exchange(UnixStream& stream, stream_protocol::endpoint endpoint,
                                  const std::string& socket_path, const ControlRequest& request,
                                  std::chrono::milliseconds timeout) {
  // expires_after once: the same time point bounds connect, write and read together.
  stream.expires_after(timeout);
  const auto timed_out = [&] {
    return UnreachableError(
        fmt::format("no answer from {} within {} (--timeout)", socket_path, seconds_text(timeout)));
  };

  auto [cec] = co_await stream.async_connect(endpoint, kUseTuple);
  if (cec == beast::error::timeout) throw timed_out();
  if (cec) {
    throw UnreachableError(
        fmt::format("cannot connect to {}: {}{}", socket_path, cec.message(), connect_hint(cec)));
  }

  http::request<http::string_body> out{http::string_to_verb(request.method), request.target, 11};
  out.set(http::field::host, "localhost");
  out.set(http::field::user_agent, "mla-gatewayctl/" MLA_VERSION);
  out.set(http::field::accept, "application/json, text/plain");
  if (!request.body.empty()) out.set(http::field::content_type, "application/json");
  out.body() = request.body;
  out.keep_alive(false);
  out.prepare_payload();
  auto [wec, wn] = co_await http::async_write(stream, out, kUseTuple);
  if (wec == beast::error::timeout) throw timed_out();
  if (wec) {
    throw UnreachableError(fmt::format("cannot send to {}: {}", socket_path, wec.message()));
  }

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxAnswerBytes);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, kUseTuple);
  if (rec == beast::error::timeout) throw timed_out();
  if (rec) {
    throw UnreachableError(fmt::format("malformed answer from {}: {}", socket_path, rec.message()));
  }
  auto& response = parser.get();
  ControlAnswer answer;
  answer.status = static_cast<int>(response.result_int());
  answer.reason = std::string(response.reason());
  answer.content_type = std::string(response[http::field::content_type]);
  answer.body = std::move(response.body());
  error_code ignored;
  stream.socket().shutdown(stream_protocol::socket::shutdown_both, ignored);
  co_return answer;
}

}  // namespace

ControlAnswer call_gateway(const std::string& socket_path, const ControlRequest& request,
                           std::chrono::milliseconds timeout) {
  stream_protocol::endpoint endpoint;
  try {
    endpoint = stream_protocol::endpoint(socket_path);  // throws when longer than sun_path
  } catch (const boost::system::system_error& e) {
    throw UnreachableError(
        fmt::format("cannot connect to {}: {}", socket_path, e.code().message()));
  }
  asio::io_context io;
  UnixStream stream(io);
  auto result = asio::co_spawn(io, exchange(stream, endpoint, socket_path, request, timeout),
                               asio::use_future);
  io.run();
  return result.get();  // rethrows the UnreachableError
}

}  // namespace mla::ctl
