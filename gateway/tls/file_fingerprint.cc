#include "gateway/tls/file_fingerprint.h"

#include <fmt/format.h>
#include <sys/stat.h>

namespace mla::tls {

std::string files_fingerprint(const std::vector<std::string>& files) {
  std::string out;
  for (const std::string& file : files) {
    if (file.empty()) continue;
    struct stat info {};
    if (::stat(file.c_str(), &info) != 0) {
      out += fmt::format("{}:missing;", file);
      continue;
    }
    out += fmt::format("{}:{}:{}:{}:{}.{};", file, info.st_dev, info.st_ino, info.st_size,
                       info.st_mtim.tv_sec, info.st_mtim.tv_nsec);
  }
  return out;
}

}  // namespace mla::tls
