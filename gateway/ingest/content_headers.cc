#include "gateway/ingest/content_headers.h"

#include <cstddef>

namespace mla::ingest {
namespace {

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

ContentType parse_content_type(std::string_view header) {
  ContentType result;
  std::size_t semicolon = header.find(';');
  result.media_type = trim(header.substr(0, semicolon));
  while (semicolon != std::string_view::npos) {
    header.remove_prefix(semicolon + 1);
    semicolon = header.find(';');
    const std::string_view param = trim(header.substr(0, semicolon));
    if (param.empty()) continue;  // tolerate "a/b;" and "a/b;;c=d"
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      result.valid = false;
      return result;
    }
    const std::string_view name = trim(param.substr(0, eq));
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (iequals(name, "proto")) {
      result.proto = value;
      result.has_proto = true;
    }
  }
  return result;
}

ContentEncoding parse_content_encoding(std::string_view header) {
  const std::string_view coding = trim(header);
  if (coding.empty() || iequals(coding, "identity")) return ContentEncoding::kIdentity;
  if (iequals(coding, "snappy")) return ContentEncoding::kSnappy;
  if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) return ContentEncoding::kGzip;
  if (iequals(coding, "deflate")) return ContentEncoding::kDeflate;
  return ContentEncoding::kUnsupported;
}

}  // namespace mla::ingest
