// Serves one accepted connection of the read listener: TLS handshake when read.tls is set (and
// the client certificate check when read.tls.client_ca_file is), then the read session.
#pragma once

#include "gateway/common/asio.h"

namespace mla::server {
class Worker;
}

namespace mla::read {

awaitable<void> serve_read_connection(server::Worker& worker, tcp::socket socket);

}  // namespace mla::read
