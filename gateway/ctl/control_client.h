// One HTTP/1.1 exchange with mla-gateway's admin API over its Unix control socket
// (DESIGN.md §6, admin.socket): connect, send, read the whole answer, close. One deadline covers
// all three steps, so a hung gateway cannot hang a script.
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>

namespace mla::ctl {

struct ControlRequest {
  std::string method;  // "GET" or "POST"
  std::string target;  // path, already percent-encoded
  std::string body;    // sent as application/json when not empty
};

struct ControlAnswer {
  int status = 0;
  std::string reason;  // the status line's reason phrase
  std::string content_type;
  std::string body;
};

// The gateway could not be asked or did not answer in HTTP: the socket is missing or refuses
// connections, the deadline passed, or the answer was malformed or too large. what() is one line
// that names the socket path.
class UnreachableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Answers of any status are returned; only transport failures throw (UnreachableError).
// Blocking; runs its own io_context on the calling thread.
ControlAnswer call_gateway(const std::string& socket_path, const ControlRequest& request,
                           std::chrono::milliseconds timeout);

}  // namespace mla::ctl
