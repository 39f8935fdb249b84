#include "gateway/admin/status_page.h"

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

namespace mla::admin {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

TEST_CASE("the status page is one HTML document", "[status_page]") {
  const std::string_view page = status_page_html();
  CHECK(page.starts_with("<!DOCTYPE html>\n"));
  CHECK(page.ends_with("</html>\n"));
  CHECK(contains(page, "<meta charset=\"utf-8\">"));
  CHECK(page.size() < 16 * 1024);  // small: it is served on every page view
}

TEST_CASE("the status page loads nothing from elsewhere", "[status_page]") {
  const std::string page(status_page_html());
  for (const std::string_view banned : {"http://", "https://", "src=", "SRC=", "//cdn", "@import",
                                        "url(", "<iframe", "<img", "<link rel=\"stylesheet\""}) {
    INFO(banned);
    CHECK_FALSE(contains(page, banned));
  }
  CHECK(contains(page, "connect-src 'self'"));  // CSP: only same-origin API calls
  CHECK(contains(page, "default-src 'none'"));
}

TEST_CASE("the status page calls the admin API by relative URLs", "[status_page]") {
  const std::string_view page = status_page_html();
  for (const std::string_view used :
       {"'api/v1/tenants'", "'api/v1/status'", "`api/v1/tenants/${encodeURIComponent(tenant)}/"}) {
    INFO(used);
    CHECK(contains(page, used));
  }
  CHECK_FALSE(contains(page, "'/api/"));  // an absolute path would break behind a path prefix
  CHECK_FALSE(contains(page, "`/api/"));
  CHECK(contains(page, "'Bearer '"));
  CHECK(contains(page, "sessionStorage"));
}

TEST_CASE("the status page inserts data as text only and keeps the test hooks", "[status_page]") {
  const std::string_view page = status_page_html();
  CHECK_FALSE(contains(page, "innerHTML"));
  CHECK_FALSE(contains(page, "outerHTML"));
  CHECK_FALSE(contains(page, "insertAdjacentHTML"));
  CHECK_FALSE(contains(page, "document.write"));
  CHECK_FALSE(contains(page, "eval("));
  for (const std::string_view hook :
       {"tr.dataset.tenant", "td.dataset.field", "button.dataset.action", "'disable'", "'enable'",
        "'enabled'", "'disabled_reason'", "'disabled_until'", "'rejected'"}) {
    INFO(hook);
    CHECK(contains(page, hook));
  }
}

}  // namespace
}  // namespace mla::admin
