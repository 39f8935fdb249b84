// Value types shared by the payload scanners: what a request carries (Counts), how far a scan may
// go (ScanLimits), the per-worker scratch memory (ScanBuffers) and the outcome (ScanResult).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace mla::ingest {

inline constexpr std::size_t kDefaultMaxDecompressedBytes = std::size_t{64} << 20;  // 64 MiB
inline constexpr std::size_t kDefaultRetainedBufferBytes = std::size_t{8} << 20;    // 8 MiB

// What one push request carries, counted the way Cortex and Loki count it (DESIGN.md §4).
struct Counts {
  std::uint64_t series = 0;      // remote-write TimeSeries; Loki streams
  std::uint64_t samples = 0;     // float samples
  std::uint64_t histograms = 0;  // native histogram samples
  std::uint64_t exemplars = 0;
  std::uint64_t metadata = 0;   // v1: WriteRequest.metadata entries; v2: series carrying metadata
  std::uint64_t log_lines = 0;  // Loki entries
  std::uint64_t log_bytes = 0;  // Loki line bytes + structured metadata (name + value) bytes

  // Remote-write cost unit (DESIGN.md §4): metadata is reported but costs nothing.
  std::uint64_t metric_cost() const { return samples + histograms + exemplars; }

  bool operator==(const Counts&) const = default;
};

// The request headers the scanner needs, as received (values not yet trimmed or lowercased).
// An absent header is an empty view.
struct RequestInfo {
  std::string_view content_type;
  std::string_view content_encoding;
};

struct ScanLimits {
  // Upper bound on the output of every decompression step (Content-Encoding layer, then the
  // format's own snappy layer). Beyond it the request is answered 413 without decompressing
  // further, so a small body cannot expand into unbounded memory.
  std::size_t max_decompressed_bytes = kDefaultMaxDecompressedBytes;
  // After a scan, scratch buffers whose capacity exceeds this are released, so one huge request
  // does not pin max_decompressed_bytes per worker forever.
  std::size_t retained_buffer_bytes = kDefaultRetainedBufferBytes;
};

// Reusable decompression buffers. Owned by one worker thread and passed to every scan on that
// thread; contents are meaningless between calls, only the capacity is reused so a steady stream
// of requests does not allocate. Not thread-safe.
struct ScanBuffers {
  std::string content;  // output of the Content-Encoding layer (gzip/deflate/snappy wrapper)
  std::string payload;  // output of the format's snappy layer (the protobuf message)
};

// Outcome of a scan: Counts when ok(), else an HTTP status (400 undecodable, 413 decompressed
// size over the limit, 415 unsupported Content-Type/Content-Encoding) and a one-line reason that
// is safe to send to the client (no control characters).
struct ScanResult {
  Counts counts;
  int http_status = 0;  // 0 when ok
  std::string reason;

  bool ok() const { return http_status == 0; }

  static ScanResult success(const Counts& counts) { return {counts, 0, {}}; }
  static ScanResult failure(int http_status, std::string reason) {
    return {{}, http_status, std::move(reason)};
  }
};

}  // namespace mla::ingest
