#include "bench/loadgen/h2_session.h"

#include <algorithm>
#include <array>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <iterator>
#include <string_view>

#include "bench/loadgen/h2_error.h"

namespace mla::bench {

// One request in flight.
struct H2Session::Stream {
  explicit Stream(const asio::any_io_executor& executor, const RequestTemplate& request)
      : request(request), done(executor) {}

  const RequestTemplate& request;  // outlives the exchange
  std::size_t body_framed = 0;     // bytes of request.body() put into DATA frames by read_body
  std::size_t body_sent = 0;       // of those, bytes appended to the write buffer by send_body
  std::size_t response_bytes = 0;  // DATA received
  int status = 0;                  // final :status, 0 until it arrives
  error_code pending_error;        // set before the stream is reset by us
  bool finished = false;
  error_code error;  // with finished: the failure, none if the response arrived
  // exchange() waits on it for at most kRequestTimeout; finish_stream() cancels the wait.
  asio::steady_timer done;
};

namespace {

// The request header list (RequestTemplate::h2_headers) has 10 entries at most.
constexpr std::size_t kMaxHeaders = 16;

nghttp2_nv header_field(const RequestTemplate::HeaderField& field) {
  // NO_COPY: the template's strings outlive the run, nghttp2 need not copy them.
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.first.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(field.second.data())),
          field.first.size(), field.second.size(),
          NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

struct CallbacksDeleter {
  void operator()(nghttp2_session_callbacks* callbacks) const {
    nghttp2_session_callbacks_del(callbacks);
  }
};

}  // namespace

H2Session::H2Session(std::unique_ptr<TlsStream> stream)
    : stream_(std::move(stream)),
      writer_wake_(stream_->get_executor()),
      read_buffer_(kReadBufferBytes) {}

H2Session::~H2Session() = default;

std::shared_ptr<H2Session> H2Session::start(std::unique_ptr<TlsStream> stream, error_code& error) {
  std::shared_ptr<H2Session> self(new H2Session(std::move(stream)));
  nghttp2_session_callbacks* raw_callbacks = nullptr;
  if (const int rv = nghttp2_session_callbacks_new(&raw_callbacks); rv != 0) {
    error = nghttp2_library_error(rv);
    return nullptr;
  }
  // nghttp2_session_client_new copies the callbacks.
  std::unique_ptr<nghttp2_session_callbacks, CallbacksDeleter> callbacks(raw_callbacks);
  nghttp2_session_callbacks_set_on_header_callback(raw_callbacks, &H2Session::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(raw_callbacks,
                                                            &H2Session::on_data_chunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(raw_callbacks,
                                                         &H2Session::on_stream_close);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(raw_callbacks,
                                                           &H2Session::on_frame_not_sent);
  nghttp2_session_callbacks_set_send_data_callback(raw_callbacks, &H2Session::send_body);
  nghttp2_session* raw_session = nullptr;
  if (const int rv = nghttp2_session_client_new(&raw_session, raw_callbacks, self.get()); rv != 0) {
    error = nghttp2_library_error(rv);
    return nullptr;
  }
  self->session_.reset(raw_session);
  // The client preface goes out with the first mem_send. No server push; the default windows
  // (64 KiB) are plenty for responses of a few bytes.
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  if (const int rv =
          nghttp2_submit_settings(raw_session, NGHTTP2_FLAG_NONE, settings, std::size(settings));
      rv != 0) {
    error = nghttp2_library_error(rv);
    return nullptr;
  }
  const asio::any_io_executor executor = self->stream_->get_executor();
  asio::co_spawn(executor, self->read_loop(self), asio::detached);
  asio::co_spawn(executor, self->write_loop(self), asio::detached);
  return self;
}

bool H2Session::usable() const {
  return session_ && nghttp2_session_check_request_allowed(session_.get()) != 0;
}

awaitable<Exchange> H2Session::exchange(const RequestTemplate& request) {
  const std::shared_ptr<H2Session> self = shared_from_this();
  Exchange result;
  if (!usable()) {
    result.failure = Failure::kIo;
    result.error = session_ ? make_error(H2Error::kGoaway) : asio::error::not_connected;
    result.refused = is_refused(result.error);
    co_return result;
  }
  const auto& fields = request.h2_headers();
  std::array<nghttp2_nv, kMaxHeaders> headers{};
  const std::size_t header_count = std::min(fields.size(), headers.size());
  for (std::size_t i = 0; i < header_count; ++i) headers[i] = header_field(fields[i]);

  auto stream = std::make_shared<Stream>(stream_->get_executor(), request);
  nghttp2_data_provider body{};
  body.source.ptr = stream.get();
  body.read_callback = &H2Session::read_body;
  const std::int32_t id =
      nghttp2_submit_request(session_.get(), nullptr, headers.data(), header_count,
                             request.body_size() > 0 ? &body : nullptr, stream.get());
  if (id < 0) {
    result.failure = Failure::kIo;
    result.error = nghttp2_library_error(id);
    co_return result;
  }
  streams_.emplace(id, stream);
  wake_writer();

  stream->done.expires_after(kRequestTimeout);
  co_await stream->done.async_wait(kUseTuple);
  if (!stream->finished) close(asio::error::timed_out);  // finishes this stream, and the others

  if (stream->error) {
    result.failure = Failure::kIo;
    result.error = stream->error;
    result.refused = is_refused(stream->error);
  } else {
    result.status = stream->status;
    result.keep_alive = usable();
  }
  co_return result;
}

void H2Session::close(const error_code& reason) {
  if (!session_) return;
  // No callbacks run from here on; the reader and writer see session_ gone and stop.
  session_.reset();
  writer_wake_.cancel();
  error_code ignored;
  beast::tcp_stream& tcp = stream_->next_layer();
  tcp.socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp.close();
  const auto streams = std::move(streams_);
  streams_.clear();
  for (const auto& [id, stream] : streams) {
    stream->finished = true;
    stream->error = reason;
    stream->done.cancel();
  }
}

void H2Session::close_if_finished() {
  if (session_ && nghttp2_session_want_read(session_.get()) == 0 &&
      nghttp2_session_want_write(session_.get()) == 0) {
    close(make_error(H2Error::kGoaway));
  }
}

void H2Session::finish_stream(std::int32_t id, const error_code& error) {
  const auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& stream = *it->second;
  stream.finished = true;
  stream.error = error;
  stream.done.cancel();
  streams_.erase(it);
}

awaitable<void> H2Session::read_loop([[maybe_unused]] std::shared_ptr<H2Session> self) {
  while (session_) {
    // An idle connection waits for the server as long as it likes (idle mode holds them; a
    // request's own deadline is kRequestTimeout in exchange()).
    stream_->next_layer().expires_never();
    auto [error, length] = co_await stream_->async_read_some(asio::buffer(read_buffer_), kUseTuple);
    if (!session_) co_return;
    if (error) {
      close(error);
      co_return;
    }
    const ssize_t rv = nghttp2_session_mem_recv(session_.get(), read_buffer_.data(), length);
    if (rv < 0) {
      close(nghttp2_library_error(static_cast<int>(rv)));
      co_return;
    }
    wake_writer();  // the callbacks may have queued ACKs, WINDOW_UPDATEs or RST_STREAMs
    close_if_finished();
  }
}

awaitable<void> H2Session::write_loop([[maybe_unused]] std::shared_ptr<H2Session> self) {
  while (session_) {
    write_buffer_.clear();
    while (write_buffer_.size() < kWriteBatchBytes) {
      const std::uint8_t* data = nullptr;
      const ssize_t length = nghttp2_session_mem_send(session_.get(), &data);
      if (length < 0) {
        close(nghttp2_library_error(static_cast<int>(length)));
        co_return;
      }
      if (length == 0) break;
      write_buffer_.insert(write_buffer_.end(), data, data + length);
    }
    if (write_buffer_.empty()) {
      close_if_finished();
      if (!session_) co_return;
      writer_wake_.expires_at(asio::steady_timer::time_point::max());
      co_await writer_wake_.async_wait(kUseTuple);
      continue;
    }
    stream_->next_layer().expires_after(kRequestTimeout);
    auto [error, written] =
        co_await asio::async_write(*stream_, asio::buffer(write_buffer_), kUseTuple);
    if (!session_) co_return;
    if (error) {
      close(error);
      co_return;
    }
  }
}

int H2Session::on_header(nghttp2_session* session, const nghttp2_frame* frame,
                         const std::uint8_t* name, std::size_t name_length,
                         const std::uint8_t* value, std::size_t value_length, std::uint8_t, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (std::string_view(reinterpret_cast<const char*>(name), name_length) != ":status") return 0;
  auto* stream =
      static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, frame->hd.stream_id));
  if (stream == nullptr || value_length != 3) return 0;
  int status = 0;
  for (std::size_t i = 0; i < 3; ++i) status = status * 10 + (value[i] - '0');
  if (status >= 200) stream->status = status;  // 1xx are informational: the final one follows
  return 0;
}

int H2Session::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                             const std::uint8_t*, std::size_t length, void*) {
  auto* stream = static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, stream_id));
  if (stream == nullptr) return 0;
  stream->response_bytes += length;
  if (stream->response_bytes > kMaxResponseBody && !stream->pending_error) {
    stream->pending_error = make_error(H2Error::kResponseTooLarge);
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
  }
  return 0;
}

