#include "gateway/ctl/api_request.h"

#include <nlohmann/json.hpp>

namespace mla::ctl {
namespace {

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

std::string percent_encode(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char ch : segment) {
    auto c = static_cast<unsigned char>(ch);
    if (unreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string tenant_action_path(std::string_view tenant, std::string_view action) {
  std::string path = "/api/v1/tenants/";
  path += percent_encode(tenant);
  path += '/';
  path += action;
  return path;
}

std::string disable_body(const std::optional<std::string>& reason,
                         const std::optional<std::string>& duration) {
  if (!reason && !duration) return "";
  nlohmann::ordered_json body = nlohmann::ordered_json::object();
  if (reason) body["reason"] = *reason;
  if (duration) body["duration"] = *duration;
  // Replace, not throw, on invalid UTF-8 in --reason: the server then says what it thinks of it.
  return body.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string error_message(std::string_view body, std::string_view reason) {
  auto parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_object()) {
    auto it = parsed.find("error");
    if (it != parsed.end() && it->is_string()) {
      auto text = it->get<std::string>();
      if (!trim(text).empty()) return one_line(trim(text));
    }
  }
  if (!trim(body).empty()) return one_line(trim(body));
  if (!trim(reason).empty()) return one_line(trim(reason));
  return "no reason given";
}

std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7F) ch = ' ';
  }
  return out;
}

}  // namespace mla::ctl
