#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/) with clang in build-fuzz/ and runs each one for a
# bounded time from a copy of its seed corpus (tests/fuzz/corpus/<name>/).
#
#   bash scripts/fuzz.sh [SECONDS]      SECONDS per target, default 60
#
# Exit status: 0 when every target ran its time clean; non-zero on a missing toolchain, a build
# failure, or any crash, sanitizer report, timeout or out-of-memory in a target. A failing input
# is kept under the scratch directory the script prints (reproduce it with
# `build-fuzz/bin/<target> <file>`); new corpus entries are written there too, never into the repo.
# Installs nothing: needs Debian's clang and libclang-rt-14-dev (the fuzzer, ASan and UBSan
# runtimes), which scripts/install-deps.sh installs.
#
# Environment:
#   MLA_FUZZ_TARGETS="a b"   run only these targets (names without the fuzz_ prefix)
#   MLA_FUZZ_RSS_MB=N        libFuzzer -rss_limit_mb (default 2048)
#   MLA_FUZZ_UNIT_TIMEOUT=N  seconds one input may take before it counts as a hang (default 10)
#   MLA_FUZZ_KEEP=1          keep the scratch directory even when everything passed
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
readonly ROOT=$PWD
readonly BUILD_DIR=$ROOT/build-fuzz
readonly SECONDS_PER_TARGET=${1:-60}
readonly RSS_MB=${MLA_FUZZ_RSS_MB:-2048}
readonly UNIT_TIMEOUT=${MLA_FUZZ_UNIT_TIMEOUT:-10}
readonly BUILD_TIMEOUT=1800  # seconds; a cold build of the targets takes ~1 min on 2 cores
# Every target in tests/fuzz/CMakeLists.txt, as bin/fuzz_<name> with corpus/<name>/.
readonly ALL_TARGETS=(payload_scanner config_loader)

log() { printf 'fuzz: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

[[ "$SECONDS_PER_TARGET" =~ ^[1-9][0-9]*$ ]] || die "usage: $0 [SECONDS] (a positive integer)"
read -r -a targets <<<"${MLA_FUZZ_TARGETS:-${ALL_TARGETS[*]}}"

for tool in clang clang++ cmake ninja timeout; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run scripts/install-deps.sh)"
done

scratch=$(mktemp -d "${TMPDIR:-/tmp}/mla-fuzz.XXXXXX") || die "mktemp failed"
cleanup() {
  if [[ ${keep_scratch:-0} == 1 || ${MLA_FUZZ_KEEP:-0} == 1 ]]; then
    log "scratch directory kept: $scratch"
  else
    rm -rf "$scratch"
  fi
}
trap cleanup EXIT

# -fsanitize=fuzzer links clang's libclang_rt.fuzzer, which Debian ships in libclang-rt-14-dev
# (only a Recommends of clang, so a --no-install-recommends install lacks it): check by linking.
printf '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(%s) { %s }\n' \
  'const std::uint8_t*, std::size_t' 'return 0;' >"$scratch/probe.cc"
if ! clang++ -fsanitize=fuzzer,address,undefined "$scratch/probe.cc" -o "$scratch/probe" \
  >"$scratch/probe.log" 2>&1; then
  cat "$scratch/probe.log" >&2
  die "clang++ cannot link a libFuzzer target: install libclang-rt-14-dev"
fi

# A build directory configured with another compiler cannot be switched to clang in place.
if [[ -f "$BUILD_DIR/CMakeCache.txt" ]] &&
  ! grep -q '^CMAKE_CXX_COMPILER:FILEPATH=.*clang++' "$BUILD_DIR/CMakeCache.txt"; then
  log "$BUILD_DIR was configured with another compiler: recreating it"
  rm -rf "$BUILD_DIR"
fi
log "configure $BUILD_DIR (clang, -DMLA_FUZZ=ON)"
if ! CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DMLA_FUZZ=ON \
  >"$scratch/configure.log" 2>&1; then
  cat "$scratch/configure.log" >&2
  die "cmake configure failed"
fi
build_targets=()
for t in "${targets[@]}"; do build_targets+=("fuzz_$t"); done
log "build ${build_targets[*]}"
if ! timeout -k 10 "$BUILD_TIMEOUT" ninja -j2 -C "$BUILD_DIR" "${build_targets[@]}" \
  >"$scratch/build.log" 2>&1; then
  tail -n 60 "$scratch/build.log" >&2
  die "build failed"
fi

# libFuzzer stops itself after -max_total_time, but only between inputs; the outer timeout
# (with SIGKILL after 10 s, since a process stopped inside the sanitizer's out-of-memory report
# ignores SIGTERM) bounds a hang that -timeout did not catch.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ulimit -c 0  # abort_on_error must not leave core files behind
failed=()
summary=()
for t in "${targets[@]}"; do
  bin=$BUILD_DIR/bin/fuzz_$t
  seeds=$ROOT/tests/fuzz/corpus/$t
  [[ -d "$seeds" ]] || die "no seed corpus $seeds"
  work=$scratch/$t
  mkdir -p "$work/corpus" "$work/artifacts"
  cp "$seeds"/* "$work/corpus/"
  log "run fuzz_$t for ${SECONDS_PER_TARGET}s ($(find "$seeds" -type f | wc -l) seeds)"
  start=$(date +%s.%N)
  timeout -k 10 $((SECONDS_PER_TARGET + 2 * UNIT_TIMEOUT + 60)) "$bin" \
    -max_total_time="$SECONDS_PER_TARGET" -timeout="$UNIT_TIMEOUT" -rss_limit_mb="$RSS_MB" \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" \
    >"$work/fuzz.log" 2>&1
  rc=$?
  elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')
  execs=$(awk '/^stat::number_of_executed_units:/ { print $NF }' \
    "$work/fuzz.log")
  rate=$(awk '/^stat::average_exec_per_sec:/ { print $NF }' "$work/fuzz.log")
  entries=$(find "$work/corpus" -type f | wc -l)
  line=$(printf '%-16s %10s execs %8s exec/s %7ss  corpus %s' "$t" "${execs:-?}" "${rate:-?}" \
    "$elapsed" "$entries")
  if [[ $rc -ne 0 || -n "$(find "$work/artifacts" -type f)" ]]; then
    failed+=("$t")
    summary+=("$line  FAILED (exit $rc)")
    keep_scratch=1
    log "fuzz_$t FAILED (exit $rc); its log ends:"
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)|NEW_FUNC' "$work/fuzz.log" | tail -n 40 >&2
    for artifact in "$work/artifacts"/*; do
      [[ -e "$artifact" ]] && log "failing input: $artifact (reproduce: $bin $artifact)"
    done
  else
    summary+=("$line  ok")
  fi
done

printf '\n%-16s %10s       %8s        %7s\n' target executions rate time
printf '%s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all targets ran ${SECONDS_PER_TARGET}s clean"
