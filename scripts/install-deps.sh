#!/usr/bin/env bash
# Installs everything mla-gateway needs to build, test and run its demo on Debian 12 (bookworm),
# from Debian's own apt repositories only. Idempotent: when every package is already installed it
# returns at once without touching apt.
#
# Usage: bash scripts/install-deps.sh        (as root, or as a user with sudo)
set -euo pipefail

# Build toolchain and libraries (DESIGN.md §2). Boost must be 1.81: bookworm's default
# libboost-dev is 1.74, and the two -dev packages conflict.
readonly BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libssl-dev libnghttp2-dev libsnappy-dev libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libre2-dev libspdlog-dev libfmt-dev libcli11-dev catch2
  nlohmann-json3-dev zlib1g-dev libc-ares-dev
)
# Tools for the demo, the integration/e2e tests and the format check.
readonly TOOL_PACKAGES=(
  prometheus curl openssl nghttp2-client apache2-utils jq python3 python3-pytest
  ca-certificates procps clang-format iproute2
  clang libclang-rt-14-dev
  # bench/: the peers (nginx, HAProxy; the echo module lets the sink read bodies), callgrind.
  nginx libnginx-mod-http-echo haproxy valgrind strace
  # docker/: the image (podman with runc, a local Debian base by mmdebstrap) and manifest lint.
  podman buildah runc uidmap slirp4netns fuse-overlayfs mmdebstrap yamllint
)
readonly CONFLICTING_PACKAGES=(libboost-dev libboost1.74-dev)

log() { printf 'install-deps: %s\n' "$*" >&2; }

# Prints, one per line, those of the given packages that are installed (one dpkg-query call).
installed_of() {
  dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null |
    awk '$2 == "installed" { print $1 }' || true
}

# Sets the array named $1 to the packages of "$@" (after $1) that are not installed.
set_missing() {
  local -n out=$1
  shift
  local have
  have=" $(installed_of "$@" | tr '\n' ' ') "
  out=()
  local pkg
  for pkg in "$@"; do
    [[ "$have" == *" $pkg "* ]] || out+=("$pkg")
  done
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  log "this script needs Debian 12 (dpkg/apt-get)"
  exit 1
fi

missing=()
set_missing missing "${BUILD_PACKAGES[@]}" "${TOOL_PACKAGES[@]}"
conflicting=()
mapfile -t conflicting < <(installed_of "${CONFLICTING_PACKAGES[@]}")

if [[ ${#missing[@]} -eq 0 && ${#conflicting[@]} -eq 0 ]]; then
  log "all packages already installed"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    log "run as root (or install sudo): apt-get is needed for: ${missing[*]} ${conflicting[*]}"
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

log "apt-get update"
"${SUDO[@]}" apt-get update -q

if [[ ${#conflicting[@]} -gt 0 ]]; then
  log "removing ${conflicting[*]} (conflicts with libboost1.81-dev)"
  "${SUDO[@]}" apt-get remove "${APT_OPTS[@]}" "${conflicting[@]}"
fi

if [[ ${#missing[@]} -gt 0 ]]; then
  log "installing: ${missing[*]}"
  # Packages with a service (nginx, haproxy) must not start one: the benchmark runs its own
  # instances. policy-rc.d exit 101 tells invoke-rc.d "not now"; removed again on exit.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  # Recommends are skipped: e.g. prometheus recommends node-exporter, which we do not want.
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install "${APT_OPTS[@]}" --no-install-recommends "${missing[@]}"
fi

# Check again: a package that apt could not provide must fail here, not later in cmake.
still_missing=()
set_missing still_missing "${BUILD_PACKAGES[@]}" "${TOOL_PACKAGES[@]}"
if [[ ${#still_missing[@]} -gt 0 ]]; then
  log "still missing after apt-get: ${still_missing[*]}"
  exit 1
fi
log "done"
