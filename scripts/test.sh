#!/usr/bin/env bash
# The test command (README "Quick start", and what .ci/run executes).
#
#   1. installs dependencies (scripts/install-deps.sh, and chromium + puppeteer-core for the
#      status-page test: scripts/install-browser-test-deps.sh; fast when already installed)
#   2. clang-format check over gateway/ tests/ bench/
#   3. ASan+UBSan build (build-asan/), then every ctest test: unit, integration, e2e
#   4. TSan build (build-tsan/), then the tests labelled `concurrency` (both skipped while no
#      test carries that label)
#   5. release build of the binary the demo runs (build/bin/mla-gateway)
# Every step runs to the end even if an earlier one failed, so one run reports everything; the
# exit status is non-zero if anything failed. The last line is "N passed, N failed" (ctest tests,
# plus one failure per failed non-test step).
#
# Environment:
#   MLA_TEST_SKIP_TSAN=1      skip step 4        MLA_TEST_SKIP_RELEASE=1   skip step 5
#   CTEST_PARALLEL_LEVEL=N    ctest jobs (default 1: integration tests start servers)
#   CTEST_ARGS="..."          extra ctest arguments for step 3 (e.g. "-L unit" or "-R tenant")
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
readonly ROOT=$PWD
readonly LOG_DIR=$ROOT/build-test-logs
mkdir -p "$LOG_DIR"

# Time bounds (seconds). CI gives 90 minutes on 2 cores for the whole run: every step's limit is
# also cut to what is left of MLA_TEST_BUDGET, so the script itself ends in time.
readonly BUDGET=${MLA_TEST_BUDGET:-5100}
readonly BUILD_TIMEOUT=${MLA_BUILD_TIMEOUT:-2400}
readonly CTEST_TIMEOUT=${MLA_CTEST_TIMEOUT:-2400}  # a whole ctest run
readonly TEST_TIMEOUT=${MLA_TEST_TIMEOUT:-300}     # one test without its own TIMEOUT property

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# OpenSSL is not TSan-instrumented: scripts/tsan.supp explains the one suppression.
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/scripts/tsan.supp}
export CTEST_PARALLEL_LEVEL=${CTEST_PARALLEL_LEVEL:-1}
ulimit -c 0 # abort_on_error must not leave core files behind

start_time=$SECONDS
tests_passed=0
tests_failed=0
failed_steps=()

# limit DEFAULT: prints min(DEFAULT, what is left of the budget), at least 1.
limit() {
  local left=$((BUDGET - (SECONDS - start_time)))
  ((left < 1)) && left=1
  echo $(($1 < left ? $1 : left))
}

step() { printf '\n==== [%4ds] %s\n' $((SECONDS - start_time)) "$*"; }
fail_step() {
  failed_steps+=("$1")
  printf '==== FAILED: %s\n' "$1"
}

# run_ctest NAME LOG ARGS... : runs ctest, adds its counts to the totals.
# Returns 0 if it ran >= 1 test and all passed, 1 on failures, 2 if no test matched.
run_ctest() {
  local name=$1 log=$2
  shift 2
  local count
  count=$(ctest -N "$@" 2>/dev/null | sed -nE 's/^Total Tests: ([0-9]+)$/\1/p')
  if [[ "${count:-0}" -eq 0 ]]; then
    echo "$name: ctest found no tests (ctest -N $*)" | tee "$log"
    return 2
  fi
  echo "$name: running $count tests"
  # -O copies the output to the log; no pipe, so a test's stray child holding stdout open cannot
  # stall the script. timeout signals ctest's whole process group.
  local rc=0 seconds
  seconds=$(limit "$CTEST_TIMEOUT")
  timeout --kill-after=30 "$seconds" \
    ctest --output-on-failure --timeout "$TEST_TIMEOUT" -O "$log" "$@" || rc=$?
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1)
  if [[ -z "$line" ]]; then
    if [[ $rc -eq 124 ]]; then
      echo "$name: ctest killed after ${seconds}s (time limit)"
    else
      echo "$name: ctest printed no summary (exit $rc)"
    fi
    tests_failed=$((tests_failed + 1))
    return 1
  fi
  local failed total
  failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  tests_passed=$((tests_passed + total - failed))
  tests_failed=$((tests_failed + failed))
  [[ $rc -eq 0 && $failed -eq 0 ]] || return 1
  return 0
}

build() {
  local seconds rc=0
  seconds=$(limit "$BUILD_TIMEOUT")
  timeout --kill-after=30 "$seconds" bash scripts/build.sh "$@" || rc=$?
  ((rc == 124)) && echo "build $1: stopped after ${seconds}s (time limit)"
  return "$rc"
}

# 1. Dependencies ---------------------------------------------------------------------------------
step "install dependencies"
if ! bash scripts/install-deps.sh || ! bash scripts/install-browser-test-deps.sh; then
  fail_step "install dependencies"
  echo "0 passed, 1 failed"
  exit 1
fi

