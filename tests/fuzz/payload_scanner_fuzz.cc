// libFuzzer target for the payload scanner. The first input byte picks a route/header
// combination; in the "raw" modes the rest is the uncompressed protobuf and the harness
// snappy-compresses it, so the fuzzer explores the wire walker instead of spending its time
// producing valid snappy; the other modes feed the bytes to the decompressors as they are.
// Any result other than ok/400/413/415, a crash or a sanitizer report is a bug.
#include <snappy.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/ingest/payload_scanner.h"

namespace {

using mla::config::RouteKind;
using mla::ingest::RequestInfo;

struct Mode {
  RouteKind kind;
  RequestInfo info;
  bool compress;  // snappy-compress the input first
};

constexpr std::string_view kV2 = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

constexpr Mode kModes[] = {
    {RouteKind::kPrometheusRemoteWrite, {"application/x-protobuf", "snappy"}, true},
    {RouteKind::kPrometheusRemoteWrite, {kV2, "snappy"}, true},
    {RouteKind::kLokiPush, {"application/x-protobuf", ""}, true},
    {RouteKind::kLokiPush, {"application/json", ""}, false},
    {RouteKind::kLokiPush, {"application/json", "gzip"}, false},
    {RouteKind::kLokiPush, {"application/x-protobuf", "deflate"}, false},
    {RouteKind::kPrometheusRemoteWrite, {"application/x-protobuf", "snappy"}, false},
    {RouteKind::kLokiPush, {"application/json", "snappy"}, false},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Mode& mode = kModes[data[0] % std::size(kModes)];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string compressed;
  if (mode.compress) {
    snappy::Compress(body.data(), body.size(), &compressed);
    body = compressed;
  }
  // Per-process scratch, as a worker would keep it; small limits keep bombs cheap.
  static mla::ingest::ScanBuffers scratch;
  mla::ingest::ScanLimits limits;
  limits.max_decompressed_bytes = 4 << 20;
  const mla::ingest::ScanResult result =
      mla::ingest::scan_payload(mode.kind, mode.info, body, scratch, limits);
  if (!result.ok() && result.http_status != 400 && result.http_status != 413 &&
      result.http_status != 415) {
    std::abort();
  }
  if (!result.ok() && (result.reason.empty() || result.reason.find('\n') != std::string::npos)) {
    std::abort();
  }
  return 0;
}
