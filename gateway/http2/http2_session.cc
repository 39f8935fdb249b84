#include "gateway/http2/http2_session.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/asio/write.hpp>
#include <cstring>

#include "gateway/common/logging.h"
#include "gateway/http2/h2_message.h"

namespace mla::http2 {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kWriteGather = 64 * 1024;
constexpr std::chrono::seconds kTick{1};
// After an early answer (413, 403, ...) the rest of the request body is read and dropped for a
// while, as HTTP/1.1's lingering close does: resetting the stream at once makes clients such as
// curl report a stream error instead of the answer.
constexpr std::chrono::seconds kLingerTotal{5};
constexpr std::size_t kLingerMaxBytes = 64 * 1024 * 1024;

ratelimit::MonoTime mono_now() {
  return std::chrono::duration_cast<ratelimit::MonoTime>(
      std::chrono::steady_clock::now().time_since_epoch());
}

Http2Limits limits_from(const config::ServerConfig& server) {
  Http2Limits limits;
  limits.max_concurrent_streams = server.http2_max_concurrent_streams;
  // Every stream may hold a whole body; the connection bound must at least fit one.
  limits.connection_body_bytes =
      std::max(limits.connection_body_bytes, server.max_request_body_bytes);
  return limits;
}

}  // namespace

struct Http2Session::Stream {
  explicit Stream(std::int32_t stream_id) : id(stream_id) { request.version(11); }

  enum class Phase {
    kHeaders,     // header block being received
    kBody,        // DATA being received and buffered
    kForwarding,  // complete: in the pipeline (a serve() task owns the request)
    kAnswered,    // an answer is submitted; further DATA is dropped
  };

  const std::int32_t id;
  Phase phase = Phase::kHeaders;
  proxy::UpstreamRequest request;
  std::size_t header_bytes = 0;
  bool header_too_large = false;
  bool trailers = false;                           // the current header block is trailers (ignored)
  std::shared_ptr<const server::Runtime> runtime;  // one snapshot for the whole request
  const config::RouteConfig* route = nullptr;
  std::optional<common::RequestTimer> timer;  // after `runtime`: it views a route path
  std::size_t unconsumed = 0;  // DATA bytes whose stream window was not given back yet
  std::size_t discarded = 0;   // DATA bytes dropped after an early answer
  bool closed = false;         // nghttp2 closed the stream (a serve() task may still run)
  bool answered = false;       // the whole answer was sent
  std::string response_body;
  std::size_t response_offset = 0;
  std::chrono::steady_clock::time_point deadline;  // request_timeout from the HEADERS

  std::string_view route_path() const { return route ? std::string_view(route->path) : ""; }
};

// nghttp2's C callbacks, forwarded to the session passed as user_data.
struct Callbacks {
  static Http2Session& self(void* user_data) { return *static_cast<Http2Session*>(user_data); }

  static int begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user_data) {
    return self(user_data).on_begin_frame(*hd);
  }
  static int begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return self(user_data).on_begin_headers(*frame);
  }
  static int header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                    void* user_data) {
    return self(user_data).on_header(*frame, {reinterpret_cast<const char*>(name), namelen},
                                     {reinterpret_cast<const char*>(value), valuelen});
  }
  static int frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return self(user_data).on_frame_recv(*frame);
  }
  static int data_chunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                        size_t len, void* user_data) {
    return self(user_data).on_data_chunk(stream_id, data, len);
  }
  static int frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
    return self(user_data).on_frame_send(*frame);
  }
  static int stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code,
                          void* user_data) {
    return self(user_data).on_stream_close(stream_id, error_code);
  }
};

