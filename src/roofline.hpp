// The roofline: each operator's time is max(FLOPs / peak, bytes / bandwidth) for the unit that
// runs it; phases sum their operators; TTFT, TPOT and throughput follow. With datasheet peaks
// the result is a lower bound on time (a "roofline bound"), not a forecast.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gpu.hpp"
#include "ops.hpp"
#include "parallel.hpp"
#include "time_basis.hpp"
#include "units.hpp"

namespace ridge {

/// The peaks that apply to one deployment on one GPU.
/// FLOP per byte where a kernel turns from memory- to compute-bound: peak / bandwidth.
inline double ridge_point_of(FlopsPerSecond peak, BytesPerSecond bandwidth) { return peak.value / bandwidth.value; }

struct Ceilings {
  FlopsPerSecond gemm;    ///< weight GEMMs, in the format's math type (or its fallback)
  FlopsPerSecond gemm16;  ///< attention, router, LM head: the activation type
  FlopsPerSecond vector;  ///< CUDA-core fp32
  BytesPerSecond memory;
  DType gemm_math = DType::bf16;  ///< the type the weight GEMMs actually run in
  std::string note;               ///< why a fallback was taken, if one was
  bool attainable = false;        ///< peaks scaled by the GPU file's attainable fractions
  /// TimeBasis::expected on a calibrated GPU: the fitted model, the GEMM family of the weight
  /// format (none: its GEMMs keep their bound) and the attention geometry per GPU.
  std::shared_ptr<const ExpectedTimes> expected;
  std::optional<CalibratedFamily> gemm_family;
  double q_heads = 0, kv_heads = 0, head_dim = 0;

