#include "gateway/admin/status_page.h"

namespace mla::admin {
namespace {

// Kept small and dependency-free on purpose: operators open it through port-forwards and
// path-prefixing proxies, so every URL is relative and nothing is loaded from elsewhere (the CSP
// meta tag enforces that). Refresh: one chain of setTimeout, never two requests of the same kind
// in flight; a click waits for a running refresh, posts, then refreshes at once.
constexpr std::string_view kPage = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline';
 style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'">
<link rel="icon" href="data:,">
<title>mla-gateway</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
header { display: flex; gap: 1.5em; align-items: baseline; flex-wrap: wrap; }
h1 { font-size: 1.3em; margin: 0; }
#error { color: #fff; background: #b00020; padding: .3em .6em; border-radius: 3px; }
.muted { color: #666; }
.ok { color: #1b5e20; font-weight: bold; }
.hot { color: #b00020; font-weight: bold; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { padding: .3em .7em; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr[data-enabled="false"] { background: #fdecea; }
button { min-width: 5.5em; }
</style>
</head>
<body>
<header>
<h1>mla-gateway</h1>
<span>version <b id="version" data-field="version">?</b></span>
<span id="ready" data-field="ready">?</span>
<span id="summary" class="muted"></span>
<span id="updated" class="muted">not loaded yet</span>
</header>
<p id="error" role="alert" hidden></p>
<table>
<thead><tr><th>Tenant</th><th>State</th><th>Reason</th><th>Disabled until</th>
<th>Samples/s (limit)</th><th>Lines/s (limit)</th><th>Log bytes/s (limit)</th>
<th>Rejected</th><th></th></tr></thead>
<tbody id="tenants"></tbody>
</table>
<p id="empty" class="muted" hidden>No tenants seen yet.</p>
<script>
'use strict';
const REFRESH_MS = 2000, TIMEOUT_MS = 5000, TOKEN_KEY = 'mla-gateway-admin-token';
const FIELDS = ['tenant', 'enabled', 'disabled_reason', 'disabled_until', 'samples', 'lines',
                'log_bytes', 'rejected', 'action'];
const NUMERIC = new Set(['samples', 'lines', 'log_bytes', 'rejected']);
const $ = id => document.getElementById(id);
const rows = new Map();  // tenant -> {tr, cells: {field: td}, button}
const errors = {load: '', action: ''};
let inflight = null, timer = null;

function showError(kind, text) {
  errors[kind] = text;
  const line = [errors.load, errors.action].filter(Boolean).join(' | ');
  $('error').textContent = line;
  $('error').hidden = !line;
}

// One request with a deadline; the body is parsed as JSON when it is JSON (else data = null).
async function api(method, path, body) {
  const ctl = new AbortController();
  const deadline = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  const headers = {Accept: 'application/json'};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (method === 'POST' && token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  try {
    const resp = await fetch(path, {method, headers, cache: 'no-store', signal: ctl.signal,
                                    body: body === undefined ? undefined : JSON.stringify(body)});
    let data = null;
    try { data = await resp.json(); } catch (e) { /* not JSON: check() says so */ }
    return {status: resp.status, ok: resp.ok, data};
  } catch (e) {
    const why = e.name === 'AbortError' ? `no answer within ${TIMEOUT_MS / 1000} s` : e.message;
    throw new Error(`${method} ${path}: ${why}`);
  } finally {
    clearTimeout(deadline);
  }
}

function check(r, what) {
  if (r.ok && r.data !== null) return r.data;
  const why = r.data && typeof r.data.error === 'string' ? r.data.error
                                                         : (r.ok ? 'answer is not JSON' : '');
  throw new Error(`${what}: HTTP ${r.status} ${why}`.trim());
}

// A 401 asks for the admin token once, keeps it for this tab and retries once.
async function post(path, body) {
  let r = await api('POST', path, body);
  if (r.status === 401) {
    const token = prompt('Admin token (kept for this browser tab only):', '');
    if (!token || !token.trim()) throw new Error(`POST ${path}: HTTP 401, no admin token given`);
    sessionStorage.setItem(TOKEN_KEY, token.trim());
    r = await api('POST', path, body);
    if (r.status === 401) sessionStorage.removeItem(TOKEN_KEY);
  }
  return check(r, 'POST ' + path);
}

function num(v) {
  v = Number(v) || 0;
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1).replace(/\.0$/, '');
}
function bytes(v) {
  v = Number(v) || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  for (; v >= 1024 && i < units.length - 1; i++) v /= 1024;
  return (i ? v.toFixed(1) : String(Math.round(v))) + ' ' + units[i];
}
function duration(s) {
  s = Math.floor(Number(s) || 0);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

function set(td, text, title) {
  td.textContent = text;
  td.title = title || '';
}
// "rate / limit"; highlighted from 90 % of a configured limit. Limit 0 = no limit.
function rate(td, value, limit, fmt, title) {
  limit = Number(limit) || 0;
  set(td, `${fmt(value)} / ${limit > 0 ? fmt(limit) : 'no limit'}`, title);
  td.classList.toggle('hot', limit > 0 && Number(value) >= 0.9 * limit);
}

function ensureRow(name) {
  let row = rows.get(name);
  if (row) return row;
  const tr = document.createElement('tr');
  tr.dataset.tenant = name;
  const cells = {};
  for (const f of FIELDS) {
    const td = document.createElement('td');
    td.dataset.field = f;
    if (NUMERIC.has(f)) td.className = 'num';
    tr.appendChild(td);
    cells[f] = td;
  }
  const button = document.createElement('button');
  button.type = 'button';
  button.addEventListener('click', () => act(name, button.dataset.action, button));
  cells.action.appendChild(button);
  row = {tr, cells, button};
  rows.set(name, row);
  return row;
}

function updateRow(t) {
  const row = ensureRow(t.tenant), c = row.cells, on = !!t.enabled;
  const limits = t.limits || {}, m = limits.metrics || {}, l = limits.logs || {};
  const r = t.rates || {}, totals = t.totals || {}, rejected = totals.rejected || {};
  row.tr.dataset.enabled = String(on);
  set(c.tenant, t.tenant);
  set(c.enabled, on ? 'enabled' : 'disabled', t.disabled_since ? 'since ' + t.disabled_since : '');
  c.enabled.className = on ? 'ok' : 'hot';
  set(c.disabled_reason, on ? '' : t.disabled_reason || '');
  set(c.disabled_until, on ? '' : t.disabled_until || 'indefinitely');
  rate(c.samples, r.samples_per_second, m.samples_per_second, num,
       `requests/s: ${num(r.requests_per_second)}, samples total: ${totals.samples ?? 0}`);
  rate(c.lines, r.log_lines_per_second, l.lines_per_second, num,
       `log lines total: ${totals.log_lines ?? 0}`);
  rate(c.log_bytes, r.log_bytes_per_second, l.bytes_per_second, bytes,
       `log bytes total: ${totals.log_bytes ?? 0}`);
  const total = Object.values(rejected).reduce((a, b) => a + (Number(b) || 0), 0);
  set(c.rejected, String(total), Object.entries(rejected).map(([k, v]) => `${k}: ${v}`).join('\n'));
  c.rejected.classList.toggle('hot', total > 0);
  row.button.dataset.action = on ? 'disable' : 'enable';
  row.button.textContent = on ? 'Disable' : 'Enable';
  return row;
}

function renderTenants(list) {
  const body = $('tenants'), seen = new Set();
  list.forEach((t, i) => {
    const tr = updateRow(t).tr;
    seen.add(t.tenant);
    if (body.children[i] !== tr) body.insertBefore(tr, body.children[i] || null);
  });
  for (const [name, row] of rows) {
    if (!seen.has(name)) { row.tr.remove(); rows.delete(name); }
  }
  $('empty').hidden = list.length > 0;
}

function renderStatus(s) {
  $('version').textContent = s.version || '?';
  const ready = $('ready'), good = !!s.ready && !s.draining;
  ready.textContent = s.draining ? 'draining' : s.ready ? 'ready' : 'not ready';
  ready.className = good ? 'ok' : 'hot';
  ready.dataset.ready = String(good);
  const parts = [`up ${duration(s.uptime_seconds)}`,
                 `${s.tenants_seen ?? 0} tenants seen, ${s.tenants_disabled ?? 0} disabled`,
                 `${s.open_connections ?? 0} connections`];
  if (s.config_last_reload_successful === false) parts.push('last config reload FAILED');
  $('summary').textContent = parts.join(' \u00b7 ');
}

async function load() {
  try {
    const [tenants, status] = await Promise.all([api('GET', 'api/v1/tenants'),
                                                 api('GET', 'api/v1/status')]);
    renderTenants(check(tenants, 'GET api/v1/tenants').tenants || []);
    renderStatus(check(status, 'GET api/v1/status'));
    $('updated').textContent = 'last updated ' + new Date().toLocaleTimeString();
    showError('load', '');
  } catch (e) {
    showError('load', e.message);
  }
}

function refresh() {
  if (inflight) return inflight;
  clearTimeout(timer);
  inflight = load().finally(() => {
    inflight = null;
    timer = setTimeout(refresh, REFRESH_MS);
  });
  return inflight;
}

async function act(tenant, action, button) {
  let body;
  if (action === 'disable') {
    const reason = prompt(`Disable tenant ${tenant}? Reason (optional):`, '');
    if (reason === null) return;  // cancelled
    if (reason.trim()) body = {reason: reason.trim()};
  }
  button.disabled = true;
  clearTimeout(timer);
  if (inflight) await inflight;  // its answer must not overwrite ours
  clearTimeout(timer);
  try {
    updateRow(await post(`api/v1/tenants/${encodeURIComponent(tenant)}/${action}`, body));
    showError('action', '');
  } catch (e) {
    showError('action', e.message);
  } finally {
    button.disabled = false;
  }
  await refresh();
}

refresh();
</script>
</body>
</html>
)html";

}  // namespace

std::string_view status_page_html() { return kPage; }

}  // namespace mla::admin