Http2Session::Http2Session(server::Worker& worker, tls::TlsSocket& stream,
                           server::ConnectionInfo info)
    : worker_(worker),
      stream_(stream),
      info_(std::move(info)),
      pipeline_(worker, info_, stream.native_handle()),
      limits_(limits_from(worker.runtime()->config->server)),
      read_buffer_(kReadChunk),
      write_signal_(stream.get_executor()),
      done_signal_(stream.get_executor()),
      tick_(stream.get_executor()),
      idle_since_(std::chrono::steady_clock::now()) {
  info_.protocol = "HTTP/2";
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, &Callbacks::begin_frame);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Callbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Callbacks::header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Callbacks::frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Callbacks::stream_close);
  nghttp2_option* options = nullptr;
  nghttp2_option_new(&options);
  // Windows are given back when bodies are forwarded, not when bytes arrive (reopen_windows).
  nghttp2_option_set_no_auto_window_update(options, 1);
  nghttp2_option_set_max_continuations(options, FloodGuard::kMaxContinuations);
  nghttp2_session_server_new2(&session_, callbacks, this, options);
  nghttp2_option_del(options);
  nghttp2_session_callbacks_del(callbacks);

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, limits_.max_header_list_bytes},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(limits_.connection_window_bytes));
  worker_.add_idle(this);
  worker_.add_body_reader(this);
}

Http2Session::~Http2Session() {
  worker_.remove_idle(this);
  worker_.remove_body_reader(this);
  nghttp2_session_del(session_);
}

awaitable<void> Http2Session::run() {
  auto executor = co_await asio::this_coro::executor;
  stream_.expires_never();  // deadlines are the watchdog's: reads and writes overlap here
  if (worker_.draining()) shut_down_gracefully();
  writer_running_ = true;
  asio::co_spawn(executor, write_loop(), [this](std::exception_ptr) {
    writer_running_ = false;
    notify_done();
  });
  watchdog_running_ = true;
  asio::co_spawn(executor, watchdog(), [this](std::exception_ptr) {
    watchdog_running_ = false;
    notify_done();
  });
  co_await read_loop();
  close_socket();
  // Stream tasks and the writer refer to this session: it ends after them.
  while (writer_running_ || watchdog_running_ || tasks_ > 0) {
    done_signal_.expires_at(asio::steady_timer::time_point::max());
    co_await done_signal_.async_wait(kUseTuple);
  }
  // Best-effort TLS close_notify, as for HTTP/1.1.
  stream_.expires_after(std::chrono::seconds(1));
  co_await stream_.shutdown();
}

awaitable<void> Http2Session::read_loop() {
  while (!closing_) {
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(read_buffer_), kUseTuple);
    if (ec || closing_) break;
    ssize_t used = nghttp2_session_mem_recv(session_, read_buffer_.data(), n);
    if (used < 0) {
      // A fatal error in the input; the floods nghttp2 detects itself end with GOAWAY too.
      const bool flood = used == NGHTTP2_ERR_FLOODED || used == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS;
      terminate(flood ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR,
                nghttp2_strerror(static_cast<int>(used)));
    }
    wake_writer();
    if (finished()) break;
  }
}

awaitable<void> Http2Session::write_loop() {
  while (!closing_) {
    write_buffer_.clear();
    while (write_buffer_.size() < kWriteGather) {
      const std::uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) break;  // nothing more now (a negative value is a fatal internal error)
      write_buffer_.insert(write_buffer_.end(), data, data + n);
    }
    if (!write_buffer_.empty()) {
      write_started_ = std::chrono::steady_clock::now();
      auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(write_buffer_), kUseTuple);
      write_started_.reset();
      if (ec) break;
      continue;
    }
    if (finished()) break;
    write_buffer_.shrink_to_fit();  // an idle connection holds no write buffer
    write_signal_.expires_at(asio::steady_timer::time_point::max());
    co_await write_signal_.async_wait(kUseTuple);
  }
  close_socket();  // wakes the reader
}

