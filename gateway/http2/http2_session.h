// One HTTP/2 connection after the TLS handshake negotiated "h2" (nghttp2, server side). The
// session only translates frames: each complete request stream goes through the same
// RequestPipeline as an HTTP/1.1 request (header checks, inspection, limits, forwarding over the
// HTTP/1.1 upstream pools). Bounded per connection: concurrent streams, header list size,
// buffered request bodies (flow control holds back what does not fit) and abuse budgets
// (FloodGuard). Lives on one worker thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gateway/common/asio.h"
#include "gateway/common/metrics.h"
#include "gateway/http2/flood_guard.h"
#include "gateway/server/request_pipeline.h"
#include "gateway/server/worker.h"
#include "gateway/tls/tls_socket.h"

namespace mla::http2 {

// SETTINGS the gateway sends, and its own bounds.
struct Http2Limits {
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t max_header_list_bytes = 64 * 1024;  // as HTTP/1.1's header limit
  // Per-stream receive window: large enough that a multi-MB body is not a round trip per 64 KiB.
  std::uint32_t stream_window_bytes = 256 * 1024;
  std::uint32_t connection_window_bytes = 16 * 1024 * 1024;
  // Request bodies buffered on one connection (inspection needs whole bodies); beyond it, stream
  // windows are only reopened as earlier bodies are forwarded. The oldest receiving stream always
  // proceeds, so buffering is bounded by this + streams x stream window + one body.
  std::uint64_t connection_body_bytes = 64 * 1024 * 1024;
};

class Http2Session : public server::IdleConnection, public server::BodyReader {
 public:
  Http2Session(server::Worker& worker, tls::TlsSocket& stream, server::ConnectionInfo info);
  ~Http2Session() override;
  Http2Session(const Http2Session&) = delete;
  Http2Session& operator=(const Http2Session&) = delete;

  awaitable<void> run();
  // Graceful drain: GOAWAY, the streams already started finish, then the connection closes.
  void close_idle() override;
  std::string_view body_tenant() const override { return info_.tenant.tenant; }
  // The tenant was disabled: streams still receiving a body are answered now, then GOAWAY.
  void refuse_mid_body() override;

 private:
  struct Stream;
  friend struct Callbacks;

  // nghttp2 callbacks (see the .cc for the trampolines).
  int on_begin_frame(const nghttp2_frame_hd& header);
  int on_begin_headers(const nghttp2_frame& frame);
  int on_header(const nghttp2_frame& frame, std::string_view name, std::string_view value);
  int on_frame_recv(const nghttp2_frame& frame);
  int on_data_chunk(std::int32_t stream_id, const std::uint8_t* data, std::size_t length);
  int on_frame_send(const nghttp2_frame& frame);
  int on_stream_close(std::int32_t stream_id, std::uint32_t error_code);
  static ssize_t read_response_body(nghttp2_session* session, std::int32_t stream_id,
                                    std::uint8_t* buffer, std::size_t length,
                                    std::uint32_t* data_flags, nghttp2_data_source* source,
                                    void* user_data);

  Stream* find(std::int32_t stream_id);
  void on_headers_complete(Stream& stream);
  void on_request_complete(Stream& stream);
  awaitable<void> serve(std::int32_t stream_id);
  void respond(Stream& stream, server::Response response);
  void refuse(Stream& stream, const server::Refusal& refusal);
  void release_body(Stream& stream);
  void reopen_windows();
  void erase_if_done(Stream& stream);
  // GOAWAY with `error_code` now: no further frames are processed.
  void terminate(std::uint32_t error_code, std::string_view reason);
  // GOAWAY NO_ERROR: no new streams; started ones finish.
  void shut_down_gracefully();

  awaitable<void> read_loop();
  awaitable<void> write_loop();
  awaitable<void> watchdog();
  void wake_writer();
  void notify_done();
  bool finished() const;
  void close_socket();

  server::Worker& worker_;
  tls::TlsSocket& stream_;  // owned by serve_connection's frame, outlives the session
  server::ConnectionInfo info_;
  server::RequestPipeline pipeline_;
  const Http2Limits limits_;
  nghttp2_session* session_ = nullptr;
  FloodGuard flood_guard_;
  std::map<std::int32_t, std::unique_ptr<Stream>> streams_;  // by id: the oldest first
  std::uint64_t buffered_body_bytes_ = 0;                    // request bodies held in streams_
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> write_buffer_;
  asio::steady_timer write_signal_;  // cancelled to wake the writer
  asio::steady_timer done_signal_;   // cancelled when the writer or a stream task ends
  asio::steady_timer tick_;          // the watchdog's period
  int tasks_ = 0;                    // serve() coroutines running
  bool writer_running_ = false;
  bool watchdog_running_ = false;
  bool closing_ = false;        // the socket is being closed: no more I/O
  bool shutting_down_ = false;  // GOAWAY NO_ERROR submitted
  bool opened_stream_ = false;  // a first stream arrived (else read_header_timeout applies)
  std::chrono::steady_clock::time_point idle_since_;
  std::chrono::steady_clock::time_point shutdown_started_;  // when shutting_down_ was set
  std::optional<std::chrono::steady_clock::time_point> write_started_;  // a write is pending
};

}  // namespace mla::http2
