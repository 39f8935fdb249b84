#include "gateway/admin/prometheus_text.h"

#include <fmt/format.h>

#include <cmath>

namespace mla::admin {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string escape_help(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

void TextWriter::header(std::string_view name, std::string_view type, std::string_view help) {
  fmt::format_to(std::back_inserter(out_), "# HELP {} {}\n# TYPE {} {}\n", name, escape_help(help),
                 name, type);
}

void TextWriter::series(std::string_view name, std::string_view suffix, Labels labels,
                        std::string_view extra_name, std::string_view extra_value) {
  out_.append(name).append(suffix);
  if (labels.size() == 0 && extra_name.empty()) {
    out_ += ' ';
    return;
  }
  char separator = '{';
  for (const Label& label : labels) {
    fmt::format_to(std::back_inserter(out_), "{}{}=\"{}\"", separator, label.name,
                   escape_label_value(label.value));
    separator = ',';
  }
  if (!extra_name.empty()) {
    fmt::format_to(std::back_inserter(out_), "{}{}=\"{}\"", separator, extra_name,
                   escape_label_value(extra_value));
  }
  out_ += "} ";
}

void TextWriter::sample(std::string_view name, Labels labels, double value) {
  series(name, "", labels);
  out_.append(format_value(value)).push_back('\n');
}

void TextWriter::sample(std::string_view name, Labels labels, std::uint64_t value) {
  series(name, "", labels);
  out_.append(std::to_string(value)).push_back('\n');
}

void TextWriter::histogram(std::string_view name, Labels labels,
                           const common::Histogram::Snapshot& h) {
  for (std::size_t i = 0; i < common::kDurationBuckets.size(); ++i) {
    series(name, "_bucket", labels, "le", format_value(common::kDurationBuckets[i]));
    out_.append(std::to_string(h.cumulative[i])).push_back('\n');
  }
  series(name, "_bucket", labels, "le", "+Inf");
  out_.append(std::to_string(h.count)).push_back('\n');
  series(name, "_sum", labels);
  out_.append(format_value(h.sum)).push_back('\n');
  series(name, "_count", labels);
  out_.append(std::to_string(h.count)).push_back('\n');
}

}  // namespace mla::admin
