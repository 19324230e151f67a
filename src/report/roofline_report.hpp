// `ridge roofline` output: per-operator rows by phase, phase summary with the reason for each
// verdict, service metrics. One data model printed as table, JSON, CSV, Markdown or SVG.
#pragma once

#include <nlohmann/json.hpp>

#include "format.hpp"
#include <string>
#include <vector>

#include "gpu.hpp"
#include "memory.hpp"
#include "model.hpp"
#include "roofline.hpp"
#include "speculative.hpp"

namespace ridge {

struct RooflineView {
  const ModelSpec& model;
  const GpuSpec& gpu;
  const MemoryQuery& memory_query;  ///< precision, KV type, TP, PP
  const MemoryEstimate& memory;     ///< at context = prompt + gen
  const ServiceQuery& query;
  const ServiceEstimate& estimate;
  const Ceilings& ceilings;
  std::int64_t replicas = 1;  ///< data-parallel copies: multiply throughput, not speed
  /// The datasheet bound of the same deployment when `estimate` is the calibrated estimate
  /// (ceilings.expected set); null when `estimate` is itself the bound.
  const ServiceEstimate* bound = nullptr;
  const SpeculativeSummary* speculative = nullptr;  ///< with --spec-tokens
};

/// One line: what the times are. "expected: calibrated estimate (...)" or "roofline bound: ...".
std::string time_basis_text(const Ceilings& c);

nlohmann::ordered_json roofline_json(const RooflineView& v);

/// Several GPUs side by side (`-g h100-sxm,h200`): times, throughput, basis and memory per GPU.
Table roofline_comparison(const std::vector<RooflineView>& views);
/// "ridge.roofline.comparison/v1": each GPU's full "ridge.roofline/v1" document under reports[].
nlohmann::ordered_json roofline_comparison_json(const std::vector<RooflineView>& views);
/// One header and one row per GPU: gpu, ttft_s, tpot_s, e2e_s, throughput, basis, bytes, fits.
std::string roofline_comparison_csv(const std::vector<RooflineView>& views);
std::string roofline_text(const RooflineView& v);
std::string roofline_markdown(const RooflineView& v);
/// One row per operator: phase, name, count, FLOPs, bytes, intensity, time, bound.
std::string roofline_csv(const RooflineView& v);
/// A self-contained log-log roofline: bandwidth slope, a ceiling per precision, each operator
/// a labelled point (prefill circles, decode squares).
std::string roofline_svg(const RooflineView& v);

/// "memory-bound" / "compute-bound"
std::string bound_word(bool compute_bound);
/// One sentence: why a phase is bound where it is, in numbers.
/// `comm_s`: the phase's communication time (0 on one GPU).
std::string phase_reason(std::string_view phase, const PhaseTotals& t, const Ceilings& c, double comm_s = 0);

}  // namespace ridge
