#!/usr/bin/env bash
# Installs what the headless-browser test of the admin status page (tests/e2e/test_status_page.py)
# needs on Debian 12 (bookworm):
#   - Debian's `chromium` package (apt; puppeteer's own browser download is never used),
#   - node and npm, only when no `node`/`npm` command exists (Debian's nodejs/npm packages),
#   - tests/e2e/status-page/node_modules: `npm ci` from the committed package-lock.json
#     (puppeteer-core only: it downloads no browser; install scripts are not run).
# Idempotent: when chromium is installed and node_modules matches the lock file it returns at once
# without touching apt or npm.
#
# Usage: bash scripts/install-browser-test-deps.sh   (as root, or as a user with sudo for apt-get)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
readonly E2E_DIR=$PWD/tests/e2e/status-page
readonly NPM_CI_TIMEOUT=300

log() { printf 'install-browser-test-deps: %s\n' "$*" >&2; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  log "this script needs Debian 12 (dpkg/apt-get)"
  exit 1
fi

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

missing=()
is_installed chromium || missing+=(chromium)
# A node from elsewhere (e.g. a newer upstream build) is kept: puppeteer-core needs node >= 18,
# which Debian 12's nodejs (18.x) satisfies.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [[ ${#missing[@]} -gt 0 ]]; then
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
      SUDO=(sudo)
    else
      log "run as root (or install sudo): apt-get is needed for: ${missing[*]}"
      exit 1
    fi
  fi
  log "apt-get update"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  log "installing: ${missing[*]}"
  # No recommends: chromium's pull in fonts, a driver stack and more we do not need headless.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  is_installed chromium || { log "chromium still not installed after apt-get"; exit 1; }
  command -v node >/dev/null 2>&1 || { log "node still missing after apt-get"; exit 1; }
  command -v npm >/dev/null 2>&1 || { log "npm still missing after apt-get"; exit 1; }
fi

# Exit 0 when every package of the lock file is in node_modules at the locked version.
node_modules_current() {
  (cd "$E2E_DIR" && node -e '
    const fs = require("fs");
    const lock = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages;
    for (const [path, entry] of Object.entries(lock)) {
      if (!path || entry.optional || entry.dev) continue;
      let version;
      try {
        version = JSON.parse(fs.readFileSync(path + "/package.json", "utf8")).version;
      } catch (e) { process.exit(1); }
      if (version !== entry.version) process.exit(1);
    }') >/dev/null 2>&1
}

if node_modules_current; then
  log "chromium and $E2E_DIR/node_modules already installed"
  exit 0
fi
log "npm ci in $E2E_DIR"
(cd "$E2E_DIR" &&
  timeout "$NPM_CI_TIMEOUT" npm ci --no-audit --no-fund --ignore-scripts --omit=dev)
if ! node_modules_current; then
  log "node_modules does not match package-lock.json after npm ci"
  exit 1
fi
log "done"
