#include "gateway/ctl/control_client.h"

#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace mla::ctl {
namespace {

using namespace std::chrono_literals;
using stream_protocol = boost::asio::local::stream_protocol;

// A socket path in a fresh temporary directory (removed with the fixture).
struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ctl-test-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(dir); }
  std::string socket() const { return (dir / "control.sock").string(); }
};

// Accepts one connection on PATH, reads the request head, writes REPLY (nothing when empty),
// then holds the connection until the client closes it.
class OneShotServer {
 public:
  OneShotServer(const std::string& path, std::string reply)
      : acceptor_(io_, stream_protocol::endpoint(path)), reply_(std::move(reply)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    if (thread_.joinable()) thread_.join();
  }
  // The request head, once the client has closed the connection.
  std::string request() {
    thread_.join();
    return request_;
  }

 private:
  void serve() {
    stream_protocol::socket socket(io_);
    acceptor_.accept(socket);
    boost::system::error_code ec;
    std::string head;
    auto n = boost::asio::read_until(socket, boost::asio::dynamic_buffer(head), "\r\n\r\n", ec);
    request_ = head.substr(0, n);
    if (!reply_.empty()) boost::asio::write(socket, boost::asio::buffer(reply_), ec);
    char byte;
    socket.read_some(boost::asio::buffer(&byte, 1), ec);  // until the client closes
  }

  boost::asio::io_context io_;
  stream_protocol::acceptor acceptor_;
  std::string reply_;
  std::string request_;
  std::thread thread_;
};

TEST_CASE("call_gateway sends one HTTP/1.1 request and returns any status", "[ctl]") {
  TempDir tmp;
  OneShotServer server(tmp.socket(),
                       "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                       "Content-Length: 17\r\n\r\n{\"error\": \"bad\"}\n");
  auto answer = call_gateway(tmp.socket(), {"POST", "/api/v1/tenants/a%2Fb/disable", "{}"}, 5s);
  CHECK(answer.status == 400);
  CHECK(answer.reason == "Bad Request");
  CHECK(answer.content_type == "application/json");
  CHECK(answer.body == "{\"error\": \"bad\"}\n");
  auto request = server.request();
  CHECK_THAT(request, Catch::StartsWith("POST /api/v1/tenants/a%2Fb/disable HTTP/1.1\r\n"));
  CHECK_THAT(request, Catch::Contains("Content-Type: application/json\r\n"));
  CHECK_THAT(request, Catch::Contains("Content-Length: 2\r\n"));
}

TEST_CASE("call_gateway: a missing socket says so and hints at admin.socket", "[ctl]") {
  TempDir tmp;
  CHECK_THROWS_WITH(call_gateway(tmp.socket(), {"GET", "/api/v1/status", ""}, 5s),
                    "cannot connect to " + tmp.socket() +
                        ": No such file or directory (is mla-gateway running with admin.socket "
                        "set?)");
}

TEST_CASE("call_gateway: a socket path longer than sun_path is a connect error", "[ctl]") {
  std::string path = "/tmp/" + std::string(200, 'x') + ".sock";
  CHECK_THROWS_AS(call_gateway(path, {"GET", "/api/v1/status", ""}, 5s), UnreachableError);
}

TEST_CASE("call_gateway: a silent gateway runs into the deadline", "[ctl]") {
  TempDir tmp;
  OneShotServer server(tmp.socket(), "");
  auto start = std::chrono::steady_clock::now();
  CHECK_THROWS_WITH(call_gateway(tmp.socket(), {"GET", "/api/v1/status", ""}, 300ms),
                    "no answer from " + tmp.socket() + " within 0.3s (--timeout)");
  CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("call_gateway: an answer that is not HTTP is malformed", "[ctl]") {
  TempDir tmp;
  OneShotServer server(tmp.socket(), "SSH-2.0-OpenSSH_9.2\r\n\r\n");
  CHECK_THROWS_WITH(call_gateway(tmp.socket(), {"GET", "/api/v1/status", ""}, 5s),
                    Catch::StartsWith("malformed answer from " + tmp.socket() + ": "));
}

}  // namespace
}  // namespace mla::ctl
