#include "gateway/tls/file_fingerprint.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace mla::tls {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fingerprint-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& file, const std::string& text) { std::ofstream(file) << text; }

TEST_CASE("the fingerprint changes when a file is replaced, rewritten or removed", "[tls]") {
  TempDir dir;
  const fs::path cert = dir.path / "tls.crt";
  write(cert, "one");
  const std::vector<std::string> files = {cert.string(), ""};
  const std::string first = files_fingerprint(files);
  CHECK(files_fingerprint(files) == first);  // stable while nothing changes

  SECTION("replaced by rename (same size, new inode)") {
    write(dir.path / "new.crt", "two");
    fs::rename(dir.path / "new.crt", cert);
    CHECK(files_fingerprint(files) != first);
  }
  SECTION("rewritten with another size") {
    write(cert, "three");
    CHECK(files_fingerprint(files) != first);
  }
  SECTION("removed, then back") {
    fs::remove(cert);
    const std::string gone = files_fingerprint(files);
    CHECK(gone != first);
    CHECK_THAT(gone, Catch::Contains("missing"));
    write(cert, "one");
    CHECK(files_fingerprint(files) != gone);
  }
  SECTION("a Kubernetes-style ..data symlink swap") {
    fs::create_directory(dir.path / "v1");
    fs::create_directory(dir.path / "v2");
    write(dir.path / "v1" / "tls.key", "key");
    write(dir.path / "v2" / "tls.key", "key");
    fs::create_directory_symlink("v1", dir.path / "..data");
    fs::create_symlink(dir.path / "..data" / "tls.key", dir.path / "tls.key");
    const std::vector<std::string> linked = {(dir.path / "tls.key").string()};
    const std::string before = files_fingerprint(linked);
    fs::create_directory_symlink("v2", dir.path / "..data_tmp");
    fs::rename(dir.path / "..data_tmp", dir.path / "..data");
    CHECK(files_fingerprint(linked) != before);
  }
}

}  // namespace
}  // namespace mla::tls
