#include "gateway/ingest/loki_json_scanner.h"

#include <array>
#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>

namespace mla::ingest {
namespace {

using Json = nlohmann::json;

constexpr std::size_t kMaxReasonBytes = 200;

// Containers of the known schema, innermost last on the stack.
enum class Frame : std::uint8_t {
  kRoot,     // {...}
  kStreams,  // "streams": [...]
  kStream,   // {"stream":..., "values":...}
  kLabels,   // "stream": {...}
  kValues,   // "values": [...]
  kEntry,    // ["<ns>", "line", {...}]
  kMeta,     // structured metadata {...}
};

// What the next value is, derived from the innermost frame and the last key.
enum class Slot : std::uint8_t {
  kDocument,
  kStreamsValue,
  kStreamElement,
  kLabelsValue,
  kLabelValue,
  kValuesValue,
  kEntryValue,
  kTimestamp,
  kLine,
  kMetaValue,  // the metadata object itself
  kMetaPairValue,
  kTooManyEntryElements,
  kIgnored,  // value of an unknown key
};

// The known schema is 6 frames deep; unknown subtrees are tracked by a counter, not frames.
constexpr std::size_t kMaxFrames = 8;

class LokiJsonHandler {
 public:
  explicit LokiJsonHandler(Counts& counts) : counts_(counts) {}

  const std::string& reason() const { return reason_; }

  bool null() { return scalar(/*is_null=*/true); }
  bool boolean(bool) { return scalar(false); }
  bool number_integer(Json::number_integer_t) { return scalar(false); }
  bool number_unsigned(Json::number_unsigned_t) { return scalar(false); }
  bool number_float(Json::number_float_t, const Json::string_t&) { return scalar(false); }
  bool binary(Json::binary_t&) { return scalar(false); }

  bool string(Json::string_t& value) {
    if (skip_depth_ > 0) return true;
    switch (take_slot()) {
      case Slot::kIgnored:
      case Slot::kLabelValue:
      case Slot::kTimestamp: return true;
      case Slot::kLine:  // line bytes and structured-metadata values both count
      case Slot::kMetaPairValue: counts_.log_bytes += value.size(); return true;
      default: return shape_error("unexpected string");
    }
  }

  bool start_object(std::size_t) {
    if (skip_depth_ > 0) return enter_skip();
    switch (take_slot()) {
      case Slot::kDocument: return push(Frame::kRoot);
      case Slot::kStreamElement: ++counts_.series; return push(Frame::kStream);
      case Slot::kLabelsValue: return push(Frame::kLabels);
      case Slot::kMetaValue: return push(Frame::kMeta);
      case Slot::kIgnored: return enter_skip();
      default: return shape_error("unexpected object");
    }
  }

  bool start_array(std::size_t) {
    if (skip_depth_ > 0) return enter_skip();
    switch (take_slot()) {
      case Slot::kStreamsValue: return push(Frame::kStreams);
      case Slot::kValuesValue: return push(Frame::kValues);
      case Slot::kEntryValue: entry_elements_ = 0; return push(Frame::kEntry);
      case Slot::kIgnored: return enter_skip();
      default: return shape_error("unexpected array");
    }
  }

  bool key(Json::string_t& name) {
    if (skip_depth_ > 0) return true;
    pending_ = Slot::kIgnored;
    switch (top()) {
      case Frame::kRoot:
        if (name == "streams") pending_ = Slot::kStreamsValue;
        break;
      case Frame::kStream:
        if (name == "stream") pending_ = Slot::kLabelsValue;
        if (name == "values") pending_ = Slot::kValuesValue;
        break;
      case Frame::kLabels: pending_ = Slot::kLabelValue; break;
      case Frame::kMeta:
        counts_.log_bytes += name.size();
        pending_ = Slot::kMetaPairValue;
        break;
      default: break;
    }
    return true;
  }

  bool end_object() { return leave(); }

