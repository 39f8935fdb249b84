// One HTTP/2 connection of mla-loadgen after its TLS handshake selected ALPN h2: an nghttp2
// client session driven with nghttp2_session_mem_recv / mem_send over the TLS stream.
//   - a reader coroutine feeds every received byte to nghttp2 (whose callbacks record each
//     stream's :status and completion);
//   - a writer coroutine sends whatever nghttp2 has queued (preface, SETTINGS, the HEADERS and
//     DATA of requests, WINDOW_UPDATEs, ACKs), gathered into one buffer of up to
//     kWriteBatchBytes per write, so the TLS records stay full-size. Request bodies go into that
//     buffer straight from the RequestTemplate (NGHTTP2_DATA_FLAG_NO_COPY: one copy, not two);
//   - exchange() submits a request as a new stream and waits for that stream to close.
// Shared (shared_ptr) by its H2Connection and the coroutines running on it, so it outlives a
// close() or a reconnect until they have finished. Touched only on its io thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "bench/loadgen/client_connection.h"
#include "bench/loadgen/dial.h"
#include "bench/loadgen/request.h"

namespace mla::bench {

class H2Session : public std::enable_shared_from_this<H2Session> {
 public:
  // Bytes the writer copies into one write: a 131 KB remote-write body goes out in one write
  // (as HTTP/1.1's gather write), and each connection's buffer stays bounded.
  static constexpr std::size_t kWriteBatchBytes = 256 * 1024;
  static constexpr std::size_t kReadBufferBytes = 16 * 1024;

  // Creates the nghttp2 client session on `stream` (handshake done, ALPN h2), queues the
  // connection preface and SETTINGS, and spawns the reader and the writer. nullptr and `error`
  // set if nghttp2 cannot be set up.
  static std::shared_ptr<H2Session> start(std::unique_ptr<TlsStream> stream, error_code& error);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Sends `request` on a new stream and waits for its response. A response not complete within
  // kRequestTimeout closes the whole connection (like an HTTP/1.1 I/O deadline); its other
  // streams fail too. `request` must outlive the exchange.
  awaitable<Exchange> exchange(const RequestTemplate& request);

  // Closes the TCP connection (no GOAWAY, like HTTP/1.1's close); streams in flight fail with
  // `reason`. Idempotent.
  void close(const error_code& reason);

  // Open and allowed to start new streams (no GOAWAY received, no failure).
  bool usable() const;

 private:
  struct Stream;
  struct SessionDeleter {
    void operator()(nghttp2_session* session) const { nghttp2_session_del(session); }
  };

  explicit H2Session(std::unique_ptr<TlsStream> stream);

  // `self` keeps the session alive while the loop runs.
  awaitable<void> read_loop(std::shared_ptr<H2Session> self);
  awaitable<void> write_loop(std::shared_ptr<H2Session> self);
  void wake_writer() { writer_wake_.cancel(); }
  // Closes the connection once nghttp2 has nothing left to do (after a GOAWAY, the last stream
  // below its last-stream-id has finished).
  void close_if_finished();
  // Ends stream `id`'s exchange with `error` (none: its response arrived) and forgets it.
  void finish_stream(std::int32_t id, const error_code& error);

  // nghttp2 callbacks; `user_data` is the H2Session. They never close the session.
  static int on_header(nghttp2_session* session, const nghttp2_frame* frame,
                       const std::uint8_t* name, std::size_t name_length, const std::uint8_t* value,
                       std::size_t value_length, std::uint8_t flags, void* user_data);
  static int on_data_chunk(nghttp2_session* session, std::uint8_t flags, std::int32_t stream_id,
                           const std::uint8_t* data, std::size_t length, void* user_data);
  static int on_stream_close(nghttp2_session* session, std::int32_t stream_id,
                             std::uint32_t error_code, void* user_data);
  static int on_frame_not_sent(nghttp2_session* session, const nghttp2_frame* frame,
                               int library_error, void* user_data);
  // The body is not copied here: read_body only sizes the next DATA frame, send_body appends its
  // header and payload to write_buffer_.
  static ssize_t read_body(nghttp2_session* session, std::int32_t stream_id, std::uint8_t* buffer,
                           std::size_t length, std::uint32_t* data_flags,
                           nghttp2_data_source* source, void* user_data);
  static int send_body(nghttp2_session* session, nghttp2_frame* frame,
                       const std::uint8_t* frame_header, std::size_t length,
                       nghttp2_data_source* source, void* user_data);

  std::unique_ptr<TlsStream> stream_;
  // nullptr once closed: the reader and writer stop at their next step.
  std::unique_ptr<nghttp2_session, SessionDeleter> session_;
  // The writer waits on it (never expiring) when nghttp2 has nothing to send; cancel() wakes it.
  asio::steady_timer writer_wake_;
  // Streams in flight by id; each is also held by its exchange() until it returns.
  std::unordered_map<std::int32_t, std::shared_ptr<Stream>> streams_;
  std::vector<std::uint8_t> read_buffer_;
  std::vector<std::uint8_t> write_buffer_;
};

}  // namespace mla::bench
