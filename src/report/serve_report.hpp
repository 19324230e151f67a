// `ridge serve` output: latency percentiles, throughput, goodput, queue and KV use, the step
// mix; a rate sweep as one row per rate and an SVG of latency against rate.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "gpu.hpp"
#include "memory.hpp"
#include "model.hpp"
#include "roofline.hpp"
#include "serve.hpp"

namespace ridge {

/// How the requests come.
struct WorkloadText {
  std::string arrivals;          ///< "poisson", "all_at_once", "closed_loop", "trace"
  std::int64_t requests = 0;     ///< per run
  std::int64_t concurrency = 0;  ///< closed loop
  std::string prompt, output;    ///< distributions as given ("512", "uniform:256:1024"); trace: empty
  std::string trace;             ///< the trace file
  std::uint64_t seed = 0;
};

struct ServeView {
  const ModelSpec& model;
  const GpuSpec& gpu;
  const MemoryQuery& query;  ///< precision, KV type, TP, PP, block size
  const Ceilings& ceilings;
  std::int64_t replicas = 1;
  const ServeEngine& engine;
  WorkloadText workload;
  LatencySlo slo;
  std::vector<ServeSummary> runs;  ///< one per rate, in the order given
  std::string drafter;             ///< speculative decoding: who drafts (empty: none)
  std::string disaggregation;      ///< the pools, when prefill and decode are disaggregated
  std::int64_t total_gpus = 0;     ///< 0: TP x PP x replicas of `query`
};

/// The largest offered rate whose run meets the SLOs (none: no SLO given, or none met).
std::optional<double> max_rate_meeting_slo(const ServeView& v);

std::string serve_text(const ServeView& v);
std::string serve_markdown(const ServeView& v);
/// "ridge.serve/v1": one run's figures at the top level; a sweep's under runs[].
nlohmann::ordered_json serve_json(const ServeView& v);
/// One row per run, base units.
std::string serve_csv(const ServeView& v);
/// Latency percentiles (TTFT and TPOT panels, p50/p90/p99) against the offered rate.
std::string serve_svg(const ServeView& v);

}  // namespace ridge
