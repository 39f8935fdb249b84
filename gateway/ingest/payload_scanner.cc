#include "gateway/ingest/payload_scanner.h"

#include <string>

#include "gateway/ingest/content_headers.h"
#include "gateway/ingest/decompress.h"
#include "gateway/ingest/loki_json_scanner.h"
#include "gateway/ingest/loki_scanner.h"
#include "gateway/ingest/remote_write_scanner.h"

namespace mla::ingest {
namespace {

constexpr int kBadRequest = 400;
constexpr int kTooLarge = 413;
constexpr int kUnsupportedMediaType = 415;

constexpr std::string_view kProtobufMediaType = "application/x-protobuf";
constexpr std::string_view kJsonMediaType = "application/json";
constexpr std::string_view kProtoV1 = "prometheus.WriteRequest";
constexpr std::string_view kProtoV2 = "io.prometheus.write.v2.Request";

// Maps a failed decompression step to the answer; `what` names the layer ("snappy", "gzip").
ScanResult decompress_failure(DecompressStatus status, std::string_view what,
                              const ScanLimits& limits) {
  if (status == DecompressStatus::kTooLarge) {
    return ScanResult::failure(kTooLarge, "decompressed " + std::string(what) + " body exceeds " +
                                              std::to_string(limits.max_decompressed_bytes) +
                                              " bytes");
  }
  return ScanResult::failure(kBadRequest, "invalid " + std::string(what) + " data");
}

// Clips what a client sent before echoing it in a reason.
std::string quoted(std::string_view value) {
  constexpr std::size_t kMax = 100;
  std::string out = "\"";
  for (char c : value.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
  }
  if (value.size() > kMax) out += "...";
  out += '"';
  return out;
}

ScanResult scan_remote_write(const RequestInfo& info, std::string_view body, ScanBuffers& scratch,
                             const ScanLimits& limits) {
  const ContentEncoding encoding = parse_content_encoding(info.content_encoding);
  if (encoding != ContentEncoding::kSnappy && encoding != ContentEncoding::kIdentity) {
    return ScanResult::failure(kUnsupportedMediaType, "unsupported Content-Encoding " +
                                                          quoted(info.content_encoding) +
                                                          " for remote write (want snappy)");
  }
  bool v2 = false;
  if (!info.content_type.empty()) {
    const ContentType type = parse_content_type(info.content_type);
    if (!type.valid || !iequals(type.media_type, kProtobufMediaType) ||
        (type.has_proto && type.proto != kProtoV1 && type.proto != kProtoV2)) {
      return ScanResult::failure(kUnsupportedMediaType,
                                 "unsupported Content-Type " + quoted(info.content_type) +
                                     " for remote write (want application/x-protobuf with "
                                     "proto=prometheus.WriteRequest or "
                                     "io.prometheus.write.v2.Request)");
    }
    v2 = type.has_proto && type.proto == kProtoV2;
  }
  const DecompressStatus status =
      snappy_uncompress(body, limits.max_decompressed_bytes, scratch.payload);
  if (status != DecompressStatus::kOk) return decompress_failure(status, "snappy", limits);

  Counts counts;
  std::string reason;
  const bool ok = v2 ? scan_remote_write_v2(scratch.payload, counts, reason)
                     : scan_remote_write_v1(scratch.payload, counts, reason);
  if (!ok) return ScanResult::failure(kBadRequest, std::move(reason));
  return ScanResult::success(counts);
}

ScanResult scan_loki(const RequestInfo& info, std::string_view body, ScanBuffers& scratch,
                     const ScanLimits& limits) {
  // Loki looks at the media type only; broken parameters do not turn JSON into protobuf.
  const bool json = iequals(parse_content_type(info.content_type).media_type, kJsonMediaType);

  // Content-Encoding layer.
  std::string_view data = body;
  DecompressStatus status = DecompressStatus::kOk;
  switch (parse_content_encoding(info.content_encoding)) {
    case ContentEncoding::kIdentity: break;
    case ContentEncoding::kSnappy:
      if (json) {
        status = snappy_uncompress(body, limits.max_decompressed_bytes, scratch.content);
        if (status != DecompressStatus::kOk) return decompress_failure(status, "snappy", limits);
        data = scratch.content;
      }
      // Protobuf: this is the format's own snappy layer, decoded below.
      break;
    case ContentEncoding::kGzip:
      status =
          zlib_uncompress(body, ZlibFormat::kGzip, limits.max_decompressed_bytes, scratch.content);
      if (status != DecompressStatus::kOk) return decompress_failure(status, "gzip", limits);
      data = scratch.content;
      break;
    case ContentEncoding::kDeflate:
      status = zlib_uncompress(body, ZlibFormat::kDeflate, limits.max_decompressed_bytes,
                               scratch.content);
      if (status != DecompressStatus::kOk) return decompress_failure(status, "deflate", limits);
      data = scratch.content;
      break;
    case ContentEncoding::kUnsupported:
      return ScanResult::failure(kUnsupportedMediaType,
                                 "unsupported Content-Encoding " + quoted(info.content_encoding) +
                                     " for Loki push (want gzip, deflate or snappy)");
  }

  Counts counts;
  std::string reason;
  if (json) {
    if (!scan_loki_json(data, counts, reason)) {
      return ScanResult::failure(kBadRequest, std::move(reason));
    }
    return ScanResult::success(counts);
  }
  status = snappy_uncompress(data, limits.max_decompressed_bytes, scratch.payload);
  if (status != DecompressStatus::kOk) return decompress_failure(status, "snappy", limits);
  if (!scan_loki_proto(scratch.payload, counts, reason)) {
    return ScanResult::failure(kBadRequest, std::move(reason));
  }
  return ScanResult::success(counts);
}

void release_if_large(std::string& buffer, std::size_t keep) {
  if (buffer.capacity() > keep) std::string().swap(buffer);
}

}  // namespace

ScanResult scan_payload(config::RouteKind kind, const RequestInfo& info, std::string_view body,
                        ScanBuffers& scratch, const ScanLimits& limits) {
  ScanResult result;
  switch (kind) {
    case config::RouteKind::kPrometheusRemoteWrite:
      result = scan_remote_write(info, body, scratch, limits);
      break;
    case config::RouteKind::kLokiPush: result = scan_loki(info, body, scratch, limits); break;
    case config::RouteKind::kPassthrough: return ScanResult::success({});
  }
  release_if_large(scratch.content, limits.retained_buffer_bytes);
  release_if_large(scratch.payload, limits.retained_buffer_bytes);
  return result;
}

}  // namespace mla::ingest
