// Expected (calibrated) operator times: a small physical model per operator family whose few
// parameters are fitted to measured latencies (`ridge calibrate`, calibrate.hpp). Where the
// datasheet roofline (predict.hpp: operator_bound) is a lower bound, this is an estimate of what
// the framework's kernels take, CUDA-graph launched: a fixed cost per kernel, tiles and waves
// over the SMs, split-K / split-KV choices, attainable FLOP/s and bandwidth, the fp8
// activation-quantisation pass, NCCL's two protocols. README "How accurate is ridge?".
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "calibration.hpp"
#include "gpu.hpp"
#include "predict.hpp"
#include "units.hpp"

namespace ridge {

/// One fitted parameter: its name in GPU files, a starting value, the physical range it is
/// kept in while fitting, and what it means.
struct ParameterDef {
  const char* name;
  double initial;
  double min;
  double max;
  const char* meaning;
};

const std::vector<ParameterDef>& parameter_defs(CalibratedFamily f);
std::string_view to_string(CalibratedFamily f);  ///< "gemm.bf16", "context_attention", "all_reduce"
std::optional<CalibratedFamily> parse_calibrated_family(std::string_view name);
const std::vector<CalibratedFamily>& all_calibrated_families();

/// The family whose parameters time this row (nullopt: none, e.g. an unknown collective).
std::optional<CalibratedFamily> calibrated_family(OperatorFamily f, const OperatorRow& r);

/// The model's time for one row with parameters `p` (parameter_defs order). Needs
/// g.multiprocessors. Pure arithmetic: the fitter calls it for every row at every step.
Seconds modelled_time(CalibratedFamily f, const std::vector<double>& p, const GpuSpec& g, const OperatorRow& r);

/// The calibrated time of a row on a GPU: nullopt where the GPU has no calibration for the
/// row's family.
std::optional<Seconds> operator_expected(const GpuSpec& g, OperatorFamily f, const OperatorRow& r);

/// The shape a row is held out by (README "How accurate is ridge?"): GEMM by its weight
/// (n, k), attention by its head layout (heads, kv_heads, head_dim), collectives by message
/// size. One fifth of the shapes, chosen by a hash, never enter a fit.
bool is_held_out(OperatorFamily f, const OperatorRow& r);

}  // namespace ridge