awaitable<void> Http2Session::watchdog() {
  while (!closing_) {
    tick_.expires_after(kTick);
    co_await tick_.async_wait(kUseTuple);
    if (closing_) break;
    auto runtime = worker_.runtime();
    const auto& server = runtime->config->server;
    const auto now = std::chrono::steady_clock::now();
    if (write_started_ && now - *write_started_ > server.request_timeout) {
      // The client stopped reading: nothing more can be sent.
      log::info("HTTP/2 connection closed",
                {{"remote", info_.remote}, {"reason", "client not reading (request_timeout)"}});
      close_socket();
      break;
    }
    bool stalled = false;
    for (auto& [id, stream] : streams_) {
      if (stream->closed || now < stream->deadline) continue;
      if (stream->answered) {  // answered early; the client did not finish its body in time
        nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
        continue;
      }
      if (stream->phase == Stream::Phase::kForwarding) continue;  // bounded by the upstream timeout
      // A body that does not arrive, or an answer the client's window does not let out. As a
      // stalled HTTP/1.1 client loses its connection, this one gets no new streams either.
      log::info("HTTP/2 stream reset", {{"remote", info_.remote},
                                        {"tenant", info_.tenant.tenant},
                                        {"reason", "request_timeout"}});
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      stalled = true;
    }
    if (stalled) shut_down_gracefully();
    const bool forwarding = std::any_of(streams_.begin(), streams_.end(), [](const auto& entry) {
      return entry.second->phase == Stream::Phase::kForwarding;
    });
    if (shutting_down_ && !forwarding && now - shutdown_started_ > server.request_timeout) {
      // Whatever still holds the connection open after GOAWAY, it is not an answer in the making.
      close_socket();
      break;
    }
    const auto idle_limit = opened_stream_ ? server.idle_timeout : server.read_header_timeout;
    if (streams_.empty() && !shutting_down_ && now - idle_since_ > idle_limit) {
      shut_down_gracefully();
    }
    wake_writer();
  }
}

void Http2Session::wake_writer() { write_signal_.cancel(); }

void Http2Session::notify_done() { done_signal_.cancel(); }

bool Http2Session::finished() const {
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) return true;
  // After our GOAWAY nghttp2 keeps reading for the streams that remain; none remain.
  return shutting_down_ && streams_.empty() && !nghttp2_session_want_write(session_);
}

void Http2Session::close_socket() {
  if (closing_) return;
  closing_ = true;
  error_code ignored;
  stream_.socket().cancel(ignored);
  write_signal_.cancel();
  tick_.cancel();
}

void Http2Session::close_idle() { shut_down_gracefully(); }

void Http2Session::shut_down_gracefully() {
  if (shutting_down_ || closing_) return;
  shutting_down_ = true;
  shutdown_started_ = std::chrono::steady_clock::now();
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  wake_writer();
}

void Http2Session::terminate(std::uint32_t error_code, std::string_view reason) {
  log::warn("HTTP/2 connection terminated", {{"remote", info_.remote},
                                             {"tenant", info_.tenant.tenant},
                                             {"error", nghttp2_http2_strerror(error_code)},
                                             {"reason", reason}});
  shutting_down_ = true;
  shutdown_started_ = std::chrono::steady_clock::now();
  nghttp2_session_terminate_session(session_, error_code);
  wake_writer();
}

void Http2Session::refuse_mid_body() {
  auto refusal = pipeline_.disabled_now();
  if (!refusal) return;
  for (auto& [id, stream] : streams_) {
    if (stream->phase == Stream::Phase::kBody) refuse(*stream, *refusal);
  }
  shut_down_gracefully();
}

Http2Session::Stream* Http2Session::find(std::int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

int Http2Session::on_begin_frame(const nghttp2_frame_hd& header) {
  const auto now = mono_now();
  std::optional<std::string_view> flood = flood_guard_.on_frame_header(header.type);
  const bool control = header.type == NGHTTP2_PING || header.type == NGHTTP2_PRIORITY ||
                       (header.type == NGHTTP2_SETTINGS && !(header.flags & NGHTTP2_FLAG_ACK)) ||
                       (header.type == NGHTTP2_DATA && header.length == 0 &&
                        !(header.flags & NGHTTP2_FLAG_END_STREAM));
  if (!flood && control) flood = flood_guard_.on_control_frame(now);
  if (flood) terminate(NGHTTP2_ENHANCE_YOUR_CALM, *flood);
  return 0;
}

int Http2Session::on_begin_headers(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;
  if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
    auto stream = std::make_unique<Stream>(frame.hd.stream_id);
    stream->runtime = worker_.runtime();
    stream->timer.emplace(common::request_metrics());
    stream->deadline =
        std::chrono::steady_clock::now() + stream->runtime->config->server.request_timeout;
    streams_.emplace(frame.hd.stream_id, std::move(stream));
    opened_stream_ = true;
  } else if (Stream* stream = find(frame.hd.stream_id)) {
    stream->trailers = true;
  }
  return 0;
}

