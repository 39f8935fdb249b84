// Serves one accepted TCP connection: TLS handshake (with deadline), client certificate ->
// tenant (once per connection), then the HTTP/1.1 session. Runs on the accepting worker.
#pragma once

#include "gateway/common/asio.h"

namespace mla::server {

class Worker;

awaitable<void> serve_connection(Worker& worker, tcp::socket socket);

}  // namespace mla::server
