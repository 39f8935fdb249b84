// libFuzzer target for the config loader: the input is a YAML document, loaded as a config file
// would be but without checking that the files it names exist (check_files=false). Rejecting the
// input with a ConfigError is the expected outcome for almost every input; any other exception
// (including a yaml-cpp one that escaped the loader), a crash or a sanitizer report is a bug.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gateway/config/loader.h"

namespace {

constexpr char kSourceName[] = "fuzz.yaml";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    (void)mla::config::load_config_string(yaml, kSourceName, /*check_files=*/false);
  } catch (const mla::config::ConfigError& e) {
    // loader.h promises every error names the source and line:column ("fuzz.yaml:12:5: ...").
    const std::string_view message = e.what();
    if (!message.starts_with(std::string(kSourceName) + ":")) std::abort();
  }
  return 0;
}
