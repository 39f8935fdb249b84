// The results of a run: the JSON object of --json-out (field names are read by bench/run.sh) and
// a human summary.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>

#include "bench/loadgen/options.h"
#include "bench/loadgen/runner.h"
#include "bench/payloads.h"

namespace mla::bench {

// `wall_seconds`: the whole process, start-up (body building, certificate minting) included.
nlohmann::json report_json(const Options& options, const Body& body, const RunResult& result,
                           double wall_seconds);

void print_summary(std::ostream& out, const nlohmann::json& report);

}  // namespace mla::bench
