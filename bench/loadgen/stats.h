// What one io thread observed during a run; merged into one Stats after the threads have joined.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "bench/loadgen/client_connection.h"
#include "bench/loadgen/latency_histogram.h"

namespace mla::bench {

struct Stats {
  static constexpr int kMaxStatus = 600;

  // Requests completed inside the measured window (after warmup, before the end).
  LatencyHistogram latency;
  std::uint64_t requests = 0;
  std::uint64_t ok = 0;                               // 2xx among `requests`
  std::array<std::uint64_t, kMaxStatus> responses{};  // by status code, among `requests`
  // Failures and connection events of the whole run, warmup included.
  std::uint64_t connect_errors = 0;
  std::uint64_t tls_errors = 0;
  std::uint64_t io_errors = 0;
  std::uint64_t reconnects = 0;   // connections re-opened after the server closed them
  std::uint64_t refused = 0;      // HTTP/2 requests refused unprocessed (Exchange::refused)
  std::uint64_t established = 0;  // successful open()s
  // The first error message of each kind, to say what went wrong (indexed by Failure).
  std::array<std::string, 4> first_error;

  void count_failure(Failure failure, const error_code& error) {
    switch (failure) {
      case Failure::kNone: return;
      case Failure::kConnect: ++connect_errors; break;
      case Failure::kTls: ++tls_errors; break;
      case Failure::kIo: ++io_errors; break;
    }
    std::string& first = first_error[static_cast<std::size_t>(failure)];
    if (first.empty()) first = error.message();
  }

  void count_response(int status, std::uint64_t micros) {
    ++requests;
    if (status >= 200 && status < 300) ++ok;
    if (status > 0 && status < kMaxStatus) ++responses[static_cast<std::size_t>(status)];
    latency.record(micros);
  }

  void merge(const Stats& other) {
    latency.merge(other.latency);
    requests += other.requests;
    ok += other.ok;
    for (std::size_t i = 0; i < responses.size(); ++i) responses[i] += other.responses[i];
    connect_errors += other.connect_errors;
    tls_errors += other.tls_errors;
    io_errors += other.io_errors;
    reconnects += other.reconnects;
    refused += other.refused;
    established += other.established;
    for (std::size_t i = 0; i < first_error.size(); ++i) {
      if (first_error[i].empty()) first_error[i] = other.first_error[i];
    }
  }
};

}  // namespace mla::bench
