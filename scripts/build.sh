#!/usr/bin/env bash
# Configures and builds one preset with CMake + Ninja.
#
# Usage: bash scripts/build.sh [release|asan|tsan] [ninja targets...]
#   release  build/       Release, the binaries the demo and benchmarks run (default)
#   asan     build-asan/  Debug, AddressSanitizer + UndefinedBehaviorSanitizer
#   tsan     build-tsan/  RelWithDebInfo, ThreadSanitizer (optimised: TSan slows code ~5-15x)
# Extra arguments are passed to ninja as targets (default: all).
# Environment: JOBS (default: nproc), CMAKE_ARGS (extra configure arguments, word-split).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

preset=${1:-release}
[[ $# -gt 0 ]] && shift

case "$preset" in
  release) dir=build; cfg=(-DCMAKE_BUILD_TYPE=Release -DMLA_SANITIZE=) ;;
  asan) dir=build-asan; cfg=(-DCMAKE_BUILD_TYPE=Debug -DMLA_SANITIZE=address) ;;
  # GCC 12 warns (-Wtsan, an error under -Werror) that TSan does not model the
  # atomic_thread_fence calls inside Boost.Asio; the warning is about Asio, not our code.
  tsan) dir=build-tsan; cfg=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DMLA_SANITIZE=thread
    -DCMAKE_CXX_FLAGS=-Wno-tsan) ;;
  -h | --help)
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "build.sh: unknown preset '$preset' (want release, asan or tsan)" >&2
    exit 2
    ;;
esac

jobs=${JOBS:-$(nproc)}
extra=()
# shellcheck disable=SC2206  # word splitting of CMAKE_ARGS is intended
[[ -n "${CMAKE_ARGS:-}" ]] && extra=(${CMAKE_ARGS})

echo "build.sh: configuring $preset in $dir/" >&2
mkdir -p "$dir"
cmake -S . -B "$dir" -G Ninja "${cfg[@]}" "${extra[@]}" >"$dir/configure.log" 2>&1 || {
  cat "$dir/configure.log" >&2
  echo "build.sh: cmake configure failed for $preset" >&2
  exit 1
}
echo "build.sh: building $preset with $jobs jobs" >&2
ninja -C "$dir" -j "$jobs" "$@"
echo "build.sh: $preset done: $dir/bin" >&2