  bool end_array() {
    if (skip_depth_ == 0 && depth_ > 0 && top() == Frame::kEntry) {
      if (entry_elements_ < 2) return shape_error("a values entry needs [\"<ns>\", \"line\"]");
      ++counts_.log_lines;
    }
    return leave();
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) {
    std::string_view what = error.what();
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    if (const auto bracket = what.find("] ");
        !what.empty() && what[0] == '[' && bracket != std::string_view::npos) {
      what.remove_prefix(bracket + 2);
    }
    reason_ = "invalid JSON: ";
    reason_ += what;
    return false;
  }

 private:
  Frame top() const { return frames_[depth_ - 1]; }

  // The slot the current value fills; consumes the pending key and advances entry positions.
  Slot take_slot() {
    if (depth_ == 0) return Slot::kDocument;
    switch (top()) {
      case Frame::kStreams: return Slot::kStreamElement;
      case Frame::kValues: return Slot::kEntryValue;
      case Frame::kEntry:
        switch (entry_elements_++) {
          case 0: return Slot::kTimestamp;
          case 1: return Slot::kLine;
          case 2: return Slot::kMetaValue;
          default: return Slot::kTooManyEntryElements;
        }
      default: {
        const Slot slot = pending_;
        pending_ = Slot::kIgnored;
        return slot;
      }
    }
  }

  bool scalar(bool is_null) {
    if (skip_depth_ > 0) return true;
    switch (take_slot()) {
      case Slot::kIgnored: return true;
      // A null list or map decodes to an empty one in Go, as Loki does.
      case Slot::kStreamsValue:
      case Slot::kLabelsValue:
      case Slot::kValuesValue:
      case Slot::kMetaValue: return is_null || shape_error("expected an array or object");
      default: return shape_error(is_null ? "unexpected null" : "unexpected scalar");
    }
  }

  bool push(Frame frame) {
    if (depth_ == kMaxFrames) return shape_error("nesting too deep");
    frames_[depth_++] = frame;
    return true;
  }

  bool enter_skip() {
    if (++skip_depth_ > kMaxJsonSkipDepth) return shape_error("nesting too deep");
    return true;
  }

  bool leave() {
    if (skip_depth_ > 0) {
      --skip_depth_;
    } else if (depth_ > 0) {
      --depth_;
    }
    return true;
  }

  bool shape_error(std::string_view what) {
    static constexpr std::array<std::string_view, 7> kWhere = {
        "document",   "\"streams\"",    "a stream",           "\"stream\"",
        "\"values\"", "a values entry", "structured metadata"};
    reason_ = "invalid Loki push JSON: ";
    reason_ += what;
    reason_ += " in ";
    reason_ += depth_ == 0 ? std::string_view("document") : kWhere[static_cast<int>(top())];
    if (depth_ > 0 && top() == Frame::kEntry) {
      reason_ += " (expected [\"<ns>\", \"line\"] or [\"<ns>\", \"line\", {...}])";
    }
    return false;
  }

  Counts& counts_;
  std::array<Frame, kMaxFrames> frames_{};
  std::size_t depth_ = 0;
  int skip_depth_ = 0;
  int entry_elements_ = 0;
  Slot pending_ = Slot::kIgnored;
  std::string reason_;
};

// Keeps the reason printable and short: it goes into a response body and logs.
void to_one_line(std::string& text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (text.size() > kMaxReasonBytes) {
    text.resize(kMaxReasonBytes);
    text += "...";
  }
}

}  // namespace

bool scan_loki_json(std::string_view body, Counts& counts, std::string& reason) {
  LokiJsonHandler handler(counts);
  bool ok = false;
  try {
    ok = Json::sax_parse(body.begin(), body.end(), &handler);
  } catch (const std::exception& e) {
    // sax_parse reports syntax errors through parse_error(); only allocation failure gets here.
    reason = std::string("invalid JSON: ") + e.what();
    to_one_line(reason);
    return false;
  }
  if (!ok) {
    reason = handler.reason().empty() ? std::string("invalid JSON") : handler.reason();
    to_one_line(reason);
    return false;
  }
  return true;
}

}  // namespace mla::ingest
