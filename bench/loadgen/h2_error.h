// Failures of mla-loadgen's HTTP/2 client as error_codes, so they are counted and reported
// (first_errors) like socket and TLS errors.
#pragma once

#include <cstdint>

#include "gateway/common/asio.h"

namespace mla::bench {

enum class H2Error {
  kAlpnNotSelected = 1,  // the server selected no ALPN protocol, or one other than h2
  kNoStatus,             // a stream ended without a final :status
  kResponseTooLarge,     // response body over kMaxResponseBody
  kGoaway,               // the server sent GOAWAY: no new streams on this connection
};

error_code make_error(H2Error error);
// A stream the server closed with RST_STREAM (or GOAWAY) and HTTP/2 error code `http2_code`.
error_code stream_closed_error(std::uint32_t http2_code);
// A negative nghttp2 library error code (nghttp2_error), e.g. from nghttp2_session_mem_recv.
error_code nghttp2_library_error(int code);

// The server did not process the request (RFC 9113 8.7): REFUSED_STREAM, a request not sent
// because of its GOAWAY, or the GOAWAY itself.
bool is_refused(const error_code& error);

}  // namespace mla::bench
