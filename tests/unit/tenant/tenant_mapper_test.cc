#include "gateway/tenant/tenant_mapper.h"

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/test_certs.h"

namespace mla::tenant {
namespace {

using config::TenantConfig;
using config::TenantSource;
using testing::CertOptions;

TenantConfig make_config(TenantSource source, std::string pattern = "",
                         std::vector<std::string> allowed = {}, std::string fixed = "") {
  TenantConfig config;
  config.source = source;
  config.pattern = std::move(pattern);
  config.allowed = std::move(allowed);
  config.fixed = std::move(fixed);
  return config;
}

struct CertCase {
  const char* intent;
  TenantConfig config;
  CertOptions cert;
  std::string tenant;  // expected on success
  std::string error;   // expected error (exact) on failure
};

TEST_CASE("tenant mapper derives the tenant from each certificate source", "[tenant]") {
  testing::TempDir dir;
  testing::TestCa ca(dir.path());
  const std::string nul_cn("bad\0cn", 6);

  std::vector<CertCase> cases = {
      {"subject CN as is",
       make_config(TenantSource::kSubjectCn),
       {.common_name = "cluster-abc"},
       "cluster-abc",
       ""},
      {"subject CN through a pattern",
       make_config(TenantSource::kSubjectCn, R"(^([a-z0-9]+)\.clusters\.example$)"),
       {.common_name = "abc123.clusters.example"},
       "abc123",
       ""},
      {"pattern is unanchored (PartialMatch)",
       make_config(TenantSource::kSubjectCn, "cluster-([a-z]+)"),
       {.common_name = "mla.cluster-xyz.seed"},
       "xyz",
       ""},
      {"subject CN not matching the pattern",
       make_config(TenantSource::kSubjectCn, R"(^cluster-(\w+)$)"),
       {.common_name = "foo bar"},
       "",
       R"(subject CN "foo bar" does not match tenant.pattern)"},
      {"subject CN that is no valid tenant ID",
       make_config(TenantSource::kSubjectCn),
       {.common_name = "foo bar"},
       "",
       R"(tenant ID "foo bar" is invalid)"},
      {"certificate without CN",
       make_config(TenantSource::kSubjectCn),
       {.dns_names = {"a.example"}},
       "",
       "certificate has no subject CN"},
      {"CN with an embedded NUL is refused, not truncated",
       make_config(TenantSource::kSubjectCn),
       {.common_name = nul_cn},
       "",
       R"(subject CN "bad\x00cn" contains a NUL byte)"},
      {"each OU is tried in order",
       make_config(TenantSource::kSubjectOu),
       {.common_name = "x", .organizational_units = {"not valid", "team-a"}},
       "team-a",
       ""},
      {"certificate without OU",
       make_config(TenantSource::kSubjectOu),
       {.common_name = "x"},
       "",
       "certificate has no subject OU"},
      {"each SAN DNS name is tried in order",
       make_config(TenantSource::kSanDns, R"(^([^.]+)\.tenants\.example$)"),
       {.common_name = "x", .dns_names = {"gw.other.example", "tenant-1.tenants.example"}},
       "tenant-1",
       ""},
      {"all SAN DNS names fail: the first one's reason",
       make_config(TenantSource::kSanDns, R"(^([^.]+)\.tenants\.example$)"),
       {.common_name = "x", .dns_names = {"gw.other.example", "b.other.example"}},
       "",
       R"(SAN DNS name "gw.other.example" does not match tenant.pattern)"},
      {"certificate without SAN DNS",
       make_config(TenantSource::kSanDns),
       {.common_name = "x", .uris = {"spiffe://a/b"}},
       "",
       "certificate has no SAN DNS names"},
      {"SAN DNS with an embedded NUL is skipped",
       make_config(TenantSource::kSanDns),
       {.dns_names = {std::string("evil\0x", 6), "good"}},
       "good",
       ""},
      {"SAN URI through a pattern",
       make_config(TenantSource::kSanUri, "^spiffe://mla/tenant/([^/]+)$"),
       {.common_name = "x", .uris = {"https://example.com/", "spiffe://mla/tenant/abc"}},
       "abc",
       ""},
      {"certificate without SAN URI",
       make_config(TenantSource::kSanUri),
       {.common_name = "x", .dns_names = {"a.example"}},
       "",
       "certificate has no SAN URIs"},
      {"allowed tenant",
       make_config(TenantSource::kSubjectCn, "", {"cluster-a", "cluster-b"}),
       {.common_name = "cluster-b"},
       "cluster-b",
       ""},
      {"tenant outside the allow-list",
       make_config(TenantSource::kSubjectCn, "", {"cluster-a"}),
       {.common_name = "cluster-b"},
       "",
       R"(tenant "cluster-b" is not in tenant.allowed)"},
      {"fixed ignores the certificate",
       make_config(TenantSource::kFixed, "", {}, "kkp-cluster"),
       {.common_name = "something-else"},
       "kkp-cluster",
       ""},
  };

  for (const auto& c : cases) {
    SECTION(c.intent) {
      auto cert = ca.issue(c.cert);
      TenantMapper mapper(c.config);
      TenantResult result = mapper.map(cert.cert.get());
      CHECK(result.error == c.error);
      CHECK(result.tenant == c.tenant);
      CHECK(result.ok() == c.error.empty());
    }
  }
}

TEST_CASE("fixed source works without a certificate; others need one", "[tenant]") {
  TenantMapper fixed(make_config(TenantSource::kFixed, "", {}, "kkp-cluster"));
  CHECK(fixed.map(nullptr).tenant == "kkp-cluster");

  TenantMapper bad_fixed(make_config(TenantSource::kFixed, "", {}, ".."));
  CHECK(bad_fixed.map(nullptr).error == R"(tenant ID ".." is invalid)");

  TenantMapper not_allowed(make_config(TenantSource::kFixed, "", {"a"}, "b"));
  CHECK(not_allowed.map(nullptr).error == R"(tenant "b" is not in tenant.allowed)");

  TenantMapper by_cn(make_config(TenantSource::kSubjectCn));
  CHECK(by_cn.map(nullptr).error == "no client certificate");
}

TEST_CASE("map_value applies pattern, ID rules and allow-list to one value", "[tenant]") {
  TenantMapper plain(make_config(TenantSource::kSanDns));
  CHECK(plain.map_value("cluster-1").tenant == "cluster-1");
  CHECK(plain.map_value("a/b").error == R"(tenant ID "a/b" is invalid)");
  // Control bytes are escaped so the error stays on one line.
  CHECK(plain.map_value("a\nb").error == R"(tenant ID "a\x0ab" is invalid)");

  TenantMapper anchored(make_config(TenantSource::kSanDns, "^cluster-([a-z0-9]+)$", {"abc"}));
  CHECK(anchored.map_value("cluster-abc").tenant == "abc");
  CHECK(anchored.map_value("cluster-def").error == R"(tenant "def" is not in tenant.allowed)");
  CHECK(anchored.map_value("x-cluster-abc").error ==
        R"(value "x-cluster-abc" does not match tenant.pattern)");

  // An optional group that did not participate captures "", which is no tenant.
  TenantMapper optional(make_config(TenantSource::kSanDns, "^(x)?y$"));
  CHECK(optional.map_value("y").error == R"(tenant ID "" is invalid)");
}

TEST_CASE("tenant pattern must compile and have exactly one capture group", "[tenant]") {
  CHECK_THROWS_AS(TenantMapper(make_config(TenantSource::kSubjectCn, "(")), std::invalid_argument);
  CHECK_THROWS_WITH(TenantMapper(make_config(TenantSource::kSubjectCn, "abc")),
                    Catch::Contains("exactly one capture group"));
  CHECK_THROWS_WITH(TenantMapper(make_config(TenantSource::kSubjectCn, "(a)(b)")),
                    Catch::Contains("has 2"));
  CHECK_NOTHROW(TenantMapper(make_config(TenantSource::kSubjectCn, "(?:a)(b)")));
}

TEST_CASE("tenant ID rules follow Cortex/Loki", "[tenant]") {
  struct IdCase {
    std::string id;
    bool valid;
  };
  const std::vector<IdCase> cases = {
      {"a", true},
      {"cluster-ABC_1", true},
      {"!-_.*'()", true},
      {"...", true},
      {std::string(150, 'x'), true},
      {"", false},
      {".", false},
      {"..", false},
      {std::string(151, 'x'), false},
      {"a b", false},
      {"a/b", false},
      {"a\\b", false},
      {"a:b", false},
      {"t\xc3\xbcr", false},  // "tür"
      {std::string("a\0b", 3), false},
      {"a\tb", false},
  };
  for (const auto& c : cases) {
    INFO("id \"" << c.id << "\" (" << c.id.size() << " bytes)");
    CHECK(is_valid_tenant_id(c.id) == c.valid);
  }
}

TEST_CASE("client names are the subject CN and every SAN DNS name", "[tenant]") {
  testing::TempDir dir;
  testing::TestCa ca(dir.path());

  auto full = ca.issue(
      {.common_name = "logging-agent", .dns_names = {"a.example", "b.example"}, .uris = {"x:y"}});
  CHECK(certificate_client_names(full.cert.get()) ==
        std::vector<std::string>{"logging-agent", "a.example", "b.example"});

  auto no_cn = ca.issue({.dns_names = {"only.example"}});
  CHECK(certificate_client_names(no_cn.cert.get()) == std::vector<std::string>{"only.example"});

  auto nul = ca.issue({.common_name = std::string("a\0b", 3), .dns_names = {"ok.example"}});
  CHECK(certificate_client_names(nul.cert.get()) == std::vector<std::string>{"ok.example"});

  CHECK(certificate_client_names(nullptr).empty());
}

}  // namespace
}  // namespace mla::tenant
