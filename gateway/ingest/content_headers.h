// Parsing of the two request headers that select a payload decoder: Content-Type (media type and
// its `proto` parameter, RFC 9110 §8.3) and Content-Encoding (a single coding). Pure functions over
// borrowed views; nothing is allocated and the results point into the header value.
#pragma once

#include <string_view>

namespace mla::ingest {

// ASCII case-insensitive equality (header tokens are ASCII).
bool iequals(std::string_view a, std::string_view b);

struct ContentType {
  std::string_view media_type;  // "type/subtype" without parameters, trimmed, original case
  std::string_view proto;       // value of the `proto` parameter, quotes removed
  bool has_proto = false;
  bool valid = true;  // false for a syntactically broken value (e.g. a parameter without '=')
};

ContentType parse_content_type(std::string_view header);

enum class ContentEncoding {
  kIdentity,  // header absent, empty or "identity"
  kSnappy,
  kGzip,  // also "x-gzip"
  kDeflate,
  kUnsupported,  // anything else, including lists of several codings
};

ContentEncoding parse_content_encoding(std::string_view header);

}  // namespace mla::ingest
