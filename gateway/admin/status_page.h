// GET /: the admin status page (DESIGN.md §6). One self-contained HTML document (inline CSS and
// JS, no external assets) that reads api/v1/status and api/v1/tenants every 2 s and posts
// api/v1/tenants/{t}/disable|enable. All URLs are relative, so the page works behind a path
// prefix; data reaches the DOM only through textContent/title, never as HTML.
//
// Hooks for tests/e2e/status-page/drive.js: <tr data-tenant="NAME" data-enabled="true|false">,
// cells <td data-field="...">, buttons <button data-action="disable|enable">.
#pragma once

#include <string_view>

namespace mla::admin {

// The page (static storage; thread-safe). Served as text/html; charset=utf-8.
std::string_view status_page_html();

}  // namespace mla::admin