int Http2Session::on_header(const nghttp2_frame& frame, std::string_view name,
                            std::string_view value) {
  Stream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  // RFC 9113 §6.5.2's accounting: name + value + 32 per field.
  stream->header_bytes += name.size() + value.size() + 32;
  if (stream->header_bytes > limits_.max_header_list_bytes) stream->header_too_large = true;
  if (stream->header_too_large || stream->trailers) return 0;
  add_request_field(stream->request, name, value);
  return 0;
}

int Http2Session::on_frame_recv(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS && frame.hd.type != NGHTTP2_DATA) return 0;
  Stream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  if (frame.hd.type == NGHTTP2_HEADERS && stream->phase == Stream::Phase::kHeaders) {
    on_headers_complete(*stream);
  }
  if ((frame.hd.flags & NGHTTP2_FLAG_END_STREAM) && stream->phase == Stream::Phase::kBody) {
    on_request_complete(*stream);
  }
  return 0;
}

void Http2Session::on_headers_complete(Stream& stream) {
  stream.phase = Stream::Phase::kBody;
  if (stream.header_too_large) {
    refuse(stream,
           {http::status::request_header_fields_too_large,
            fmt::format("request header list exceeds {} bytes", limits_.max_header_list_bytes)});
    return;
  }
  server::HeadCheck check =
      pipeline_.check_head(*stream.runtime, stream.request, declared_length(stream.request));
  stream.route = check.route;
  if (check.route != nullptr) stream.timer->set_route(check.route->path);
  if (check.refusal) refuse(stream, *check.refusal);
}

int Http2Session::on_data_chunk(std::int32_t stream_id, const std::uint8_t* data,
                                std::size_t length) {
  // The connection window is always given back: only stream windows hold a client back.
  nghttp2_session_consume_connection(session_, length);
  Stream* stream = find(stream_id);
  if (stream == nullptr || stream->phase != Stream::Phase::kBody) {
    nghttp2_session_consume_stream(session_, stream_id, length);  // dropped
    if (stream != nullptr && (stream->discarded += length) > kLingerMaxBytes) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }
  auto& body = stream->request.body();
  // The stream's config snapshot, as for HTTP/1.1 requests (a reload applies to new streams).
  const std::uint64_t max_body = stream->runtime->config->server.max_request_body_bytes;
  if (body.size() + length > max_body) {
    nghttp2_session_consume_stream(session_, stream_id, length);
    refuse(*stream, pipeline_.body_too_large(max_body));
    return 0;
  }
  body.insert(body.end(), data, data + length);
  buffered_body_bytes_ += length;
  const bool oldest_receiving =
      std::none_of(streams_.begin(), streams_.find(stream_id),
                   [](const auto& entry) { return entry.second->phase == Stream::Phase::kBody; });
  if (buffered_body_bytes_ <= limits_.connection_body_bytes || oldest_receiving) {
    nghttp2_session_consume_stream(session_, stream_id, length);
  } else {
    stream->unconsumed += length;  // its window reopens when earlier bodies are gone
  }
  return 0;
}

void Http2Session::on_request_complete(Stream& stream) {
  stream.phase = Stream::Phase::kForwarding;
  if (auto refusal = pipeline_.disabled_now()) {
    refuse(stream, *refusal);
    return;
  }
  ++tasks_;
  asio::co_spawn(stream_.get_executor(), serve(stream.id), [this](std::exception_ptr error) {
    --tasks_;
    if (error) log::error("HTTP/2 stream task failed", {{"remote", info_.remote}});
    notify_done();
  });
}

