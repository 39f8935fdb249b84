#include "gateway/ingest/decompress.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/ingest/test_codec.h"

namespace mla::ingest {
namespace {

using namespace std::string_literals;
using testing::gzip;
using testing::raw_deflate;
using testing::snappy_block;
using testing::zlib_deflate;

constexpr std::size_t kMiB = 1 << 20;

std::string sample_text() {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + " of some log text\n";
  return text;
}

TEST_CASE("snappy block data round-trips into a reused buffer", "[ingest]") {
  const std::string text = sample_text();
  std::string out;
  REQUIRE(snappy_uncompress(snappy_block(text), kMiB, out) == DecompressStatus::kOk);
  CHECK(out == text);
  const auto capacity = out.capacity();
  REQUIRE(snappy_uncompress(snappy_block("short"), kMiB, out) == DecompressStatus::kOk);
  CHECK(out == "short");
  CHECK(out.capacity() == capacity);  // buffer reused, not reallocated
}

TEST_CASE("snappy rejects corrupt data and oversized claims", "[ingest]") {
  std::string out;
  CHECK(snappy_uncompress("", kMiB, out) == DecompressStatus::kCorrupt);
  CHECK(snappy_uncompress("not snappy", kMiB, out) == DecompressStatus::kCorrupt);
  std::string cut = snappy_block(sample_text());
  cut.resize(cut.size() / 2);
  CHECK(snappy_uncompress(cut, kMiB, out) == DecompressStatus::kCorrupt);
  // A 5-byte header claiming 4 GiB is refused before anything is allocated.
  CHECK(snappy_uncompress("\xff\xff\xff\xff\x0f"s + "abc", kMiB, out) ==
        DecompressStatus::kTooLarge);
  // A real bomb: 8 MiB of zeros (~400 KB of snappy) are refused at a 1 MiB limit.
  const std::string zeros(8 * kMiB, '\0');
  CHECK(snappy_uncompress(snappy_block(zeros), kMiB, out) == DecompressStatus::kTooLarge);
  // Exactly at the limit is fine.
  CHECK(snappy_uncompress(snappy_block(std::string(kMiB, 'a')), kMiB, out) ==
        DecompressStatus::kOk);
}

TEST_CASE("gzip, zlib and raw deflate round-trip", "[ingest]") {
  const std::string text = sample_text();
  std::string out;
  REQUIRE(zlib_uncompress(gzip(text), ZlibFormat::kGzip, kMiB, out) == DecompressStatus::kOk);
  CHECK(out == text);
  REQUIRE(zlib_uncompress(zlib_deflate(text), ZlibFormat::kDeflate, kMiB, out) ==
          DecompressStatus::kOk);
  CHECK(out == text);
  REQUIRE(zlib_uncompress(raw_deflate(text), ZlibFormat::kDeflate, kMiB, out) ==
          DecompressStatus::kOk);
  CHECK(out == text);
}

TEST_CASE("concatenated gzip members decode as one stream", "[ingest]") {
  std::string out;
  REQUIRE(zlib_uncompress(gzip("hello ") + gzip("world"), ZlibFormat::kGzip, kMiB, out) ==
          DecompressStatus::kOk);
  CHECK(out == "hello world");
}

TEST_CASE("gzip and deflate reject corrupt, truncated and trailing data", "[ingest]") {
  const std::string text = sample_text();
  std::string out;
  std::string cut = gzip(text);
  cut.resize(cut.size() - 10);
  CHECK(zlib_uncompress(cut, ZlibFormat::kGzip, kMiB, out) == DecompressStatus::kCorrupt);
  CHECK(zlib_uncompress("", ZlibFormat::kGzip, kMiB, out) == DecompressStatus::kCorrupt);
  CHECK(zlib_uncompress("plain text", ZlibFormat::kGzip, kMiB, out) == DecompressStatus::kCorrupt);
  CHECK(zlib_uncompress(zlib_deflate(text) + "xx", ZlibFormat::kDeflate, kMiB, out) ==
        DecompressStatus::kCorrupt);
  std::string flipped = gzip(text);
  flipped[flipped.size() / 2] ^= 0x55;
  CHECK(zlib_uncompress(flipped, ZlibFormat::kGzip, kMiB, out) != DecompressStatus::kOk);
}

TEST_CASE("gzip and deflate bombs stop at the limit", "[ingest]") {
  const std::string zeros(16 * kMiB, '\0');
  const std::string bomb = gzip(zeros);
  CHECK(bomb.size() * 100 < zeros.size());  // > 100:1
  std::string out;
  CHECK(zlib_uncompress(bomb, ZlibFormat::kGzip, kMiB, out) == DecompressStatus::kTooLarge);
  CHECK(out.size() <= kMiB + 1);
  CHECK(zlib_uncompress(raw_deflate(zeros), ZlibFormat::kDeflate, kMiB, out) ==
        DecompressStatus::kTooLarge);
  // Exactly at the limit is fine, one byte more is not.
  CHECK(zlib_uncompress(gzip(std::string(kMiB, 'z')), ZlibFormat::kGzip, kMiB, out) ==
        DecompressStatus::kOk);
  CHECK(out.size() == kMiB);
  CHECK(zlib_uncompress(gzip(std::string(kMiB + 1, 'z')), ZlibFormat::kGzip, kMiB, out) ==
        DecompressStatus::kTooLarge);
}

}  // namespace
}  // namespace mla::ingest
