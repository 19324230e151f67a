// Sweeps: the cross product of precisions x batches x contexts, one row per point, evaluated
// with per-precision work (compiled shapes, stage weights) done once and streamed out.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gpu.hpp"
#include "memory.hpp"
#include "model.hpp"
#include "roofline.hpp"

namespace ridge {

/// "1,2,4", "1..8" (step 1), "1..256:x2" (geometric), "1024..8192:+1024" (arithmetic), or a
/// mix separated by commas. Every value must lie in [min, max]; at most `max_values` in all.
/// Throws InputError naming `option`.
std::vector<std::int64_t> parse_int_list(const std::string& text, const std::string& option, std::int64_t min,
                                         std::int64_t max, std::size_t max_values = 1'000'000);

/// One evaluated point.
struct SweepRow {
  std::string_view precision;
  std::string_view kv_dtype;
  std::int64_t batch = 0;
  std::int64_t context = 0;  ///< prompt tokens
  std::int64_t gen = 0;
  double ttft_s = 0, tpot_s = 0, e2e_s = 0;
  double throughput_tokens_per_s = 0;
  double prefill_intensity = 0, decode_intensity = 0;
  bool prefill_compute_bound = false, decode_compute_bound = false;
  std::uint64_t weights_bytes = 0, kv_cache_bytes = 0, activation_bytes = 0, per_gpu_bytes = 0;
  bool fits = false;
};

/// Precomputes what a precision needs once; then evaluates points cheaply.
class SweepEvaluator {
 public:
  /// `base` carries KV type, TP, PP, utilization, overhead, attention and chunking.
  SweepEvaluator(const ModelSpec& m, const GpuSpec& g, const MemoryQuery& base,
                 const std::vector<WeightFormat>& formats, std::int64_t gen, double inter_node_bandwidth = 0,
                 TimeBasis basis = TimeBasis::bound);

  std::size_t formats() const { return per_format_.size(); }
  /// The times are calibrated estimates (else datasheet bounds).
  bool expected() const { return !per_format_.empty() && per_format_.front().ceilings.expected; }
  SweepRow evaluate(std::size_t format, std::int64_t batch, std::int64_t context) const;

 private:
  struct PerFormat {
    MemoryQuery query;
    ModelShapes shapes;
    Ceilings ceilings;
    std::vector<Bytes> stage_weights;
  };
  const ModelSpec& model_;
  Bytes budget_;
  std::int64_t gen_;
  Topology topology_;  ///< TP x PP of one replica and its links
  std::vector<PerFormat> per_format_;
};

}  // namespace ridge