awaitable<void> Http2Session::serve(std::int32_t stream_id) {
  Stream* stream = find(stream_id);
  if (stream == nullptr) co_return;
  auto runtime = stream->runtime;
  server::Forwarded forwarded =
      co_await pipeline_.forward(*runtime, *stream->route, stream->request);
  stream = find(stream_id);  // the client may have reset it meanwhile
  if (stream == nullptr) co_return;
  release_body(*stream);
  if (stream->closed || closing_) {
    streams_.erase(stream_id);
    if (streams_.empty()) idle_since_ = std::chrono::steady_clock::now();
    wake_writer();
    co_return;
  }
  if (forwarded.refusal) {
    refuse(*stream, *forwarded.refusal);
  } else {
    respond(*stream, std::move(*forwarded.response));
  }
  wake_writer();
}

void Http2Session::respond(Stream& stream, server::Response response) {
  stream.phase = Stream::Phase::kAnswered;
  stream.deadline =
      std::chrono::steady_clock::now() + stream.runtime->config->server.request_timeout;
  ResponseHeaders headers(response);
  stream.response_body = std::move(response.body());
  nghttp2_data_provider body{};
  body.source.ptr = &stream;
  body.read_callback = &Http2Session::read_response_body;
  const bool no_body = response_has_no_body(stream.request.method(), response.result_int());
  nghttp2_submit_response(session_, stream.id, headers.data(), headers.size(),
                          no_body ? nullptr : &body);
  wake_writer();
}

void Http2Session::refuse(Stream& stream, const server::Refusal& refusal) {
  release_body(stream);
  respond(stream, pipeline_.answer(stream.request, refusal, stream.route_path()));
  // The kill switch ends the connection once the streams already started are done.
  if (refusal.tenant_disabled) shut_down_gracefully();
}

ssize_t Http2Session::read_response_body(nghttp2_session*, std::int32_t, std::uint8_t* buffer,
                                         std::size_t length, std::uint32_t* data_flags,
                                         nghttp2_data_source* source, void*) {
  auto& stream = *static_cast<Stream*>(source->ptr);
  const std::size_t n = std::min(length, stream.response_body.size() - stream.response_offset);
  std::memcpy(buffer, stream.response_body.data() + stream.response_offset, n);
  stream.response_offset += n;
  if (stream.response_offset == stream.response_body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

int Http2Session::on_frame_send(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS && frame.hd.type != NGHTTP2_DATA) return 0;
  if (!(frame.hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  Stream* stream = find(frame.hd.stream_id);
  if (stream == nullptr) return 0;
  stream->answered = true;
  // Answered before the request ended (a refusal): the rest of the body is dropped as it comes
  // until kLingerTotal, then the stream is reset (NO_ERROR) by the watchdog.
  stream->deadline = std::chrono::steady_clock::now() + kLingerTotal;
  return 0;
}

int Http2Session::on_stream_close(std::int32_t stream_id, std::uint32_t /*error_code*/) {
  Stream* stream = find(stream_id);
  if (stream == nullptr) return 0;
  if (!stream->answered) {
    // Reset before its answer, by either side (RST_STREAM, or a stream error the client
    // provoked): work the client made the gateway do for nothing.
    if (auto flood = flood_guard_.on_stream_reset(mono_now())) {
      terminate(NGHTTP2_ENHANCE_YOUR_CALM, *flood);
    }
  }
  stream->closed = true;
  if (stream->phase == Stream::Phase::kForwarding) return 0;  // serve() erases it
  release_body(*stream);
  streams_.erase(stream_id);
  if (streams_.empty()) idle_since_ = std::chrono::steady_clock::now();
  return 0;
}

void Http2Session::release_body(Stream& stream) {
  auto& body = stream.request.body();
  buffered_body_bytes_ -= std::min<std::uint64_t>(buffered_body_bytes_, body.size());
  body.clear();
  body.shrink_to_fit();
  if (stream.unconsumed > 0 && !stream.closed) {
    nghttp2_session_consume_stream(session_, stream.id, stream.unconsumed);
  }
  stream.unconsumed = 0;
  reopen_windows();
}

void Http2Session::reopen_windows() {
  for (auto& [id, stream] : streams_) {
    if (buffered_body_bytes_ > limits_.connection_body_bytes) break;
    if (stream->unconsumed == 0 || stream->closed) continue;
    nghttp2_session_consume_stream(session_, id, stream->unconsumed);
    stream->unconsumed = 0;
  }
}

}  // namespace mla::http2
