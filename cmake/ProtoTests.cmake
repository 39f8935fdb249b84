# Generated C++ classes for proto/ (Prometheus remote-write 1.0/2.0, Loki push), used only by
# tests and tools to build and fully parse bodies; the gateway never links them (its scanner
# walks the wire format by hand). Included at the end of tests/CMakeLists.txt.
find_package(Protobuf REQUIRED)  # CMake's FindProtobuf: protobuf::libprotobuf, protobuf::protoc

set(MLA_PROTO_ROOT ${CMAKE_SOURCE_DIR}/proto)
set(MLA_PROTO_FILES
  prompb/types.proto
  prompb/remote.proto
  prompb/io/prometheus/write/v2/types.proto
  logproto/push.proto)
set(MLA_PROTO_OUT ${CMAKE_BINARY_DIR}/generated/proto)

set(mla_proto_inputs)
set(mla_proto_outputs)
foreach(proto ${MLA_PROTO_FILES})
  string(REGEX REPLACE "\\.proto$" "" stem ${proto})
  list(APPEND mla_proto_inputs ${MLA_PROTO_ROOT}/${proto})
  list(APPEND mla_proto_outputs ${MLA_PROTO_OUT}/${stem}.pb.cc ${MLA_PROTO_OUT}/${stem}.pb.h)
endforeach()

# One protoc run for all files: their relative names (and so their generated include paths,
# e.g. "prompb/remote.pb.h") are taken from the import root proto/.
add_custom_command(
  OUTPUT ${mla_proto_outputs}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${MLA_PROTO_OUT}
  COMMAND protobuf::protoc --cpp_out=${MLA_PROTO_OUT} -I${MLA_PROTO_ROOT}
          -I${Protobuf_INCLUDE_DIRS} ${MLA_PROTO_FILES}
  WORKING_DIRECTORY ${MLA_PROTO_ROOT}
  DEPENDS ${mla_proto_inputs} protobuf::protoc
  COMMENT "protoc: proto/ -> ${MLA_PROTO_OUT}"
  VERBATIM)

list(FILTER mla_proto_outputs INCLUDE REGEX "\\.cc$")
add_library(mla_test_proto STATIC ${mla_proto_outputs})
# Generated code is not ours to warn about.
target_compile_options(mla_test_proto PRIVATE -w)
target_include_directories(mla_test_proto SYSTEM PUBLIC ${MLA_PROTO_OUT})
target_link_libraries(mla_test_proto PUBLIC protobuf::libprotobuf)

target_link_libraries(unit_tests PRIVATE mla_test_proto)