# 2. Formatting -----------------------------------------------------------------------------------
step "clang-format check (gateway/ tests/ bench/)"
mapfile -t sources < <(find gateway tests bench -type f \( -name '*.cc' -o -name '*.h' \) \
  2>/dev/null | sort)
if [[ ${#sources[@]} -eq 0 ]]; then
  echo "no C++ sources found"
elif clang-format --dry-run --Werror "${sources[@]}" >"$LOG_DIR/clang-format.log" 2>&1; then
  echo "${#sources[@]} files formatted correctly"
else
  # Each finding is "file:line:col: error: code should be clang-formatted"; list files once.
  grep -oE '^[^:]+\.(cc|h):' "$LOG_DIR/clang-format.log" | sort -u | sed 's/:$//;s/^/  needs clang-format: /'
  head -n 40 "$LOG_DIR/clang-format.log"
  echo "fix with: clang-format -i \$(find gateway tests bench -name '*.cc' -o -name '*.h')"
  fail_step "clang-format"
fi

# 3. ASan + UBSan ---------------------------------------------------------------------------------
step "build asan (build-asan/)"
if build asan; then
  step "ctest under ASan+UBSan (ASAN_OPTIONS=$ASAN_OPTIONS)"
  # shellcheck disable=SC2086  # CTEST_ARGS is word-split on purpose
  run_ctest asan "$LOG_DIR/ctest-asan.log" --test-dir build-asan ${CTEST_ARGS:-}
  case $? in
    0) ;;
    2)
      echo "asan: NO TESTS FOUND in build-asan/ - that is a failure"
      tests_failed=$((tests_failed + 1))
      fail_step "ctest asan (no tests)"
      ;;
    *) fail_step "ctest asan" ;;
  esac
else
  fail_step "build asan"
fi

# 4. TSan -----------------------------------------------------------------------------------------
if [[ "${MLA_TEST_SKIP_TSAN:-0}" == 1 ]]; then
  step "tsan skipped (MLA_TEST_SKIP_TSAN=1)"
else
  # The ASan tree has the same tests and labels: when it has none labelled `concurrency`, the
  # TSan build (a third of the CI time) would run nothing, so it is skipped.
  tsan_count=unknown
  if [[ -f build-asan/CTestTestfile.cmake ]]; then
    tsan_count=$(ctest --test-dir build-asan -N -L concurrency 2>/dev/null |
      sed -nE 's/^Total Tests: ([0-9]+)$/\1/p')
  fi
  if [[ "$tsan_count" == 0 ]]; then
    step "tsan: NO TESTS labelled 'concurrency' yet - TSan build and run skipped (not a failure)"
  else
    step "build tsan (build-tsan/)"
    if build tsan; then
      step "ctest -L concurrency under TSan"
      run_ctest tsan "$LOG_DIR/ctest-tsan.log" --test-dir build-tsan -L concurrency
      case $? in
        0) ;;
        2) echo "tsan: NO TESTS labelled 'concurrency' - nothing ran under TSan (not a failure)" ;;
        *) fail_step "ctest tsan" ;;
      esac
    else
      fail_step "build tsan"
    fi
  fi
fi

# 4b. Fuzzing (libFuzzer, bounded) ----------------------------------------------------------------
if [[ "${MLA_TEST_SKIP_FUZZ:-0}" == 1 ]]; then
  step "fuzz skipped (MLA_TEST_SKIP_FUZZ=1)"
else
  step "fuzz: each target for ${MLA_FUZZ_SECONDS:-60}s (scripts/fuzz.sh)"
  timeout --kill-after=30 "$(limit 1500)" bash scripts/fuzz.sh "${MLA_FUZZ_SECONDS:-60}" ||
    fail_step "fuzz"
fi

# 5. Release binaries -----------------------------------------------------------------------------
if [[ "${MLA_TEST_SKIP_RELEASE:-0}" == 1 ]]; then
  step "release build skipped (MLA_TEST_SKIP_RELEASE=1)"
else
  # Only the binaries: Release-only compiler warnings (-Werror) must not break the demo.
  step "build release (build/): mla-gateway (scripts/demo.sh runs it) and mla-gatewayctl"
  build release mla-gateway mla-gatewayctl || fail_step "build release"
fi

# Summary -----------------------------------------------------------------------------------------
step "summary"
echo "ctest: $tests_passed passed, $tests_failed failed (logs in ${LOG_DIR#"$ROOT"/}/)"
if [[ ${#failed_steps[@]} -gt 0 ]]; then
  printf 'failed step: %s\n' "${failed_steps[@]}"
fi
# Steps that failed outside ctest (format, builds) count as one failure each.
non_test_failures=0
for s in "${failed_steps[@]}"; do
  [[ "$s" == ctest* ]] || non_test_failures=$((non_test_failures + 1))
done
echo "$tests_passed passed, $((tests_failed + non_test_failures)) failed"
[[ ${#failed_steps[@]} -eq 0 ]]
