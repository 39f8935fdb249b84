// Prometheus text exposition format 0.0.4: HELP/TYPE lines, samples with escaped label values,
// histograms as _bucket/_sum/_count. Pure string building, no I/O; not thread-safe (one writer per
// scrape).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "gateway/common/metrics.h"

namespace mla::admin {

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

struct Label {
  std::string_view name;
  std::string_view value;
};
using Labels = std::initializer_list<Label>;

// Label values: backslash, double quote and line feed escaped (\\, \", \n).
std::string escape_label_value(std::string_view value);
// HELP text: backslash and line feed escaped.
std::string escape_help(std::string_view text);
// A sample value as Prometheus parses it: shortest round-trip decimal, +Inf, -Inf, NaN.
std::string format_value(double value);

class TextWriter {
 public:
  // The HELP and TYPE lines; once per metric name, before its samples. `type` is counter, gauge,
  // histogram or untyped.
  void header(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, Labels labels, double value);
  void sample(std::string_view name, Labels labels, std::uint64_t value);
  // name_bucket{...,le="..."} for every bucket and +Inf, then name_sum and name_count.
  void histogram(std::string_view name, Labels labels, const common::Histogram::Snapshot& h);

  const std::string& text() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void series(std::string_view name, std::string_view suffix, Labels labels,
              std::string_view extra_name = {}, std::string_view extra_value = {});

  std::string out_;
};

}  // namespace mla::admin
