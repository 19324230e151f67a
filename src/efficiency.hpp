// Expected (calibrated) operator times: a small physical model per operator family whose few
// parameters are fitted to measured latencies (`ridge calibrate`, calibrate.hpp). Where the
// datasheet roofline (predict.hpp: operator_bound) is a lower bound, this is an estimate of what
// the framework's kernels take, CUDA-graph launched: a fixed cost per kernel, tiles and waves
// over the SMs, split-K / split-KV choices, attainable FLOP/s and bandwidth, the fp8
// activation-quantisation pass, NCCL's two protocols. README "How accurate is ridge?".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "calibration.hpp"
#include "gpu.hpp"
#include "predict.hpp"
#include "time_basis.hpp"
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

/// What the model needs of a GPU, computed once: SMs, bandwidth, the tensor-core peak each
/// GEMM family runs at (its math type, or the 16-bit fallback), the 16-bit peak for attention.
struct ModelGpu {
  double multiprocessors = 100;
  double bandwidth = 0;
  double l2_bytes = 0;
  bool cutlass3 = false;  ///< Hopper or Blackwell: vLLM's fp8 GEMMs pick their tile by M
  double sixteen_bit_peak = 0;
  double gemm_peak[4] = {0, 0, 0, 0};  ///< indexed by gemm_index
};
ModelGpu model_gpu(const GpuSpec& g);

/// Index of a GEMM family (gemm_bf16 .. gemm_nvfp4) in 0..3, and its weight format's name.
constexpr int gemm_index(CalibratedFamily f) {
  return static_cast<int>(f) - static_cast<int>(CalibratedFamily::gemm_bf16);
}
std::string_view gemm_format_name(CalibratedFamily f);

/// Y[m×n] = X[m×k]·Wᵀ with the weight's stored bytes (scales included).
struct GemmCall {
  double m = 1, n = 1, k = 1;
  double weight_bytes = 0;
};
/// `batch` sequences of `tokens` (prefill: prompt from an empty cache; decode: keys attended,
/// the new token included), per-GPU heads, sliding window (0: none), KV bytes per element.
struct AttentionCall {
  double batch = 1, tokens = 1, heads = 1, kv_heads = 1, head_dim = 128, window = 0, kv_bytes = 2;
  /// The kernel replayed alone keeps part of its K and V in L2 (how the tables were measured);
  /// false inside a model, where every other layer's weights and cache evict them.
  bool cache_hot = true;
};
/// nccl-tests' message size on `gpus` GPUs of one node.
struct CollectiveCall {
  double gpus = 2, bytes = 0;
};

/// The model per family with parameters `p` (parameter_defs order): pure arithmetic, called
/// for every row at every step of a fit and for every operator of every command.
Seconds gemm_model(CalibratedFamily f, const std::vector<double>& p, const ModelGpu& g, const GemmCall& c);
Seconds context_model(const std::vector<double>& p, const ModelGpu& g, const AttentionCall& c);
Seconds generation_model(const std::vector<double>& p, const ModelGpu& g, const AttentionCall& c);
Seconds collective_model(CalibratedFamily f, const std::vector<double>& p, const CollectiveCall& c);

/// The model's time for one measured-table row (the fitter's entry point).
Seconds modelled_time(CalibratedFamily f, const std::vector<double>& p, const ModelGpu& g, const OperatorRow& r);
Seconds modelled_time(CalibratedFamily f, const std::vector<double>& p, const GpuSpec& g, const OperatorRow& r);

/// A GPU's calibration ready to time operators. nullopt wherever the GPU has no fit for the
/// family (the caller falls back to the bound and says so).
class ExpectedTimes {
 public:
  explicit ExpectedTimes(const GpuSpec& g);
  ExpectedTimes(const ExpectedTimes&) = delete;
  ExpectedTimes& operator=(const ExpectedTimes&) = delete;

  std::optional<Seconds> gemm(CalibratedFamily f, const GemmCall& c) const;
  /// `groups` GEMMs of the same shape in one kernel (a fused MoE layer's experts): the kernel's
  /// fixed cost (and the activation-quantisation kernel's, for quantised formats) once, each
  /// group's remaining time in turn.
  std::optional<Seconds> grouped_gemm(CalibratedFamily f, const GemmCall& c, double groups) const;
  std::optional<Seconds> attention(Phase phase, const AttentionCall& c) const;
  std::optional<Seconds> collective(CalibratedFamily f, const CollectiveCall& c) const;
  std::optional<Seconds> row(OperatorFamily f, const OperatorRow& r) const;
  /// What any kernel costs at least in a CUDA graph (launch, prologue, epilogue): the bf16 GEMM
  /// fit's fixed cost, the family with the most small kernels measured. Null without that fit.
  std::optional<Seconds> kernel_fixed_cost() const;
  const Calibration& calibration() const { return calibration_; }
  /// Parameters of a family, or null.
  const std::vector<double>* params(CalibratedFamily f) const { return params_[static_cast<int>(f)]; }

 private:
  ModelGpu gpu_;
  Calibration calibration_;
  const std::vector<double>* params_[16] = {};
  /// GEMM times already computed are kept per thread (no lock: sweeps and plans call this
  /// millions of times), keyed by this instance's id, never reused by another instance.
  static std::uint64_t next_id();
  std::uint64_t id_;
};

/// The fitted model when `basis` asks for expected times and the GPU has a calibration (and its
/// SM count, which the loader requires with it); else null: the caller keeps its bounds.
std::shared_ptr<const ExpectedTimes> expected_times_for(const GpuSpec& g, TimeBasis basis);

/// The shape a row is held out by (README "How accurate is ridge?"): GEMM by its weight
/// (n, k), attention by its head layout (heads, kv_heads, head_dim), collectives by message
/// size. One fifth of the shapes, chosen by a hash, never enter a fit.
bool is_held_out(OperatorFamily f, const OperatorRow& r);

}  // namespace ridge
