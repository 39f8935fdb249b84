# libFuzzer targets (tests/fuzz/), off by default: -DMLA_FUZZ=ON with CC=clang CXX=clang++.
# Each target compiles the sources it exercises itself, with -fsanitize=fuzzer,address,undefined,
# so MLA_SANITIZE is not needed (and the rest of mla_core need not build with clang).
# scripts/fuzz.sh configures, builds and runs them for a bounded time. Included at the end of
# tests/CMakeLists.txt.
option(MLA_FUZZ "Build libFuzzer targets (requires clang)" OFF)
if(MLA_FUZZ)
  add_subdirectory(${CMAKE_SOURCE_DIR}/tests/fuzz ${CMAKE_BINARY_DIR}/tests/fuzz)
endif()