int H2Session::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t http2_error,
                               void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  const auto it = self->streams_.find(stream_id);
  if (it == self->streams_.end()) return 0;
  const Stream& stream = *it->second;
  error_code error = stream.pending_error;
  if (!error && http2_error != NGHTTP2_NO_ERROR) error = stream_closed_error(http2_error);
  if (!error && stream.status == 0) error = make_error(H2Error::kNoStatus);
  self->finish_stream(stream_id, error);
  return 0;
}

int H2Session::on_frame_not_sent(nghttp2_session*, const nghttp2_frame* frame, int library_error,
                                 void* user_data) {
  // A request's HEADERS that could not be sent (e.g. after GOAWAY): that stream never opened,
  // so no on_stream_close follows.
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  static_cast<H2Session*>(user_data)->finish_stream(frame->hd.stream_id,
                                                    nghttp2_library_error(library_error));
  return 0;
}

ssize_t H2Session::read_body(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t length,
                             std::uint32_t* data_flags, nghttp2_data_source* source, void*) {
  auto* stream = static_cast<Stream*>(source->ptr);
  const std::size_t n = std::min(length, stream->request.body_size() - stream->body_framed);
  stream->body_framed += n;
  *data_flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (stream->body_framed == stream->request.body_size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int H2Session::send_body(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* frame_header,
                         std::size_t length, nghttp2_data_source* source, void* user_data) {
  auto* self = static_cast<H2Session*>(user_data);
  std::vector<std::uint8_t>& out = self->write_buffer_;
  // A full batch goes out first; nghttp2 offers this frame again after the next mem_send.
  if (out.size() >= kWriteBatchBytes) return NGHTTP2_ERR_WOULDBLOCK;
  auto* stream = static_cast<Stream*>(source->ptr);
  const std::uint8_t* payload =
      reinterpret_cast<const std::uint8_t*>(stream->request.body().data()) + stream->body_sent;
  constexpr std::size_t kFrameHeaderBytes = 9;
  out.insert(out.end(), frame_header, frame_header + kFrameHeaderBytes);
  // No padding is ever requested, but the frame layout allows it: pad length byte + zeros.
  const std::size_t padding = frame->data.padlen;
  if (padding > 0) out.push_back(static_cast<std::uint8_t>(padding - 1));
  out.insert(out.end(), payload, payload + length);
  if (padding > 1) out.insert(out.end(), padding - 1, 0);
  stream->body_sent += length;
  return 0;
}

}  // namespace mla::bench