  FlopsPerSecond peak(OpUnit u) const { return u == OpUnit::gemm ? gemm : u == OpUnit::gemm16 ? gemm16 : vector; }
  /// FLOP per byte where the weight GEMMs turn compute-bound: peak / bandwidth.
  double ridge_point() const { return ridge_point_of(gemm, memory); }
};

/// Peaks for the shapes' math types. A GPU without the format's tensor type runs it the way
/// serving engines do there: fp8 or fp4 weights dequantised to 16-bit math (weight-only, e.g.
/// Marlin kernels on Ampere), int8 W8A8 likewise.
Ceilings ceilings_for(const GpuSpec& g, const ModelShapes& s, TimeBasis basis = TimeBasis::bound);

struct OpTime {
  Seconds compute;                  ///< FLOPs / peak
  Seconds memory;                   ///< bytes / bandwidth
  std::optional<Seconds> expected;  ///< calibrated estimate, when the ceilings carry one for this op
  Seconds bound() const { return compute > memory ? compute : memory; }
  /// The time the totals use: the estimate where there is one, else the bound.
  Seconds time() const { return expected ? *expected : bound(); }
  /// The roofline verdict (the estimate does not change which resource limits the op).
  bool compute_bound() const { return compute > memory; }
};

/// One instance of `op`: max(FLOPs / peak(unit), bytes / bandwidth), and the calibrated time
/// when `c.expected` covers the op (weight GEMMs of a calibrated format, flash attention).
OpTime op_time(const Op& op, const Ceilings& c);

struct PhaseTotals {
  double flops = 0;
  double bytes = 0;
  Seconds time;                ///< Σ over operators (they run one after another)
  Seconds compute_bound_time;  ///< part of `time` spent in compute-bound operators
  Seconds bound_time;          ///< Σ of the operators' bounds (= time unless the basis is expected)
  Seconds calibrated_time;     ///< part of `time` from calibrated estimates (the rest: bounds)
  double intensity() const { return bytes > 0 ? flops / bytes : 0.0; }
  bool compute_bound() const { return compute_bound_time.value * 2 > time.value; }
};

/// Sums all operators of one phase (count included).
PhaseTotals phase_totals(const std::vector<Op>& ops, const Ceilings& c);

/// Collects the operators of a phase.
std::vector<Op> phase_ops(const ModelShapes& s, const PhaseQuery& q);

struct ServiceQuery {
  std::int64_t batch = 1;
  std::int64_t prompt = 1024;  ///< P: prompt tokens per sequence
  std::int64_t gen = 256;      ///< G: generated tokens per sequence (the first comes from prefill)
  AttentionImpl attention = AttentionImpl::flash;
  DType kv_dtype = DType::bf16;
  Topology topology;               ///< TP × PP of one replica and its links (default: one GPU)
  std::int64_t micro_batches = 0;  ///< prefill micro-batches under PP (0: min(batch, PP))
};

/// A batch split into micro-batches: `large_count` of `largest` sequences, the rest one fewer.
struct MicroBatches {
  std::int64_t count = 1;
  std::int64_t largest = 1;
  std::int64_t large_count = 1;
  std::int64_t smallest() const { return large_count == count ? largest : largest - 1; }
  bool even() const { return large_count == count; }
  /// Σ over the micro-batches of a per-micro-batch value, given it for the largest and smallest.
  double sum(double at_largest, double at_smallest) const {
    return static_cast<double>(large_count) * at_largest + static_cast<double>(count - large_count) * at_smallest;
  }
};

struct ServiceEstimate {
  std::vector<Op> prefill_ops;  ///< one prefill pass of one micro-batch, all layers, per TP rank
  std::vector<Op> decode_ops;   ///< one decode step at the mean context of the generation
  std::int64_t decode_ops_context = 0;
  PhaseTotals prefill;
  PhaseTotals decode_step;           ///< the step at decode_ops_context
  std::vector<CommOp> prefill_comm;  ///< communication of one prefill pass of one micro-batch
  std::vector<CommOp> decode_comm;   ///< communication of one decode step of one micro-batch
  CommTime prefill_comm_time;
  CommTime decode_comm_time;
  std::int64_t prefill_micro_batches = 1;         ///< m: the batch split into m micro-batches under PP
  std::int64_t prefill_micro_batch = 1;           ///< sequences in the largest prefill micro-batch
  std::int64_t prefill_micro_batch_smallest = 1;  ///< in the smallest (B not divisible by m: one fewer)
  std::int64_t decode_micro_batches = 1;          ///< min(batch, PP) in flight, as vLLM's virtual engines
  std::int64_t decode_micro_batch = 1;            ///< largest decode micro-batch
  std::int64_t decode_micro_batch_smallest = 1;
  double bubble = 0;                          ///< prefill pipeline idle fraction (p − 1)/(m + p − 1)
  double stage_imbalance = 1;                 ///< p × (layers of the largest stage) / layers
  Seconds ttft;                               ///< prefill of the whole prompt, producing token 1
  Seconds tpot;                               ///< mean decode step over tokens 2..G (context P+1 .. P+G−1)
  Seconds e2e;                                ///< ttft + (G − 1) tpot
  double throughput_tokens_per_s = 0;         ///< B·G / e2e
  double decode_throughput_tokens_per_s = 0;  ///< B / tpot
};

/// p × (layers of the largest stage) / layers: how much the slowest pipeline stage exceeds an
/// even share (1 without PP, or when the stages split the layers evenly).
double stage_imbalance(const ModelShapes& s, std::int64_t pp);

/// Mean of max(x_i, y_i) over i = 0..n−1 where x and y are linear in i with the given
/// endpoint values; exact (splits at the crossing), no loop over i.
double mean_of_max_linear(double x_first, double x_last, double y_first, double y_last, double n);

/// TTFT, TPOT (closed form over the growing KV cache), end-to-end latency and throughput.
/// With T(b) a pass's operator time and C(b) its TP collectives for a micro-batch of b, u the
/// stage imbalance and S(b) the stage-to-stage sends:
///   TTFT = (m − 1) · u · (T + C) / p + T + C + S   (the pipeline fill: bubble (p−1)/(m+p−1))
///   TPOT = max(m · u · (T + C) / p, T + C + S)    (m = min(B, p) micro-batches in flight)
/// for m equal micro-batches; when m does not divide B the sums run over the actual sizes
/// (Σ_i instead of m ·, the largest micro-batch in the single-pass terms).
/// so PP never shortens one sequence's latency; TP divides T but adds C.
ServiceEstimate estimate_service(const ModelShapes& s, const Ceilings& c, const ServiceQuery& q);

}  // namespace ridge
